package securitytest

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/sandbox"
)

// newCgroup creates a sandbox with m and returns its id and its cgroup
// (the one that appeared in the pids controller).
func newCgroup(t *testing.T, m *mcpc, args map[string]any) (string, string) {
	t.Helper()
	before := map[string]bool{}
	for _, c := range pidsCgroups() {
		before[c] = true
	}
	id := m.create(args)
	for _, c := range pidsCgroups() {
		if !before[c] {
			return id, c
		}
	}
	t.Fatal("no new cgroup for the sandbox")
	return "", ""
}

// pidOf is the process named name in cgroup cg (0 when none).
func pidOf(cg, name string) int {
	for _, pid := range mcptest.CgroupPids(cg) {
		if comm(pid) == name {
			return pid
		}
	}
	return 0
}

// TestFaults: a sandbox whose X server or window manager dies is reported
// broken (BACKEND_UNAVAILABLE), its neighbour carries on; a client that
// disconnects mid-call gets its command killed and the desktop released.
func TestFaults(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	bob := connectHTTP(t, e.URL, bobToken)
	x, xcg := newCgroup(t, alice, nil)
	w := bob.create(nil)
	ctx := context.Background()

	t.Run("X server killed", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		pid := pidOf(xcg, "Xvfb")
		require.NotZero(t, pid, "Xvfb of the sandbox")
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		sb, err := e.Manager.Get("alice", x)
		require.NoError(t, err)
		eventually(t, "Alive to report the dead display", 10*time.Second, func() bool {
			return sandbox.CodeOf(sb.Instance().Alive(ctx)) == sandbox.CodeBackendUnavailable
		})
		for _, tool := range []string{"screenshot", "get_cursor_position"} {
			res := alice.Call(tool, map[string]any{"sandbox_id": x})
			require.True(t, res.IsError, "%s on a dead display: %s", tool, text(res))
			assert.Equal(t, "BACKEND_UNAVAILABLE", structured(t, res)["error_code"], "%s: %s", tool, text(res))
		}
		res := alice.Call("click", map[string]any{"sandbox_id": x, "x": 10, "y": 10})
		assert.True(t, res.IsError, text(res))
		info := alice.OK("get_sandbox_info", map[string]any{"sandbox_id": x})
		assert.Equal(t, "broken", info["state"])
		assert.Contains(t, info["problem"], "display")
		// The neighbour is untouched.
		bob.OK("screenshot", map[string]any{"sandbox_id": w})
		assert.Equal(t, "ok\n", bob.sh(w, "echo ok", 10)["stdout"])
		// The broken sandbox can still be destroyed cleanly.
		alice.OK("destroy_sandbox", map[string]any{"sandbox_id": x})
	})

	t.Run("window manager killed", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		y := alice.create(nil)
		sb, err := e.Manager.Get("alice", y)
		require.NoError(t, err)
		require.NoError(t, sb.Instance().Alive(ctx))
		alice.sh(y, "pkill -KILL -x openbox; true", 10)
		eventually(t, "Alive to report the dead window manager", 10*time.Second, func() bool {
			return sandbox.CodeOf(sb.Instance().Alive(ctx)) == sandbox.CodeBackendUnavailable
		})
		wb, err := e.Manager.GetAny(w)
		require.NoError(t, err)
		assert.NoError(t, wb.Instance().Alive(ctx))
		bob.OK("screenshot", map[string]any{"sandbox_id": w})
		info := alice.OK("get_sandbox_info", map[string]any{"sandbox_id": y})
		assert.Equal(t, "broken", info["state"])
		assert.Contains(t, info["problem"], "window manager")
		assert.Equal(t, "running", bob.OK("get_sandbox_info", map[string]any{"sandbox_id": w})["state"])
	})

	t.Run("client disconnects mid-call", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		y := alice.create(nil)
		cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		_, err := alice.CallCtx(cctx, "run_command", map[string]any{"sandbox_id": y, "command": "sleep 377 & sleep 378", "timeout": 600})
		cancel()
		require.Error(t, err, "the call was cut off")
		eventually(t, "the abandoned command to be killed", 20*time.Second, func() bool {
			out := alice.sh(y, "pgrep -f 'slee[p] 37[78]' || true", 10)
			return strings.TrimSpace(out["stdout"].(string)) == ""
		})
		// A long type_text cut off releases the desktop for the next call.
		cctx, cancel = context.WithTimeout(ctx, 1500*time.Millisecond)
		_, err = alice.CallCtx(cctx, "type_text", map[string]any{"sandbox_id": y, "text": strings.Repeat("x", 3000), "chunk_size": 1, "delay_ms": 200})
		cancel()
		require.Error(t, err)
		qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
		defer qcancel()
		res, err := alice.CallCtx(qctx, "get_cursor_position", map[string]any{"sandbox_id": y})
		require.NoError(t, err, "the desktop stays locked by the abandoned type_text")
		assert.False(t, res.IsError, text(res))
		bob.OK("get_cursor_position", map[string]any{"sandbox_id": w})
	})
}
