package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// x11vncOf is the pid of the x11vnc serving the instance's display (0 if
// none is alive).
func x11vncOf(t *testing.T, in *Instance) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	display := ":" + strconv.Itoa(in.slot.display)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil || !strings.Contains(string(st), "Name:\tx11vnc\n") || strings.Contains(string(st), "State:\tZ") {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), "\x00-display\x00"+display+"\x00") {
			return pid
		}
	}
	return 0
}

// inCgroup reports whether pid is listed in every directory's cgroup.procs.
func inCgroup(t *testing.T, pid int, dirs []string) bool {
	t.Helper()
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		require.NoError(t, err)
		if !strings.Contains("\n"+string(b), "\n"+strconv.Itoa(pid)+"\n") {
			return false
		}
	}
	return true
}

// A stream's x11vnc runs in the sandbox's sys cgroup (it counts against
// the sandbox), and Destroy's cgroup kill ends it even when nothing stops
// it first.
func TestStreamInSandboxCgroup(t *testing.T) {
	p := newTestProvider(t)
	in, err := p.CreateLocal(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_ = in.Destroy(context.Background())
		}
	})
	ctx := context.Background()
	_, err = in.StartVNC(ctx, sandbox.StreamOptions{Password: "k3y"})
	require.NoError(t, err)
	pid := x11vncOf(t, in)
	require.NotZero(t, pid)
	assert.True(t, inCgroup(t, pid, in.cg.leaf(sysLeaf)), "x11vnc in the sys leaf %v", in.cg.leaf(sysLeaf))
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	assert.Contains(t, string(st), fmt.Sprintf("\nUid:\t%d\t", in.slot.uid))

	// Stop and start: the new one is in the cgroup too.
	require.NoError(t, in.StopVNC(ctx))
	assert.Zero(t, x11vncOf(t, in))
	_, err = in.StartVNC(ctx, sandbox.StreamOptions{ViewOnly: true})
	require.NoError(t, err)
	pid = x11vncOf(t, in)
	require.NotZero(t, pid)
	assert.True(t, inCgroup(t, pid, in.cg.leaf(sysLeaf)))

	// Forget the stream, so Destroy's own stop cannot reach it: the cgroup
	// kill must.
	vncMu.Lock()
	slot := vncSlots[in]
	delete(vncSlots, in)
	vncMu.Unlock()
	require.NotNil(t, slot)
	destroyed = true
	require.NoError(t, in.Destroy(ctx))
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil || x11vncOf(t, in) == 0 },
		5*time.Second, 20*time.Millisecond, "x11vnc outlived its sandbox")
	_ = slot.Close()
}
