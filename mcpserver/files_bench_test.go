package mcpserver_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/mcpserver/auth"
)

// BenchmarkFileTransfer is write_file and read_file of 1 MiB (base64) as
// whole in-process tool calls: the server-side cost of a big argument or
// result (decoding, schema validation, the agent protocol). Profile with
//
//	go test -run '^$' -bench FileTransfer -benchtime 30x -cpuprofile cpu.prof ./mcpserver
func BenchmarkFileTransfer(b *testing.B) {
	e := newEnv(b, envOpts{})
	c, err := client.NewInProcessClient(e.srv.MCP)
	require.NoError(b, err)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{ID: "bench"})
	require.NoError(b, mcptest.Initialize(ctx, c, "bench"))
	b.Cleanup(func() { c.Close() })
	call := func(name string, args map[string]any) *mcp.CallToolResult {
		res, err := mcptest.CallTool(ctx, c, name, args, nil)
		require.NoError(b, err)
		require.False(b, res.IsError, "%s: %v", name, res.Content)
		return res
	}
	id := call("create_sandbox", nil).StructuredContent.(map[string]any)["sandbox_id"].(string)
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	write := map[string]any{"sandbox_id": id, "path": "/home/user/f.bin", "content": enc, "encoding": "base64"}
	b.Run("write_file_1MiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			call("write_file", write)
		}
	})
	b.Run("read_file_1MiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			call("read_file", map[string]any{"sandbox_id": id, "path": "/home/user/f.bin", "encoding": "base64"})
		}
	})
}
