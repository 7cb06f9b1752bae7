package mcpserver_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/mcpserver"
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

	inproc := benchClient(b, e)
	httpc, err := mcptest.NewHTTP(hs.URL, "bench-token-0123456789", false)
	require.NoError(b, err)
	httpClient := mcptest.Connect(b, context.Background(), httpc, "bench")

	res := mustSucceed(b, inproc, "create_sandbox", nil)
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
		c    *mcptest.Client
	}{{"inprocess", inproc}, {"http", httpClient}} {
		for _, tc := range cases {
			b.Run(via.name+"/"+tc.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					mustSucceed(b, via.c, tc.tool, tc.args)
				}
			})
		}
	}
}

// benchClient is an in-process client of principal "bench" whose results
// are not checked against the schemas (that would be measured too).
func benchClient(b *testing.B, e *env) *mcptest.Client {
	c, err := client.NewInProcessClient(e.srv.MCP)
	require.NoError(b, err)
	return mcptest.Connect(b, auth.WithPrincipal(context.Background(), auth.Principal{ID: "bench"}), c, "bench")
}

// mustSucceed calls a tool that must succeed, with no further check.
func mustSucceed(b *testing.B, c *mcptest.Client, name string, args map[string]any) *mcp.CallToolResult {
	res, err := c.CallCtx(c.Ctx, name, args)
	require.NoError(b, err)
	require.False(b, res.IsError, "%s: %v", name, res.Content)
	return res
}
