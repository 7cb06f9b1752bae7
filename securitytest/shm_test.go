package securitytest

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox/vnc/vnctest"
)

// shmOf counts the SysV shared memory segments in the host's IPC namespace
// created by uids in [lo, hi).
func shmOf(t *testing.T, lo, hi int) int {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	require.NoError(t, err)
	n := 0
	lines := strings.Split(string(b), "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 11 {
			continue
		}
		cuid, _ := strconv.Atoi(f[9]) // key shmid perms size cpid lpid nattch uid gid cuid ...
		if cuid >= lo && cuid < hi {
			n++
		}
	}
	return n
}

// TestStreamLeavesNoSharedMemory: a watched stream's VNC server (on the
// host, as the sandbox's uid) grabs the screen with MIT-SHM; its segments
// must never be the host's (they live in the X server's IPC namespace), and
// none may stay behind in the host's memory when the stream stops, the
// display crashes or the sandbox goes.
func TestStreamLeavesNoSharedMemory(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.url, aliceToken)
	lo, hi := localOpts.UIDBase, localOpts.UIDBase+localOpts.MaxSlots
	before := shmOf(t, lo, hi)
	watch := func(id string) {
		watchStream(t, alice, id)
		assert.Equal(t, before, shmOf(t, lo, hi), "x11vnc's segments are not in the host's IPC namespace")
		assert.True(t, vncUsesSHM(), "x11vnc uses MIT-SHM (else this test proves little)")
	}
	id := alice.create(nil)
	watch(id)
	alice.ok("stop_stream", map[string]any{"sandbox_id": id})
	eventually(t, "no segment left after stop_stream", 10*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
	watch(id)
	alice.ok("destroy_sandbox", map[string]any{"sandbox_id": id})
	eventually(t, "no segment left after destroy", 10*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
	// The display dies under a watched stream (x11vnc loses its X server
	// and exits without cleaning up), then the sandbox is destroyed.
	id2, cg := newCgroup(t, alice, nil)
	watch(id2)
	pid := pidOf(cg, "Xvfb")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	time.Sleep(time.Second)
	alice.ok("destroy_sandbox", map[string]any{"sandbox_id": id2})
	eventually(t, "no segment left after a crash", 10*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
}

// watchStream starts id's stream and reads a pixel through it as a viewer,
// so its VNC server grabs the screen (with MIT-SHM).
func watchStream(t *testing.T, m *mcpc, id string) {
	t.Helper()
	st := m.ok("start_stream", map[string]any{"sandbox_id": id})
	u, err := url.Parse(st["stream_url"].(string))
	require.NoError(t, err)
	key := u.Query().Get("key")
	u.RawQuery = "key=" + url.QueryEscape(key)
	u.Scheme = "ws"
	u.Path = strings.TrimSuffix(u.Path, "/") + "/websockify"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{Subprotocols: []string{"binary"}})
	require.NoError(t, err)
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	defer nc.Close()
	cl, _, err := vnctest.Handshake(nc, key) // the key is the VNC password too
	require.NoError(t, err)
	_, err = cl.Pixel(5, 5)
	require.NoError(t, err)
}

// shmByCreator lists the shm ids whose creator pid is in pids.
func shmByCreator(t *testing.T, pids map[int]bool) []string {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 11 {
			continue
		}
		cpid, _ := strconv.Atoi(f[4])
		if pids[cpid] {
			out = append(out, f[1])
		}
	}
	return out
}

// vncUsesSHM reports whether some x11vnc of a sectest slot has SysV shared
// memory mapped.
func vncUsesSHM() bool {
	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || comm(pid) != "x11vnc" {
			continue
		}
		if uid := procUID(pid); uid < localOpts.UIDBase || uid >= localOpts.UIDBase+localOpts.MaxSlots {
			continue
		}
		if b, err := os.ReadFile("/proc/" + de.Name() + "/maps"); err == nil && strings.Contains(string(b), "SYSV") {
			return true
		}
	}
	return false
}
