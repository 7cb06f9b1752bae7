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

// TestFaults: a sandbox whose X server, window manager or agent dies
// comes back by itself (same id, same home) while its neighbour carries
// on; one whose desktop keeps dying is given up and says why; a client
// that disconnects mid-call gets its command killed and the desktop
// released. (Before the restarts, a dead part left the sandbox broken for
// good.)
func TestFaults(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	bob := connectHTTP(t, e.URL, bobToken)
	x, xcg := newCgroup(t, alice, nil)
	w := bob.create(nil)
	ctx := context.Background()
	alice.OK("write_file", map[string]any{"sandbox_id": x, "path": "kept.txt", "content": "KEPT"})
	sb, err := e.Manager.Get("alice", x)
	require.NoError(t, err)
	back := func(t *testing.T, what string) {
		t.Helper()
		eventually(t, what, 60*time.Second, func() bool { return sb.Instance().Alive(ctx) == nil })
		alice := alice.as(t)
		assert.Equal(t, "running", alice.OK("get_sandbox_info", map[string]any{"sandbox_id": x})["state"])
		alice.OK("screenshot", map[string]any{"sandbox_id": x})
		alice.OK("click", map[string]any{"sandbox_id": x, "x": 10, "y": 10})
		assert.Equal(t, "KEPT", alice.sh(x, "cat kept.txt", 30)["stdout"], "the home survives")
		// The neighbour is untouched.
		bob := bob.as(t)
		bob.OK("screenshot", map[string]any{"sandbox_id": w})
		assert.Equal(t, "ok\n", bob.sh(w, "echo ok", 10)["stdout"])
	}
	restarts := func() int { return sb.Instance().(interface{ Restarts() int }).Restarts() }

	t.Run("X server killed", func(t *testing.T) {
		pid := pidOf(xcg, "Xvfb")
		require.NotZero(t, pid, "Xvfb of the sandbox")
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		eventually(t, "the display restarted", 60*time.Second, func() bool { return restarts() == 1 })
		back(t, "the sandbox back after its X server was killed")
	})

	t.Run("window manager killed", func(t *testing.T) {
		alice.as(t).sh(x, "pkill -KILL -x openbox; true", 10)
		eventually(t, "the window manager restarted", 60*time.Second, func() bool { return restarts() == 2 })
		back(t, "the sandbox back after its window manager was killed")
	})

	t.Run("agent killed", func(t *testing.T) {
		pid := pidOf(xcg, "agent")
		require.NotZero(t, pid, "the agent of the sandbox")
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		eventually(t, "the agent restarted", 60*time.Second, func() bool { return restarts() == 3 })
		back(t, "the sandbox back after its agent was killed")
	})

	t.Run("dies again and again", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		// Killed until it is given up: at most 4 restarts a minute.
		givenUp := func() bool {
			err := sb.Instance().Alive(ctx)
			return err != nil && strings.Contains(err.Error(), "no longer restarted")
		}
		for i := 0; i < 6 && !givenUp(); i++ {
			n := restarts()
			pid := pidOf(xcg, "Xvfb")
			require.NotZero(t, pid)
			require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			eventually(t, "the display restarted or given up", 60*time.Second, func() bool { return restarts() > n || givenUp() })
		}
		require.True(t, givenUp(), "a display dying again and again is given up")
		for _, tool := range []string{"screenshot", "get_cursor_position"} {
			res := alice.Call(tool, map[string]any{"sandbox_id": x})
			require.True(t, res.IsError, "%s on a dead display: %s", tool, text(res))
			assert.Equal(t, "BACKEND_UNAVAILABLE", structured(t, res)["error_code"], "%s: %s", tool, text(res))
		}
		info := alice.OK("get_sandbox_info", map[string]any{"sandbox_id": x})
		assert.Equal(t, "broken", info["state"])
		assert.Contains(t, info["problem"], "no longer restarted")
		assert.Contains(t, info["problem"], "X server was killed")
		assert.Equal(t, "running", bob.OK("get_sandbox_info", map[string]any{"sandbox_id": w})["state"])
		// The broken sandbox can still be destroyed cleanly.
		alice.OK("destroy_sandbox", map[string]any{"sandbox_id": x})
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
