package mcpserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vmservice/vmservice/auth"
)

// hand_over's refusals (the elicitation itself is driven by the official
// TypeScript SDK clients in e2e/handover): a client without URL-mode
// elicitation gets UNSUPPORTED naming the capability, before any stream
// starts; bad arguments and other tenants' sandboxes as everywhere.
func TestHandOverRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := inProcess(t, e, auth.Principal{ID: "alice"})
	bob := inProcess(t, e, auth.Principal{ID: "bob"})
	id := alice.OK("create_sandbox", nil)["sandbox_id"].(string)

	er := alice.fails("UNSUPPORTED", "hand_over", map[string]any{"sandbox_id": id, "message": "log in please"})
	assert.Equal(t, "elicitation.url", er["details"].(map[string]any)["capability"])
	_, streaming := e.streams.Get(id)
	assert.False(t, streaming, "no live view was started for nobody")

	alice.fails("INVALID_ARGUMENT", "hand_over", map[string]any{"sandbox_id": id})
	alice.fails("INVALID_ARGUMENT", "hand_over", map[string]any{"sandbox_id": id, "message": ""})
	alice.fails("INVALID_ARGUMENT", "hand_over", map[string]any{"sandbox_id": id, "message": "x", "timeout_seconds": 5})
	bob.fails("SANDBOX_NOT_FOUND", "hand_over", map[string]any{"sandbox_id": id, "message": "log in please"})
}
