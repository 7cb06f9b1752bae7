package toolkit

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/sandbox"
)

func as(id string, admin bool) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{ID: id, Admin: admin})
}

func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		ctx    context.Context
		userID string
		want   string
		code   sandbox.Code
	}{
		{as("alice", false), "", "alice", ""},
		{as("alice", false), "alice", "alice", ""},
		{as("alice", false), "bob", "", sandbox.CodePermissionDenied},
		{as("ops", true), "bob", "bob", ""},
		{as("ops", true), "bad user", "", sandbox.CodeInvalidArgument},
		{context.Background(), "", "", sandbox.CodeAuthenticationFailed},
	} {
		got, err := Owner(tc.ctx, tc.userID)
		assert.Equal(t, tc.want, got, "%q", tc.userID)
		if tc.code == "" {
			assert.NoError(t, err)
		} else {
			assert.Equal(t, tc.code, sandbox.CodeOf(err), "%q", tc.userID)
		}
	}
}

// callArgs are a per-sandbox tool's arguments.
type callArgs struct {
	SandboxRef
	N int `json:"n,omitempty"`
}

func code(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	require.True(t, res.IsError)
	return res.StructuredContent.(map[string]any)["error_code"].(string)
}

// A tool on a sandbox never runs its handler for a caller who has no such
// sandbox, nor an admin-only tool for anyone else.
func TestDefineOnAndAdminOnly(t *testing.T) {
	env := &Env{Log: zerolog.Nop()}
	ran := false
	on := DefineOn(env, Spec{Name: "poke"}, func(ctx context.Context, sb *sandbox.Sandbox, a *callArgs) (OK, error) {
		ran = true
		return OK{OK: true}, nil
	})
	assert.Equal(t, "SANDBOX_NOT_FOUND", code(t, on.Call(context.Background(), json.RawMessage(`{"sandbox_id":"sb_x"}`))),
		"no principal owns nothing")
	assert.Equal(t, "INVALID_ARGUMENT", code(t, on.Call(as("alice", false), json.RawMessage(`{"sandbox_id":"sb_x","n":"2"}`))))
	assert.Equal(t, "INVALID_ARGUMENT", code(t, on.Call(as("alice", false), json.RawMessage(`{"sandbox_id":"sb_x","m":2}`))))
	assert.False(t, ran)

	admin := Define(env, Spec{Name: "wipe", AdminOnly: true}, func(ctx context.Context, a *NoArgs) (OK, error) {
		ran = true
		return OK{OK: true}, nil
	})
	assert.Equal(t, "PERMISSION_DENIED", code(t, admin.Call(as("alice", false), json.RawMessage(`{}`))))
	assert.False(t, ran)
	res := admin.Call(as("ops", true), json.RawMessage(`{}`))
	require.False(t, res.IsError)
	assert.True(t, ran)
	assert.Equal(t, OK{OK: true}, res.StructuredContent)
}

type bounded struct {
	N int `json:"n" jsonschema_description:"From {min} to {max}."`
}

func (bounded) JSONSchemaExtend(s *jsonschema.Schema) { Bound(s, "n", 3, 7) }

func TestBound(t *testing.T) {
	var got struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(schemaOf(&bounded{}), &got))
	assert.Equal(t, map[string]any{"type": "integer", "minimum": 3.0, "maximum": 7.0, "description": "From 3 to 7."}, got.Properties["n"])
	assert.Panics(t, func() { Bound(Reflector.Reflect(&bounded{}), "nope", 0, 1) }, "a bound on no property is a declaration bug")
}
