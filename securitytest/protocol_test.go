package securitytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
)

// TestProtocolAbuse: hostile HTTP clients get clear errors and the server
// keeps serving everyone.
func TestProtocolAbuse(t *testing.T) {
	e := server(t)

	t.Run("authentication", func(t *testing.T) {
		for _, hdr := range []string{"", "Bearer", "Bearer ", "Bearer wrong-token-0123456789", "Basic YWxpY2U6YWxpY2U=",
			"bearer " + aliceToken + "x", "Bearer " + aliceToken[:len(aliceToken)-1], "Bearer " + strings.Repeat("a", 1<<16)} {
			resp, body, err := mcptest.Request("POST", e.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
				map[string]string{"Content-Type": "application/json", "Authorization": hdr})
			require.NoError(t, err)
			assert.Contains(t, []int{401, 431}, resp.StatusCode, "%q: %s", hdr, body)
			if resp.StatusCode == 401 {
				assert.Contains(t, body, "AUTHENTICATION_FAILED")
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			}
		}
		for _, path := range []string{"/sse", "/message?sessionId=x"} {
			resp, err := http.Get(e.URL + path)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 401, resp.StatusCode, path)
		}
		// The token is a header, never a query parameter.
		resp, err := http.Post(e.URL+"/mcp?token="+aliceToken+"&access_token="+aliceToken, "application/json",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
	})

	t.Run("malformed JSON-RPC", func(t *testing.T) {
		bodies := []string{
			``, `{`, `[`, `null`, `"just a string"`, `42`, `{}`, `[]`, `[{},{}]`, `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`,
			`{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}`, `{"jsonrpc":"2.0","id":1}`,
			`{"jsonrpc":"2.0","id":1,"method":42}`, `{"jsonrpc":"2.0","id":1,"method":"no/such/method"}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_command","arguments":"rm -rf /"}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_command","arguments":[1,2]}}`,
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"x\":\"\xff\xfe\"}",
			strings.Repeat("[", 200000) + strings.Repeat("]", 200000),
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_stats","arguments":` + strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat(`}`, 100000) + `}}`,
		}
		for _, b := range bodies {
			for _, hdr := range []map[string]string{nil, modernHdr} {
				status, body := rpc(t, e.URL, aliceToken, strings.NewReader(b), hdr)
				assert.Less(t, status, 500, "%.80q -> %d %.200s", b, status, body)
				if status == 200 && strings.Contains(b, "tools/call") {
					assert.True(t, strings.Contains(body, `"error"`) || strings.Contains(body, `"isError":true`), "%.80q -> %.300s", b, body)
				}
			}
		}
		alive(t, e.URL)
	})

	t.Run("wrong argument types", func(t *testing.T) {
		alice := connectHTTP(t, e.URL, aliceToken)
		for _, args := range []map[string]any{
			{"sandbox_id": 42},
			{"sandbox_id": []string{"a"}},
			{"sandbox_id": map[string]any{"$ne": ""}},
			{"sandbox_id": "sb_x", "command": 7},
			{"sandbox_id": "sb_x", "command": "id", "timeout": "forever"},
			{"sandbox_id": "sb_x", "command": "id", "timeout": -1},
			{"sandbox_id": "sb_x", "command": "id", "environment": map[string]any{"A": 1}},
			{"sandbox_id": "sb_x", "command": "id", "unexpected": true},
			{"sandbox_id": "sb_x", "command": "id", "timeout": 1e308},
			{"command": "id"},
		} {
			res := alice.Call("run_command", args)
			require.True(t, res.IsError, "%v: %s", args, text(res))
			assert.Equal(t, "INVALID_ARGUMENT", structured(t, res)["error_code"], "%v: %s", args, text(res))
		}
		_, err := alice.CallCtx(alice.Ctx, "no_such_tool", map[string]any{})
		assert.Error(t, err)
		alive(t, e.URL)
	})

	t.Run("oversized request", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), 70<<20)
		body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"`), big...), `"}}`...)
		for _, hdr := range []map[string]string{nil, modernHdr} {
			status, resp := rpc(t, e.URL, aliceToken, bytes.NewReader(body), hdr)
			assert.True(t, status == 413 || status == 400, "status %d: %.300s", status, resp)
		}
		alive(t, e.URL)
	})

	t.Run("session hijack", func(t *testing.T) {
		// Alice opens a session-based (legacy) session; bob presents its id.
		init, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
			"protocolVersion": mcp.LATEST_PROTOCOL_VERSION, "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "x", "version": "1"}}})
		req, _ := http.NewRequest("POST", e.URL+"/mcp", bytes.NewReader(init))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		sid := resp.Header.Get("Mcp-Session-Id")
		if sid == "" {
			t.Skip("no legacy session minted by this mcp-go") // never the case with v1.2
		}
		for _, tok := range []string{bobToken, ""} {
			status, body := rpc(t, e.URL, tok, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`),
				map[string]string{"Mcp-Session-Id": sid})
			assert.Contains(t, []int{401, 404}, status, "token %q: %s", tok, body)
		}
		// The same over SSE: alice's /message endpoint, bob's token.
		sreq, _ := http.NewRequest("GET", e.URL+"/sse", nil)
		sreq.Header.Set("Authorization", "Bearer "+aliceToken)
		sresp, err := http.DefaultClient.Do(sreq)
		require.NoError(t, err)
		defer sresp.Body.Close()
		buf := make([]byte, 4096)
		n, _ := sresp.Body.Read(buf)
		ev := string(buf[:n])
		i := strings.Index(ev, "sessionId=")
		require.Positive(t, i, ev)
		ssid := strings.Fields(ev[i+len("sessionId="):])[0]
		for _, tok := range []string{bobToken, ""} {
			auth := ""
			if tok != "" {
				auth = "Bearer " + tok
			}
			resp, _, err := mcptest.Request("POST", e.URL+"/message?sessionId="+ssid, strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`),
				map[string]string{"Content-Type": "application/json", "Authorization": auth})
			require.NoError(t, err)
			assert.Contains(t, []int{401, 404}, resp.StatusCode, "SSE message with token %q", tok)
		}
		req, _ = http.NewRequest("DELETE", e.URL+"/mcp", nil)
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Authorization", "Bearer "+bobToken)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 404, resp.StatusCode, "bob cannot end alice's session")
	})
}
