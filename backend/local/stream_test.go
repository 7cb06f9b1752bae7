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

	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/sandbox"
)

// x11vncOf is the pid of the x11vnc serving the instance's display (0 if
// none is alive).
func x11vncOf(in *Instance) int {
	// Another server on the machine (another uid range, another /tmp) may
	// serve the same display number: only ours, a descendant of this test.
	if pids := vnctest.X11vnc(":"+strconv.Itoa(in.slot.display), os.Getpid()); len(pids) > 0 {
		return pids[0]
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
	pid := x11vncOf(in)
	require.NotZero(t, pid)
	assert.True(t, inCgroup(t, pid, in.cg.leaf(sysLeaf)), "x11vnc in the sys leaf %v", in.cg.leaf(sysLeaf))
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	assert.Contains(t, string(st), fmt.Sprintf("\nUid:\t%d\t", in.slot.uid))

	// Stop and start: the new one is in the cgroup too.
	require.NoError(t, in.StopVNC(ctx))
	assert.Zero(t, x11vncOf(in))
	_, err = in.StartVNC(ctx, sandbox.StreamOptions{ViewOnly: true})
	require.NoError(t, err)
	pid = x11vncOf(in)
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
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil || x11vncOf(in) == 0 },
		5*time.Second, 20*time.Millisecond, "x11vnc outlived its sandbox")
	_ = slot.Close()
}
