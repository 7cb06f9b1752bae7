package mcpserver_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
)

// BenchmarkFileTransfer is write_file and read_file of 1 MiB (base64) as
// whole in-process tool calls: the server-side cost of a big argument or
// result (decoding, schema validation, the agent protocol). Profile with
//
//	go test -run '^$' -bench FileTransfer -benchtime 30x -cpuprofile cpu.prof ./mcpserver
func BenchmarkFileTransfer(b *testing.B) {
	e := newEnv(b, envOpts{})
	c := benchClient(b, e)
	id := mustSucceed(b, c, "create_sandbox", nil).StructuredContent.(map[string]any)["sandbox_id"].(string)
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	write := map[string]any{"sandbox_id": id, "path": "/home/user/f.bin", "content": enc, "encoding": "base64"}
	b.Run("write_file_1MiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			mustSucceed(b, c, "write_file", write)
		}
	})
	b.Run("read_file_1MiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			mustSucceed(b, c, "read_file", map[string]any{"sandbox_id": id, "path": "/home/user/f.bin", "encoding": "base64"})
		}
	})
}
