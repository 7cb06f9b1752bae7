package securitytest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/mcpserver"
)

// TestCrossSiteRequests: with --allow-unauthenticated (loopback only), a
// web page the operator visits must not drive the server through the
// browser: cross-site simple requests (no preflight) and DNS-rebound Host
// names are refused.
func TestCrossSiteRequests(t *testing.T) {
	e, err := newEnv(func(c *mcpserver.Config) { c.Anonymous = auth.Principal{ID: "local"} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_sandboxes","arguments":{}}}`
	for _, c := range []struct {
		name, ctype, origin, host, body string
	}{
		{"form post from a web page", "application/x-www-form-urlencoded", "https://evil.example", "", body},
		{"text/plain post from a web page", "text/plain", "https://evil.example", "", body},
		{"text/plain tool call", "text/plain", "https://evil.example", "", call},
		{"DNS rebinding", "application/json", "", "evil.example:80", body},
	} {
		req, _ := http.NewRequest("POST", e.URL+"/mcp", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		req.Header.Set("Accept", "application/json, text/event-stream")
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.GreaterOrEqual(t, resp.StatusCode, 400, "%s was served (%d)", c.name, resp.StatusCode)
	}
	// JSON needs a CORS preflight, which grants no foreign origin.
	pre, _ := http.NewRequest("OPTIONS", e.URL+"/mcp", nil)
	pre.Header.Set("Origin", "https://evil.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type, mcp-protocol-version, mcp-method")
	presp, err := http.DefaultClient.Do(pre)
	require.NoError(t, err)
	presp.Body.Close()
	assert.Empty(t, presp.Header.Get("Access-Control-Allow-Origin"), "preflight status %d", presp.StatusCode)
	// The same request without a foreign Origin works (the control case).
	req, _ := http.NewRequest("POST", e.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}
