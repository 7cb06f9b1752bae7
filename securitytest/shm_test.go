package securitytest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/internal/procfs"
)

// shmOf counts the SysV shared memory segments in the host's IPC namespace
// created by uids in [lo, hi).
func shmOf(t *testing.T, lo, hi int) int {
	segs, err := procfs.ShmSegments()
	require.NoError(t, err)
	n := 0
	for _, s := range segs {
		if s.CUID >= lo && s.CUID < hi {
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
	alice := connectHTTP(t, e.URL, aliceToken)
	lo, hi := localOpts.UIDBase, localOpts.UIDBase+localOpts.MaxSlots
	before := shmOf(t, lo, hi)
	watch := func(id string) {
		watchStream(t, alice, id)
		assert.Equal(t, before, shmOf(t, lo, hi), "x11vnc's segments are not in the host's IPC namespace")
		assert.True(t, vncUsesSHM(), "x11vnc uses MIT-SHM (else this test proves little)")
	}
	id := alice.create(nil)
	watch(id)
	alice.OK("stop_stream", map[string]any{"sandbox_id": id})
	eventually(t, "no segment left after stop_stream", 60*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
	watch(id)
	alice.OK("destroy_sandbox", map[string]any{"sandbox_id": id})
	eventually(t, "no segment left after destroy", 60*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
	// The display dies under a watched stream (x11vnc loses its X server
	// and exits without cleaning up), then the sandbox is destroyed.
	id2, cg := newCgroup(t, alice, nil)
	watch(id2)
	pid := pidOf(cg, "Xvfb")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	time.Sleep(time.Second)
	alice.OK("destroy_sandbox", map[string]any{"sandbox_id": id2})
	eventually(t, "no segment left after a crash", 60*time.Second, func() bool { return shmOf(t, lo, hi) <= before })
}

// watchStream starts id's stream and reads a pixel through it as a viewer,
// so its VNC server grabs the screen (with MIT-SHM).
func watchStream(t *testing.T, m *mcpc, id string) {
	t.Helper()
	st := m.OK("start_stream", map[string]any{"sandbox_id": id})
	require.NoError(t, mcptest.View(context.Background(), st["stream_url"].(string)))
}

// shmByCreator lists the shm ids whose creator pid is in pids.
func shmByCreator(t *testing.T, pids map[int]bool) []int {
	segs, err := procfs.ShmSegments()
	require.NoError(t, err)
	var out []int
	for _, s := range segs {
		if pids[s.CPID] {
			out = append(out, s.ID)
		}
	}
	return out
}

// vncUsesSHM reports whether some x11vnc of a sectest slot has SysV shared
// memory mapped.
func vncUsesSHM() bool {
	for _, pid := range procfs.Pids() {
		if comm(pid) != "x11vnc" {
			continue
		}
		if uid := procUID(pid); uid < localOpts.UIDBase || uid >= localOpts.UIDBase+localOpts.MaxSlots {
			continue
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps"); err == nil && strings.Contains(string(b), "SYSV") {
			return true
		}
	}
	return false
}
