package mcpserver_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/mcpserver/auth"
)

// BenchmarkToolCalls measures whole MCP tool calls on a real sandbox:
// in process, and over streamable HTTP (stateless protocol) on loopback.
//
//	go test -run '^$' -bench ToolCalls -benchtime 200x ./mcpserver
func BenchmarkToolCalls(b *testing.B) {
	e := newEnv(b, envOpts{})
	tok, _ := auth.ParseTokens(strings.NewReader("bench-token-0123456789 bench\n"))
	e.srv = mcpserver.New(mcpserver.Config{Tokens: tok, Log: e.log}, e.srv.Tools)
	hs := httptest.NewServer(e.srv.NewHTTP())
	b.Cleanup(hs.Close)

	inproc, err := client.NewInProcessClient(e.srv.MCP)
	require.NoError(b, err)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{ID: "bench"})
	require.NoError(b, mcptest.Initialize(ctx, inproc, "bench"))
	httpc, err := mcptest.DialHTTP(context.Background(), hs.URL, "bench-token-0123456789", "bench")
	require.NoError(b, err)
	b.Cleanup(func() { httpc.Close(); inproc.Close() })

	call := func(c *client.Client, ctx context.Context, name string, args map[string]any) *mcp.CallToolResult {
		res, err := mcptest.CallTool(ctx, c, name, args, nil)
		require.NoError(b, err)
		require.False(b, res.IsError, "%s: %v", name, res.Content)
		return res
	}
	res := call(inproc, ctx, "create_sandbox", nil)
	id := res.StructuredContent.(map[string]any)["sandbox_id"].(string)

	cases := []struct {
		name string
		tool string
		args map[string]any
	}{
		{"move_mouse", "move_mouse", map[string]any{"sandbox_id": id, "x": 10, "y": 10}},
		{"screenshot_png", "screenshot", map[string]any{"sandbox_id": id}},
		{"screenshot_jpeg", "screenshot", map[string]any{"sandbox_id": id, "format": "jpeg"}},
		{"computer_cursor_position", "computer", map[string]any{"sandbox_id": id, "action": "cursor_position"}},
		{"run_command_true", "run_command", map[string]any{"sandbox_id": id, "command": "true"}},
	}
	for _, via := range []struct {
		name string
		c    *client.Client
		ctx  context.Context
	}{{"inprocess", inproc, ctx}, {"http", httpc, context.Background()}} {
		for _, tc := range cases {
			b.Run(via.name+"/"+tc.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					call(via.c, via.ctx, tc.tool, tc.args)
				}
			})
		}
	}
}
