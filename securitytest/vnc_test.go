package securitytest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
)

// TestVNCServerTakesNoOrders: code inside a sandbox drives the stream's
// x11vnc the way x11vnc's own remote control does (the X11VNC_REMOTE
// property on the display it serves, set here by the x11vnc binary every
// sandbox sees in /usr/bin). Before the fix it answered with the host path
// of its password file, listened on host TCP ports (RFB and an HTTP server
// of any host folder the slot uid could read) and connected to host
// loopback. Now it takes no commands, and even one that did could reach
// no host network or file: it runs in a network namespace and a mount view
// of its own.
func TestVNCServerTakesNoOrders(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id, cg := newCgroup(t, alice, nil)
	st := alice.OK("start_stream", map[string]any{"sandbox_id": id})
	var vncPID int
	eventually(t, "x11vnc in the sandbox's cgroup", 30*time.Second, func() bool {
		vncPID = pidOf(cg, "x11vnc")
		return vncPID != 0
	})

	freePort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	rfbPort, httpPort := freePort(), freePort()
	// A host loopback service x11vnc is told to connect to.
	trap, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer trap.Close()
	var reached atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	trapPort := trap.Addr().(*net.TCPAddr).Port

	// Each request waits up to 6 s for x11vnc's answer (it answered within
	// a second before the fix). A remote command is processed before the
	// query that follows it: an answer means it ran.
	script := strings.Join([]string{
		`export X11VNC_SYNC_TIMEOUT=6`,
		`echo "QUERY: $(x11vnc -query passwdfile,rfbport,unixsock,auth,display 2>&1 | tr '\n' ' ')"`,
		fmt.Sprintf(`echo "RFB: $(x11vnc -R rfbport:%d -query rfbport 2>&1 | tr '\n' ' ')"`, rfbPort),
		fmt.Sprintf(`x11vnc -R httpdir:%s >/dev/null 2>&1`, localOpts.StateDir),
		fmt.Sprintf(`echo "HTTP: $(x11vnc -R httpport:%d -query httpdir,httpport 2>&1 | tr '\n' ' ')"`, httpPort),
		fmt.Sprintf(`echo "CONNECT: $(x11vnc -R connect:127.0.0.1:%d -query rfbport 2>&1 | tr '\n' ' ')"`, trapPort),
		`echo ATTACK DONE`,
	}, "\n")
	out := alice.sh(id, script, 120)
	stdout := out["stdout"].(string)
	t.Logf("attack:\n%s", stdout)
	require.Contains(t, stdout, "ATTACK DONE", "stderr: %s", out["stderr"])
	assert.NotContains(t, stdout, localOpts.StateDir, "x11vnc told the sandbox a host path")
	assert.NotContains(t, stdout, "ans=", "x11vnc answered a remote-control query from the sandbox")

	for _, p := range []int{rfbPort, httpPort} {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), 2*time.Second)
		if err == nil {
			c.Close()
		}
		assert.Error(t, err, "x11vnc listens on host port %d on the sandbox's orders", p)
	}
	assert.Zero(t, reached.Load(), "x11vnc connected to host loopback on the sandbox's orders")

	// Whatever it would obey, x11vnc has no host network and no host files:
	// its own network namespace (no interface but loopback) and a mount
	// view without the server's state, /etc, /run, /root or /home.
	pid := strconv.Itoa(vncPID)
	self, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	theirs, err := os.Readlink("/proc/" + pid + "/ns/net")
	require.NoError(t, err)
	assert.NotEqual(t, self, theirs, "x11vnc runs in the host's network namespace")
	root := "/proc/" + pid + "/root"
	for _, p := range []string{localOpts.StateDir, localOpts.LockDir, "/root", "/run", "/home", "/etc"} {
		_, err := os.Stat(filepath.Join(root, p))
		assert.True(t, os.IsNotExist(err), "x11vnc sees the host's %s (%v)", p, err)
	}
	// It still serves the stream (the control case).
	assert.NoError(t, mcptest.View(alice.Ctx, st["stream_url"].(string)), "the stream works")
}
