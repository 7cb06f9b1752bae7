package mcpserver_test

import (
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
)

// TestReplicasBehindABalancer: two servers (--backend e2b --shared, one
// deployment) against one E2B stand-in; a client alternates between them
// on the stateless protocol, as a load balancer without affinity would
// send it: create on one, act and destroy on the other; ownership and
// quotas hold across both.
func TestReplicasBehindABalancer(t *testing.T) {
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	lp, bins, err := e2btest.Local(log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lp.Close() })
	emu := e2btest.New(e2btest.Options{APIKey: "replica-key", NewMachine: e2btest.LocalFactory(lp, log), EnvdVersion: bins.Version, Log: log})
	hs := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { hs.CloseClientConnections(); _ = emu.Close(); hs.Close() })
	t.Setenv("E2B_API_KEY", "replica-key")
	t.Setenv("E2B_API_URL", hs.URL)
	t.Setenv("E2B_SANDBOX_URL", hs.URL)
	t.Setenv("VMSERVICE_E2B_SERVER_ID", "deployment-7")
	replica := func() (alice, bob *mcpClient) {
		s := startHTTP(t, "--backend", "e2b", "--shared", "--max-sandboxes-per-user", "1")
		return httpClient(t, s, aliceToken, false), httpClient(t, s, bobToken, false)
	}
	a, bobA := replica()
	b, bobB := replica()

	id := a.OK("create_sandbox", map[string]any{"timeout_seconds": 300})["sandbox_id"].(string)
	out := b.OK("run_command", map[string]any{"sandbox_id": id, "command": "echo through-b"})
	assert.Equal(t, "through-b\n", out["stdout"])
	b.OK("write_file", map[string]any{"sandbox_id": id, "path": "r.txt", "content": "from b"})
	assert.Equal(t, "from b", text(a.Call("read_file", map[string]any{"sandbox_id": id, "path": "r.txt"})))
	b.OK("computer", map[string]any{"sandbox_id": id, "action": "left_click", "coordinate": []int{300, 200}, "screenshot_after": false})
	assert.Equal(t, "X=300,Y=200", text(a.Call("computer", map[string]any{"sandbox_id": id, "action": "cursor_position"})))
	info := b.OK("get_sandbox_info", map[string]any{"sandbox_id": id})
	assert.Equal(t, "alice", info["user_id"])
	list := b.OK("list_sandboxes", map[string]any{})
	assert.EqualValues(t, 1, list["count"])

	// Another principal, on either replica: not found.
	bobB.Fails("SANDBOX_NOT_FOUND", "get_sandbox_info", map[string]any{"sandbox_id": id})
	bobA.Fails("SANDBOX_NOT_FOUND", "run_command", map[string]any{"sandbox_id": id, "command": "true"})
	// alice's quota (one) counts the sandbox the other replica made.
	q := b.Fails("QUOTA_EXCEEDED", "create_sandbox", map[string]any{})
	assert.EqualValues(t, 1, q["details"].(map[string]any)["current_usage"])
	bobID := bobB.OK("create_sandbox", map[string]any{})["sandbox_id"].(string)
	assert.EqualValues(t, 1, bobA.OK("list_sandboxes", map[string]any{})["count"])

	// Destroyed through B: gone through A.
	b.OK("destroy_sandbox", map[string]any{"sandbox_id": id})
	require.Eventually(t, func() bool {
		res := a.Call("get_sandbox_info", map[string]any{"sandbox_id": id})
		return res.IsError
	}, 10*time.Second, 100*time.Millisecond)
	a.Fails("SANDBOX_NOT_FOUND", "run_command", map[string]any{"sandbox_id": id, "command": "true"})
	bobA.OK("destroy_sandbox", map[string]any{"sandbox_id": bobID})
	assert.Equal(t, 0, emu.Count())
}
