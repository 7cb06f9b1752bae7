package wiring

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

// options build over a private, empty slot range of the local backend (no
// sandbox is booted: what is tested is the wiring).
func options(t *testing.T) Options {
	dir, err := os.MkdirTemp("", "vmservice-wiring-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return Options{Local: local.Options{StateDir: filepath.Join(dir, "state"), LockDir: filepath.Join(dir, "locks"),
		UIDBase: 340000, DisplayBase: 6700, MaxSlots: 2, CgroupParent: "vmservice-wiring"},
		Settings: sandbox.Settings{MaxConcurrentSandboxes: 1}, Stream: stream.Config{Listen: "127.0.0.1:0"},
		Log: zerolog.New(zerolog.NewTestWriter(t))}
}

func build(t *testing.T, o Options) *Server {
	s, err := Build(o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestBuild(t *testing.T) {
	s := build(t, options(t))
	require.NotNil(t, s.Streams)
	assert.Equal(t, "local", s.Backend.Name())
	assert.Equal(t, s.Manager, s.Tools.Manager, "the tools act on the built Manager")
	assert.NotNil(t, s.Tools.Get("start_stream"))
	assert.NotNil(t, s.Manager.OnDestroy, "a destroyed sandbox's stream is stopped")
}

// A backend that cannot start still gives a server (it would otherwise
// die in front of its client): every tool call answers BACKEND_UNAVAILABLE
// naming the problem. Invalid settings are an error, with nothing left
// running.
func TestBuildFails(t *testing.T) {
	o := options(t)
	o.Backend = "nope"
	s := build(t, o)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{ID: "alice"})
	resp, err := json.Marshal(s.MCP.MCP.HandleMessage(ctx,
		[]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_sandboxes","arguments":{}}}`)))
	require.NoError(t, err)
	assert.Contains(t, string(resp), "BACKEND_UNAVAILABLE")
	assert.Contains(t, string(resp), `unknown backend \"nope\"`)

	o = options(t)
	o.Settings.MaxConcurrentSandboxes = -1
	_, err = Build(o)
	require.Error(t, err, "invalid settings")
}

// A taken stream address gives way to a free loopback port only with
// StreamFallback; otherwise the server runs without streaming.
func TestStreamListenTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	o := options(t)
	o.Stream.Listen = taken.Addr().String()
	without := build(t, o)
	assert.Nil(t, without.Streams, "no stream URL may point at someone else's port")
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{ID: "alice"})
	res := without.Tools.Get("start_stream").Call(ctx, json.RawMessage(`{"sandbox_id":"sb_x"}`))
	require.True(t, res.IsError)
	assert.Equal(t, "BACKEND_UNAVAILABLE", res.StructuredContent.(map[string]any)["error_code"])

	o.StreamFallback = true
	s := build(t, o)
	require.NotNil(t, s.Streams)
	assert.NotEqual(t, taken.Addr().String(), s.Streams.Addr())

	o.NoStream = true
	assert.Nil(t, build(t, o).Streams)
}
