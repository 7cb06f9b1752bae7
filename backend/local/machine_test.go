package local

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the E2B emulator needs of a sandbox to run a daemon in it, as a
// VM image would: files bound read-only, a process outside the user's
// cgroup leaf that can put its children there, its TCP port reachable
// from the server through the sandbox's own network namespace.
func TestDaemonInSandbox(t *testing.T) {
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "tool")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho bound tool\n"), 0o755))
	_, err = New(Options{StateDir: dir, ROBinds: []Bind{{Host: bin, Path: "/home/user/tool"}}})
	assert.Error(t, err, "a bind may not cover the home")
	p, err := New(Options{StateDir: dir, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
		ROBinds: []Bind{{Host: bin, Path: "/.machine/tool"}}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	in := newTestInstance(t, p, nil)
	ctx := context.Background()

	assert.Equal(t, "bound tool\n", ok(t, in, "/.machine/tool"))
	assert.NotEqual(t, 0, run(t, in, "echo x > /.machine/tool").ExitCode, "read-only")

	// A system process holds the user leaf's cgroup.procs; what it moves
	// there is counted with the user's processes.
	var out strings.Builder
	proc, err := in.Start(ctx, ProcessSpec{System: true, Argv: []string{"/bin/sh", "-c",
		`cat /proc/self/cgroup; echo "fds=$` + UserCgroupFDsEnv + `"; sh -c 'echo 0 >&3; cat /proc/self/cgroup'`},
		OnOutput: func(_ string, b []byte) { out.Write(b) }})
	require.NoError(t, err)
	_, err = proc.Wait(ctx)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var self, moved []string
	fds := ""
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "fds="):
			fds = strings.TrimPrefix(l, "fds=")
		case fds == "":
			self = append(self, l)
		default:
			moved = append(moved, l)
		}
	}
	assert.NotEmpty(t, fds, "the fds' numbers are given")
	assert.NotContains(t, strings.Join(self, "\n"), "user", "the system process is not in the user leaf")
	assert.Contains(t, strings.Join(moved, "\n"), "user", "its child moved itself there")
	// A user process gets neither.
	assert.Equal(t, "\n", ok(t, in, "echo $"+UserCgroupFDsEnv))

	dialInside(t, in)
}

// dialInside checks that a TCP service on the loopback of in's own
// network namespace is reached from here (DialContext).
func dialInside(t *testing.T, in *Instance) {
	ctx := context.Background()
	_, err := in.Start(ctx, ProcessSpec{Command: "exec python3 -c 'import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind((\"127.0.0.1\",8765));s.listen();c,_=s.accept();c.sendall(b\"inside\\n\")'"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return run(t, in, "ss -ltn | grep -q 8765").ExitCode == 0 }, 20*time.Second, 50*time.Millisecond)
	c, err := in.DialContext(ctx, "tcp", "localhost:8765")
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	require.NoError(t, err)
	assert.Equal(t, "inside\n", line)
	_, err = in.DialContext(ctx, "tcp", "127.0.0.1:8766")
	assert.Error(t, err, "nothing listens there")
	_, err = in.DialContext(ctx, "udp", "127.0.0.1:8765")
	assert.Error(t, err)
}
