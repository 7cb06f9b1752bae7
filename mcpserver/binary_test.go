package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
)

// binPath is the vmservice binary built once for the tests in this file.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vmservice-bin")
	if err != nil {
		panic(err)
	}
	if binPath, err = mcptest.BuildServer(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-0123456789abcdef"
	adminToken = "admin-token-0123456789abcdef"
)

// startHTTP runs the binary with --transport http and waits for /healthz.
func startHTTP(t *testing.T, extra ...string) *mcptest.Binary {
	t.Helper()
	tokens := fmt.Sprintf("# test tokens\n%s alice\n%s bob\n%s ops admin\n", aliceToken, bobToken, adminToken)
	return mcptest.StartHTTPT(t, binPath, tokens, append([]string{"--max-sandboxes", "6"}, extra...)...)
}

func httpClient(t *testing.T, s *mcptest.Binary, token string, legacy bool) *mcpClient {
	t.Helper()
	c, err := mcptest.NewHTTP(s.URL, token, legacy)
	require.NoError(t, err)
	return connect(t, c, context.Background())
}

func sseClient(t *testing.T, s *mcptest.Binary, token string) *mcpClient {
	t.Helper()
	c, err := mcptest.NewSSE(s.URL, token)
	require.NoError(t, err)
	return connect(t, c, context.Background())
}

func countAll(admin *mcpClient) int {
	return int(admin.OK("list_sandboxes", map[string]any{"user_id": "*"})["count"].(float64))
}

// TestBinaryHTTP drives the built binary over streamable HTTP (stateless
// 2026-07-28 and session-based) and SSE with bearer tokens.
func TestBinaryHTTP(t *testing.T) {
	s := startHTTP(t)

	// Health and auth.
	r, err := http.Get(s.URL + "/healthz")
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.NewDecoder(r.Body).Decode(&h))
	r.Body.Close()
	assert.Equal(t, "ok", h["status"])
	assert.Equal(t, "local", h["backend"])
	for _, auth := range []string{"", "Bearer wrong-token-0123456789"} {
		resp, body, err := mcptest.Request("POST", s.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
			map[string]string{"Content-Type": "application/json", "Authorization": auth})
		require.NoError(t, err)
		assert.Equal(t, 401, resp.StatusCode, body)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		assert.Contains(t, body, "AUTHENTICATION_FAILED")
		resp, err = http.Get(s.URL + "/sse")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
	}
	assert.NotContains(t, s.Log(), aliceToken, "tokens are never logged")

	admin := httpClient(t, s, adminToken, false)
	require.Equal(t, 0, countAll(admin))

	// Stateless: the sandbox outlives the client.
	modern := httpClient(t, s, aliceToken, false)
	assert.Equal(t, mcp.ProtocolVersion20260728, modern.C.ProtocolVersion())
	id := modern.OK("create_sandbox", nil)["sandbox_id"].(string)
	// Progress arrives while the call runs: the command prints, then waits
	// until the test has seen the notification. (mcp-go v1.2.1 drops a
	// notification that races the end of its call, mark3labs/mcp-go#969:
	// about half of them on a busy machine.)
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	running := make(chan answer, 1)
	go func() {
		res, err := mcptest.CallTool(modern.Ctx, modern.C, "run_command", map[string]any{"sandbox_id": id,
			"command": "echo streamed; until [ -e /tmp/progress-seen ]; do sleep 0.05; done"}, &mcp.Meta{ProgressToken: "http-1"})
		running <- answer{res, err}
	}()
	eventually(t, "progress over streamable HTTP", 60*time.Second, func() bool { return modern.progressFor("http-1") > 0 })
	modern.OK("write_file", map[string]any{"sandbox_id": id, "path": "/tmp/progress-seen", "content": ""})
	a := <-running
	require.NoError(t, a.err)
	require.False(t, a.res.IsError, text(a.res))
	shot := modern.Call("computer", map[string]any{"sandbox_id": id, "action": "screenshot"})
	require.Len(t, images(t, shot), 1)
	require.NoError(t, modern.C.Close())
	assert.Equal(t, 1, countAll(admin))
	admin.OK("destroy_sandbox", map[string]any{"sandbox_id": id})

	// Session-based HTTP: the session's sandboxes die with it (DELETE).
	legacy := httpClient(t, s, aliceToken, true)
	assert.NotEqual(t, mcp.ProtocolVersion20260728, legacy.C.ProtocolVersion())
	sid := legacy.C.GetSessionId()
	require.NotEmpty(t, sid)
	lid := legacy.OK("create_sandbox", nil)["sandbox_id"].(string)
	info := legacy.OK("get_sandbox_info", map[string]any{"sandbox_id": lid})
	assert.Equal(t, sid, info["session_id"])
	assert.Equal(t, 1, countAll(admin))

	// Bob cannot ride (or end) Alice's session.
	for _, method := range []string{"POST", "DELETE"} {
		resp, _, err := mcptest.Request(method, s.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`),
			map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + bobToken,
				"Mcp-Session-Id": sid, "Mcp-Protocol-Version": legacy.C.ProtocolVersion()})
		require.NoError(t, err)
		assert.Equal(t, 404, resp.StatusCode, method)
	}
	assert.Equal(t, 1, countAll(admin))
	require.NoError(t, legacy.C.Close())
	eventually(t, "the session's sandbox to be destroyed", 20*time.Second, func() bool { return countAll(admin) == 0 })

	// SSE: the sandboxes die when the stream disconnects.
	bob := sseClient(t, s, bobToken)
	bid := bob.OK("create_sandbox", nil)["sandbox_id"].(string)
	bob.OK("computer", map[string]any{"sandbox_id": bid, "action": "mouse_move", "coordinate": []int{3, 4}, "screenshot_after": false})
	assert.Equal(t, "X=3,Y=4", text(bob.Call("computer", map[string]any{"sandbox_id": bid, "action": "cursor_position"})))
	res := bob.CallMeta("create_sandbox", nil, &mcp.Meta{ProgressToken: "sse-1"})
	require.False(t, res.IsError, text(res))
	eventually(t, "progress over SSE", 60*time.Second, func() bool { return bob.progressFor("sse-1") >= 2 })
	bob.fails("SANDBOX_NOT_FOUND", "get_sandbox_info", map[string]any{"sandbox_id": lid})
	assert.Equal(t, 2, countAll(admin))
	require.NoError(t, bob.C.Close())
	eventually(t, "the SSE session's sandboxes to be destroyed", 20*time.Second, func() bool { return countAll(admin) == 0 })

	// Metrics.
	resp, err := http.Get(s.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(body)
	assert.Contains(t, m, `vmservice_tool_calls_total{tool="create_sandbox"} 4`)
	assert.Contains(t, m, `vmservice_tool_errors_total{code="SANDBOX_NOT_FOUND",tool="get_sandbox_info"} 1`)
	assert.Contains(t, m, "vmservice_active_sandboxes 0")
	assert.Contains(t, m, "vmservice_sessions ")
	assert.Contains(t, m, `vmservice_tool_duration_seconds_bucket{tool="computer"`)
}

// TestBinaryIdleSession: a session-based HTTP client that goes away
// without DELETE loses its sandboxes after the idle timeout.
func TestBinaryIdleSession(t *testing.T) {
	s := startHTTP(t, "--session-idle-timeout", "2s")
	admin := httpClient(t, s, adminToken, false)
	legacy := httpClient(t, s, aliceToken, true)
	legacy.OK("create_sandbox", nil)
	assert.Equal(t, 1, countAll(admin))
	// No Close: the client just stops talking.
	eventually(t, "the idle session's sandbox to be destroyed", 20*time.Second, func() bool { return countAll(admin) == 0 })
	assert.Contains(t, s.Log(), "session ended")
}

// TestBinarySignal: SIGTERM destroys every sandbox (also stateless ones)
// before the process exits.
func TestBinarySignal(t *testing.T) {
	s := startHTTP(t)
	c := httpClient(t, s, aliceToken, false)
	c.OK("create_sandbox", nil)
	require.NoError(t, s.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.Exited():
		require.NoError(t, s.Err())
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit on SIGTERM")
	}
	eventually(t, "the final log line", 60*time.Second, func() bool { return hasLogLine(s.Log(), "manager closed", `"destroyed":1`) })
}

// TestBinaryStdio runs the binary as a stdio server, with the stateless and
// the session-based protocol: the sandboxes of the stdio session are
// destroyed when the client closes stdin.
func TestBinaryStdio(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "log")
			tr := transport.NewStdio(binPath, nil, "--stdio-user", "me", "--log-format", "json", "--log-level", "debug",
				"--stream-listen", "127.0.0.1:0", "--log-file", logFile)
			require.NoError(t, tr.Start(context.Background()))
			var opts []client.ClientOption
			if legacy {
				opts = append(opts, client.WithLegacyProtocolOnly())
			}
			c := connect(t, client.NewClient(tr, opts...), context.Background())
			info := c.OK("create_sandbox", nil)
			assert.Equal(t, "me", info["user_id"])
			assert.Equal(t, "stdio", info["session_id"])
			id := info["sandbox_id"].(string)
			require.Len(t, images(t, c.Call("computer", map[string]any{"sandbox_id": id, "action": "screenshot"})), 1)
			// The default surface: computer, not the desktop toolset.
			assert.Contains(t, c.toolNames(), "computer")
			assert.NotContains(t, c.toolNames(), "click")
			out := c.OK("run_command", map[string]any{"sandbox_id": id, "command": "echo $HOME"})
			assert.Equal(t, "/home/user\n", out["stdout"])
			require.NoError(t, c.C.Close())
			logs, _ := os.ReadFile(logFile)
			assert.True(t, hasLogLine(string(logs), "session ended", `"destroyed":1`), string(logs))
			assert.True(t, hasLogLine(string(logs), "manager closed", `"destroyed":0`), string(logs))
		})
	}
}

// TestBinaryBackendUnavailable: a backend that cannot start does not take
// the server down in front of its client (which would only show "server
// disconnected"). Started where the local backend finds no bubblewrap, or
// on the e2b backend without an API key, the binary answers initialize and
// tools/list, and every tool call gets BACKEND_UNAVAILABLE naming what is
// missing and the fix.
func TestBinaryBackendUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name, backend string
		env           []string
		args          []string
		want          []string
	}{
		{"local without bubblewrap", "local", []string{"PATH=" + t.TempDir()}, nil, []string{"bwrap is not installed", "apt-get install bubblewrap"}},
		{"e2b without a key", "e2b", []string{"E2B_API_KEY="}, []string{"--backend", "e2b"}, []string{"the e2b backend is not available", "set E2B_API_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "log")
			tr := transport.NewStdio(binPath, tc.env, append([]string{"--stream-listen", "127.0.0.1:0", "--log-format", "json",
				"--log-file", logFile}, tc.args...)...)
			require.NoError(t, tr.Start(context.Background()))
			c := connect(t, client.NewClient(tr, client.WithLegacyProtocolOnly()), context.Background())
			list, err := c.C.ListTools(context.Background(), mcp.ListToolsRequest{})
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(list.Tools), 20, "the default toolsets are listed")
			for _, call := range []struct {
				name string
				args map[string]any
			}{{"create_sandbox", nil}, {"list_sandboxes", nil}, {"get_stats", nil}, {"computer", map[string]any{"sandbox_id": "sb_none", "action": "screenshot"}}} {
				e := c.Fails("BACKEND_UNAVAILABLE", call.name, call.args)
				for _, w := range tc.want {
					assert.Contains(t, e["message"], w, call.name)
				}
			}
			require.NoError(t, c.C.Close())
			logs, _ := os.ReadFile(logFile)
			assert.Contains(t, string(logs), `"message":"the `+tc.backend+` backend is not available: `)
			assert.Contains(t, string(logs), "every tool call answers this until the server is restarted")
		})
	}
}

// TestBinaryHealthzBackendUnavailable: over HTTP the same server is up but
// not healthy: /healthz answers 503 with the reason.
func TestBinaryHealthzBackendUnavailable(t *testing.T) {
	t.Setenv("E2B_API_KEY", "")
	addr, err := mcptest.FreeAddr()
	require.NoError(t, err)
	b, err := mcptest.Run(binPath, "--backend", "e2b", "--transport", "http", "--listen", addr,
		"--allow-unauthenticated", "--stream-listen", "127.0.0.1:0")
	require.NoError(t, err)
	defer b.Stop(10 * time.Second)
	var h map[string]any
	eventually(t, "/healthz answers", 30*time.Second, func() bool {
		r, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
		require.NoError(t, json.NewDecoder(r.Body).Decode(&h))
		return true
	})
	assert.Equal(t, "backend_unavailable", h["status"])
	assert.Contains(t, h["error"], "set E2B_API_KEY")
}

// TestBinaryConfigErrors: invalid settings are refused at start with a
// message that says what to change.
func TestBinaryConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--backend", "qemu"}, nil, "--backend must be local or e2b"},
		{[]string{"--transport", "grpc"}, nil, "--transport must be stdio, sse or http"},
		{[]string{"--transport", "http", "--listen", "0.0.0.0:0", "--allow-unauthenticated"}, nil, "only allowed on a loopback"},
		{nil, []string{"VMSERVICE_MAX_SANDBOXES=0"}, "must be >= 1"},
		{nil, []string{"VMSERVICE_MAX_SANDBOXES=many"}, "VMSERVICE_MAX_SANDBOXES"},
		{[]string{"--toolsets", "desktop,nope"}, nil, `unknown toolset "nope"`},
		{[]string{"--default-timeout", "1"}, nil, "default_timeout must be between"},
		{[]string{"--computer-size", "big"}, nil, "--computer-size"},
		{[]string{"--transport", "http", "--listen", "127.0.0.1:0", "--stream-listen", "127.0.0.1:0"}, nil, "needs bearer tokens"},
	} {
		cmd := exec.Command(binPath, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v %v should fail", tc.args, tc.env)
		assert.Contains(t, string(out), tc.want, "%v %v", tc.args, tc.env)
	}
}

// hasLogLine reports whether one JSON log line has the message and holds
// every fragment.
func hasLogLine(logs, msg string, fragments ...string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, `"message":"`+msg+`"`) {
			continue
		}
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(l, f)
		}
		if all {
			return true
		}
	}
	return false
}
