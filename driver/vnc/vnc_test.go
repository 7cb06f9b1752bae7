package vnc_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

type desk struct {
	display, auth, dir string
	base               vnc.Spec
}

func newDesk(t *testing.T) desk {
	s := vnctest.Desktop(t, 640, 480)
	return desk{display: s.Display, auth: s.AuthFile, dir: s.Dir, base: s}
}

func (d desk) spec() vnc.Spec { return d.base }

func start(t *testing.T, s vnc.Spec) *vnc.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := vnc.Start(ctx, s, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func dial(t *testing.T, srv *vnc.Server) net.Conn {
	t.Helper()
	c, err := srv.Dial(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func alive(pid int) bool {
	// A zombie still answers signal 0; read the state instead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func TestStartServesRFBAsSandboxUserAndStopLeavesNothing(t *testing.T) {
	d := newDesk(t)
	s := d.spec()
	s.Password = "k3y-secret-long"
	srv := start(t, s)

	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.PID()))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^Uid:\s+65534\s`, string(st), "x11vnc must run as the sandbox uid")

	// Jailed: a network namespace of its own, no host files but /usr and
	// its own display's socket.
	self, _ := os.Readlink("/proc/self/ns/net")
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", srv.PID()))
	require.NoError(t, err)
	assert.NotEqual(t, self, theirs, "x11vnc in the host's network namespace")
	root := fmt.Sprintf("/proc/%d/root", srv.PID())
	for _, p := range []string{"/etc", "/run", "/root", "/home", d.dir} {
		_, err := os.Stat(root + p)
		assert.True(t, os.IsNotExist(err), "x11vnc sees %s", p)
	}
	xs, _ := filepath.Glob(root + "/tmp/.X11-unix/*")
	assert.Equal(t, []string{root + "/tmp/.X11-unix/X" + strings.TrimPrefix(d.display, ":")}, xs, "only its own display")

	// No TCP listener: the socket is the only way in.
	tcp, _ := os.ReadFile("/proc/net/tcp6")
	assert.NotContains(t, string(tcp), ":170C ", "x11vnc must not listen on [::]:5900")

	// Password file is gone once read; only the socket remains.
	entries, err := os.ReadDir(d.dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	files, _ := os.ReadDir(filepath.Join(d.dir, entries[0].Name()))
	for _, f := range files {
		assert.NotEqual(t, "passwd", f.Name(), "the password file must not stay on disk")
	}

	// The right password gets in; a wrong one does not; None is not offered.
	cl, types, err := vnctest.Handshake(dial(t, srv), s.Password)
	require.NoError(t, err)
	assert.Equal(t, []byte{vnctest.SecVNC}, types)
	assert.Equal(t, 640, cl.Width)
	_, _, err = vnctest.Handshake(dial(t, srv), "wrongpass")
	assert.Error(t, err)
	_, _, err = vnctest.Handshake(dial(t, srv), "")
	assert.Error(t, err)

	pid := srv.PID()
	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Stop(), "Stop is idempotent")
	assert.False(t, alive(pid), "x11vnc still running after Stop")
	entries, _ = os.ReadDir(d.dir)
	assert.Empty(t, entries, "socket directory left behind")
	_, err = srv.Dial(context.Background())
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}

func TestNoPasswordShowsTheDesktop(t *testing.T) {
	d := newDesk(t)
	x11test.Run(t, d.display, d.auth, "xsetroot", "-solid", "#3366cc")
	srv := start(t, d.spec())
	cl, types, err := vnctest.Handshake(dial(t, srv), "")
	require.NoError(t, err)
	assert.Equal(t, []byte{vnctest.SecNone}, types)
	px, err := cl.WaitPixel(10, 10, 0x3366cc, 60*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x3366cc), px)
}

func TestOneWindow(t *testing.T) {
	d := newDesk(t)
	x11test.Start(t, d.display, d.auth, "xterm", "-geometry", "40x10+50+50", "-title", "vnc-one-window")
	var id string
	require.Eventually(t, func() bool {
		out, err := runOut(d, "xdotool", "search", "--name", "vnc-one-window")
		id = strings.TrimSpace(strings.Split(out, "\n")[0])
		return err == nil && id != ""
	}, 10*time.Second, 100*time.Millisecond)
	var wid uint32
	_, err := fmt.Sscan(id, &wid)
	require.NoError(t, err)

	s := d.spec()
	s.WindowID = sandbox.WindowID(wid)
	srv := start(t, s)
	cl, _, err := vnctest.Handshake(dial(t, srv), "")
	require.NoError(t, err)
	assert.Less(t, cl.Width, 640, "a one-window stream is the window's size, not the screen's")

	// A window that does not exist is the caller's mistake.
	s.WindowID = 0x7ffff1
	_, err = vnc.Start(context.Background(), s, zerolog.Nop())
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	entries, _ := os.ReadDir(d.dir)
	assert.Len(t, entries, 1, "a failed start must leave nothing")
}

func runOut(d desk, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := execCommand(ctx, name, args...)
	cmd.Env = x11test.Env(d.display, d.auth)
	out, err := cmd.Output()
	return string(out), err
}

func TestValidation(t *testing.T) {
	d := newDesk(t)
	for _, tc := range []struct {
		name, field string
		mod         func(*vnc.Spec)
	}{
		{"quality", "quality", func(s *vnc.Spec) { s.Quality = "ultra" }},
		{"fps high", "frame_rate", func(s *vnc.Spec) { s.FrameRate = 61 }},
		{"fps low", "frame_rate", func(s *vnc.Spec) { s.FrameRate = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := d.spec()
			tc.mod(&s)
			_, err := vnc.Start(context.Background(), s, zerolog.Nop())
			se := sandbox.AsError(err)
			require.Equal(t, sandbox.CodeInvalidArgument, se.Code)
			assert.Equal(t, tc.field, se.Details["field"])
		})
	}
}

func TestDiesWithDisplayAndStopStillCleans(t *testing.T) {
	d := newDesk(t)
	srv := start(t, d.spec())
	// x11vnc exits on its own when killed from outside; Stop must still
	// remove its directory.
	require.NoError(t, syscall.Kill(srv.PID(), syscall.SIGKILL))
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after x11vnc died")
	}
	require.NoError(t, srv.Stop())
	entries, _ := os.ReadDir(d.dir)
	assert.Empty(t, entries)
}

func TestArgsMapping(t *testing.T) {
	s := vnc.Spec{Display: ":5", AuthFile: "/a", Dir: "/d", FrameRate: 10, ViewOnly: true, WindowID: 0x200001}
	args := strings.Join(vnc.Args(s, "/a", "/d/s", ""), " ")
	for _, want := range []string{"-unixsock /d/s", "-rfbport 0", "-rfbportv6 -1", "-noipv6", "-nopw", "-viewonly", "-id 0x200001", "-wait 100", "-defer 100", "-ncache 0", "-noremote", "-novncconnect", "-safer", "-nocmds", "-noshm"} {
		assert.Contains(t, args, want)
	}
	l, err := vnc.ClientLevels("")
	require.NoError(t, err)
	assert.Equal(t, vnc.Levels{JPEGQuality: 6, Compression: 6}, l)
}

var execCommand = exec.CommandContext
