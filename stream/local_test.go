package stream_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

// ourX11vnc lists the live x11vnc processes this test process started
// (other tests on the machine may run their own).
func ourX11vnc() []int { return vnctest.X11vnc("", os.Getpid()) }

func newLocalSandbox(t *testing.T) (*sandbox.Manager, *sandbox.Sandbox) {
	p, err := local.New(local.Options{Log: zerolog.New(zerolog.NewTestWriter(t))})
	require.NoError(t, err)
	m, err := sandbox.NewManager(p, sandbox.Settings{}, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	sb, err := m.Create(context.Background(), sandbox.CreateRequest{Owner: "u1"})
	require.NoError(t, err)
	return m, sb
}

func run(t *testing.T, sb *sandbox.Sandbox, cmd string) string {
	t.Helper()
	res, err := sb.Instance().Run(context.Background(), sandbox.CommandRequest{Command: cmd, Timeout: 20 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "%s: %s%s", cmd, res.Stdout, res.Stderr)
	return res.Stdout
}

// The real local backend: x11vnc as the sandbox uid on a socket the
// sandbox cannot see; destroy_sandbox ends it.
func TestLocalBackendStream(t *testing.T) {
	m, sb := newLocalSandbox(t)
	svc := newService(t)
	ctx := context.Background()
	run(t, sb, "xsetroot -solid '#aa5500'")

	info, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "high"})
	require.NoError(t, err)
	mine := ourX11vnc()
	require.Len(t, mine, 1)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", mine[0]))
	require.NoError(t, err)
	uid := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindStringSubmatch(string(status))
	require.NotNil(t, uid)
	assert.NotEqual(t, "0", uid[1], "x11vnc must not run as root")

	// Inside the sandbox there is no VNC server to reach: no TCP listener
	// on 5900, no socket of x11vnc anywhere in its file system.
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", mine[0]))
	args := strings.Split(string(cmdline), "\x00")
	var sock string
	for i, a := range args {
		if a == "-unixsock" {
			sock = args[i+1]
		}
	}
	require.NotEmpty(t, sock)
	out := run(t, sb, fmt.Sprintf("test -e %q && echo visible || echo hidden; (exec 3<>/dev/tcp/127.0.0.1/5900) 2>/dev/null && echo tcp-open || echo tcp-closed", sock))
	assert.Equal(t, "hidden\ntcp-closed\n", out)

	// Through the proxy with the key: the sandbox's desktop.
	nc, st := dialWS(t, info, info.AuthKey)
	require.Equal(t, http.StatusSwitchingProtocols, st)
	cl, _, err := vnctest.Handshake(nc, info.AuthKey)
	require.NoError(t, err)
	assert.Equal(t, 1024, cl.Width)
	px, err := cl.WaitPixel(3, 3, 0xaa5500, 60*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint32(0xaa5500), px)

	// Stop and start again, then destroy the sandbox: no x11vnc is left.
	require.NoError(t, svc.Stop(ctx, sb.ID()))
	assert.Empty(t, ourX11vnc())
	_, err = svc.Start(ctx, sb, stream.Options{RequireAuth: true, ViewOnly: true})
	require.NoError(t, err)
	require.Len(t, ourX11vnc(), 1)
	require.NoError(t, m.Destroy(ctx, sb))
	assert.Empty(t, ourX11vnc(), "destroy_sandbox must end the stream's x11vnc")
	_ = svc.Stop(ctx, sb.ID()) // what main's OnDestroy hook does
	assert.Empty(t, svc.Active())
}

// One window: the stream is the window's size; when the window closes the
// stream is not handed out again as if alive.
func TestLocalBackendWindowStream(t *testing.T) {
	_, sb := newLocalSandbox(t)
	svc := newService(t)
	ctx := context.Background()
	run(t, sb, "xterm -geometry 50x12+40+40 -title streamwin >/dev/null 2>&1 & echo $! > /tmp/xterm.pid")
	var wins []sandbox.WindowID
	require.Eventually(t, func() bool {
		var err error
		wins, err = sb.Instance().Desktop().ApplicationWindows(ctx, "streamwin")
		return err == nil && len(wins) == 1
	}, 15*time.Second, 100*time.Millisecond)

	o := stream.Options{RequireAuth: true, WindowID: wins[0]}
	info, err := svc.Start(ctx, sb, o)
	require.NoError(t, err)
	assert.Equal(t, wins[0], info.WindowID)
	nc, st := dialWS(t, info, info.AuthKey)
	require.Equal(t, http.StatusSwitchingProtocols, st)
	cl, _, err := vnctest.Handshake(nc, info.AuthKey)
	require.NoError(t, err)
	assert.Less(t, cl.Width, 1024)
	assert.Less(t, cl.Height, 768)

	run(t, sb, "kill $(cat /tmp/xterm.pid)")
	require.Eventually(t, func() bool {
		w, _ := sb.Instance().Desktop().ApplicationWindows(ctx, "streamwin")
		return len(w) == 0
	}, 10*time.Second, 100*time.Millisecond)
	// x11vnc exits with its window; a second start must not return the
	// dead stream, and the window is gone, so it is the caller's mistake.
	var se *sandbox.Error
	require.Eventually(t, func() bool {
		_, err := svc.Start(ctx, sb, o)
		se = sandbox.AsError(err)
		return se != nil
	}, 10*time.Second, 200*time.Millisecond)
	assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
	assert.Equal(t, "window_id", se.Details["field"])
	assert.Empty(t, svc.Active())
}
