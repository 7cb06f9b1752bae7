package mcpserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/resources"
)

// TestTenantIsolation: two principals share a server; neither can see or
// touch the other's sandbox, user_id is honoured only for admins.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := inProcess(t, e, auth.Principal{ID: "alice"})
	bob := inProcess(t, e, auth.Principal{ID: "bob"})
	admin := inProcess(t, e, auth.Principal{ID: "ops", Admin: true})

	id := alice.OK("create_sandbox", nil)["sandbox_id"].(string)

	// Bob: another tenant's sandbox does not exist for him.
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"get_sandbox_info", map[string]any{"sandbox_id": id}},
		{"screenshot", map[string]any{"sandbox_id": id}},
		{"click", map[string]any{"sandbox_id": id, "x": 1, "y": 1}},
		{"read_file", map[string]any{"sandbox_id": id, "path": "x"}},
		{"run_command", map[string]any{"sandbox_id": id, "command": "true"}},
		{"set_sandbox_timeout", map[string]any{"sandbox_id": id, "timeout_seconds": 60}},
		{"start_stream", map[string]any{"sandbox_id": id}},
		{"computer", map[string]any{"sandbox_id": id, "action": "screenshot"}},
		{"run_actions", map[string]any{"sandbox_id": id, "steps": []map[string]any{{"action": "wait"}}}},
		{"destroy_sandbox", map[string]any{"sandbox_id": id}},
	} {
		e := bob.fails("SANDBOX_NOT_FOUND", call.tool, call.args)
		assert.Equal(t, id, e["details"].(map[string]any)["sandbox_id"], call.tool)
	}
	assert.EqualValues(t, 0, bob.OK("list_sandboxes", nil)["count"])
	assert.EqualValues(t, 0, bob.OK("get_stats", nil)["total_active_sandboxes"])
	assert.EqualValues(t, 0, bob.OK("cleanup_user_sandboxes", nil)["destroyed"])

	// user_id naming someone else is refused for non-admins; naming
	// yourself is fine.
	bob.fails("PERMISSION_DENIED", "list_sandboxes", map[string]any{"user_id": "alice"})
	bob.fails("PERMISSION_DENIED", "list_sandboxes", map[string]any{"user_id": "*"})
	bob.fails("PERMISSION_DENIED", "create_sandbox", map[string]any{"user_id": "alice"})
	bob.fails("PERMISSION_DENIED", "cleanup_user_sandboxes", map[string]any{"user_id": "alice"})
	assert.EqualValues(t, 0, bob.OK("list_sandboxes", map[string]any{"user_id": "bob"})["count"])
	assert.NotContains(t, bob.toolNames(), "cleanup_all_sandboxes")
	_, err := bob.C.CallTool(bob.Ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "cleanup_all_sandboxes"}})
	assert.Error(t, err, "admin tools cannot be called by others")

	// Resources are tenant-checked too.
	_, err = bob.C.ReadResource(bob.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "vmservice://sandboxes/" + id}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SANDBOX_NOT_FOUND")
	lst, err := bob.C.ReadResource(bob.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: resources.ListURI}})
	require.NoError(t, err)
	assert.Contains(t, lst.Contents[0].(mcp.TextResourceContents).Text, `"count": 0`)

	// The admin sees and acts for everyone.
	assert.Contains(t, admin.toolNames(), "cleanup_all_sandboxes")
	assert.EqualValues(t, 1, admin.OK("list_sandboxes", map[string]any{"user_id": "alice"})["count"])
	assert.EqualValues(t, 1, admin.OK("list_sandboxes", map[string]any{"user_id": "*"})["count"])
	admin.OK("get_sandbox_info", map[string]any{"sandbox_id": id})
	made := admin.OK("create_sandbox", map[string]any{"user_id": "bob"})
	assert.Equal(t, "bob", made["user_id"])
	assert.EqualValues(t, 1, bob.OK("list_sandboxes", nil)["count"])
	st := admin.OK("get_stats", nil)
	assert.EqualValues(t, 2, st["total_active_sandboxes"])
	assert.EqualValues(t, 2, st["total_users"])
	assert.EqualValues(t, 2, admin.OK("cleanup_all_sandboxes", nil)["destroyed"])
	alice.fails("SANDBOX_NOT_FOUND", "get_sandbox_info", map[string]any{"sandbox_id": id})
}

// TestQuota: the per-user quota answers QUOTA_EXCEEDED with the VM Service SDK's
// details.
func TestQuota(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "carol"})
	for i := 0; i < 4; i++ {
		c.OK("create_sandbox", nil)
	}
	er := c.fails("QUOTA_EXCEEDED", "create_sandbox", nil)
	d := er["details"].(map[string]any)
	assert.EqualValues(t, 4, d["current_usage"])
	assert.EqualValues(t, 4, d["limit"])
}

// TestResourcesAndPrompts reads every resource kind and both prompts.
func TestResourcesAndPrompts(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "dave"})
	id := c.OK("create_sandbox", nil)["sandbox_id"].(string)
	c.OK("write_file", map[string]any{"sandbox_id": id, "path": "/home/user/notes.txt", "content": "remember"})

	tl, err := c.C.ListResourceTemplates(c.Ctx, mcp.ListResourceTemplatesRequest{})
	require.NoError(t, err)
	assert.Len(t, tl.ResourceTemplates, 6)

	read := func(uri string) mcp.ResourceContents {
		t.Helper()
		r, err := c.C.ReadResource(c.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		require.NoError(t, err, uri)
		require.Len(t, r.Contents, 1)
		return r.Contents[0]
	}
	assert.Contains(t, read(resources.ListURI).(mcp.TextResourceContents).Text, id)
	assert.Contains(t, read("vmservice://sandboxes/"+id).(mcp.TextResourceContents).Text, `"user_id": "dave"`)
	screen := read("vmservice://sandboxes/" + id + "/screen").(mcp.BlobResourceContents)
	assert.Equal(t, "image/png", screen.MIMEType)
	assert.NotEmpty(t, screen.Blob)
	f := read("vmservice://sandboxes/" + id + "/files/home/user/notes.txt").(mcp.TextResourceContents)
	assert.Equal(t, "remember", f.Text)

	pl, err := c.C.ListPrompts(c.Ctx, mcp.ListPromptsRequest{})
	require.NoError(t, err)
	assert.Len(t, pl.Prompts, 2)
	p, err := c.C.GetPrompt(c.Ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "computer_use"}})
	require.NoError(t, err)
	assert.Contains(t, p.Messages[0].Content.(mcp.TextContent).Text, "create_sandbox")
	p, err = c.C.GetPrompt(c.Ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "desktop_task",
		Arguments: map[string]string{"goal": "write a poem", "application": "text-editor"}}})
	require.NoError(t, err)
	assert.Contains(t, p.Messages[1].Content.(mcp.TextContent).Text, `"text-editor"`)
}

// TestToolsetsAndReadOnly: --toolsets and --read-only decide what is listed.
func TestToolsetsAndReadOnly(t *testing.T) {
	e := newEnv(t, envOpts{cfg: mcpserver.Config{Toolsets: []string{"desktop", "files"}, ReadOnly: true}})
	c := inProcess(t, e, auth.Principal{ID: "erin", Admin: true})
	assert.ElementsMatch(t, []string{"get_cursor_position", "get_screen_size", "screenshot", "read_file", "list_files"}, c.toolNames())

	e = newEnv(t, envOpts{cfg: mcpserver.Config{Toolsets: []string{"sandbox", "admin"}}})
	c = inProcess(t, e, auth.Principal{ID: "erin", Admin: true})
	assert.ElementsMatch(t, []string{"create_sandbox", "get_sandbox_info", "list_sandboxes", "destroy_sandbox", "set_sandbox_timeout",
		"get_stats", "cleanup_user_sandboxes", "cleanup_all_sandboxes"}, c.toolNames())
}

// TestCancellation: a cancelled call stops its command in the sandbox.
func TestCancellation(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "frank"})
	id := c.OK("create_sandbox", nil)["sandbox_id"].(string)
	ctx, cancel := context.WithTimeout(c.Ctx, time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "run_command"
	req.Params.Arguments = map[string]any{"sandbox_id": id, "command": "sleep 77", "timeout": 60}
	res, err := c.C.CallTool(ctx, req)
	// In process the cancelled handler still answers: an error result.
	if err == nil {
		assert.True(t, res.IsError || structured(t, res)["timed_out"] == true, text(res))
	}
	eventually(t, "the cancelled command to be gone", 60*time.Second, func() bool {
		out := c.OK("run_command", map[string]any{"sandbox_id": id, "command": "pgrep -f 'slee[p] 77' || true"})
		return out["stdout"] == ""
	})
}
