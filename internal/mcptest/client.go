package mcptest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"
)

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// NewHTTP is a streamable HTTP client of url's /mcp with a bearer token,
// not started; legacy restricts it to the session-based protocol versions.
func NewHTTP(url, token string, legacy bool) (*client.Client, error) {
	c, err := client.NewStreamableHttpClient(url+"/mcp", transport.WithHTTPHeaders(bearer(token)))
	if err != nil || !legacy {
		return c, err
	}
	return client.NewClient(c.GetTransport(), client.WithLegacyProtocolOnly()), nil
}

// NewSSE is an SSE client of url's /sse with a bearer token, not started.
func NewSSE(url, token string) (*client.Client, error) {
	return client.NewSSEMCPClient(url+"/sse", transport.WithHeaders(bearer(token)))
}

// Initialize starts c and runs the MCP handshake as client name.
func Initialize(ctx context.Context, c *client.Client, name string) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: name, Version: "1"}
	_, err := c.Initialize(ctx, init)
	return err
}

// DialHTTP is a started, initialized streamable HTTP client.
func DialHTTP(ctx context.Context, url, token, name string) (*client.Client, error) {
	c, err := NewHTTP(url, token, false)
	if err != nil {
		return nil, err
	}
	if err := Initialize(ctx, c, name); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// CallTool calls a tool; meta may be nil.
func CallTool(ctx context.Context, c *client.Client, name string, args map[string]any, meta *mcp.Meta) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	return c.CallTool(ctx, req)
}

// Decode is a result's structured content as a JSON object.
func Decode(res *mcp.CallToolResult) (map[string]any, error) {
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// ErrorOf is the error code and message of an error result's structured
// content ("" for a success).
func ErrorOf(res *mcp.CallToolResult, m map[string]any) (code, msg string) {
	if !res.IsError {
		return "", ""
	}
	code, _ = m["error_code"].(string)
	msg, _ = m["message"].(string)
	return code, msg
}

// Text is the text of a result's text blocks.
func Text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// Client is a connected client reporting to a test.
type Client struct {
	T   testing.TB
	C   *client.Client
	Ctx context.Context
	// Timeout bounds each call of Call (none when 0).
	Timeout time.Duration
	// Check, when set, runs on every result of Call.
	Check func(t testing.TB, name string, res *mcp.CallToolResult)
}

// Connect initializes c as client name; it is closed at the end of the test.
func Connect(t testing.TB, ctx context.Context, c *client.Client, name string) *Client {
	t.Helper()
	require.NoError(t, Initialize(ctx, c, name))
	t.Cleanup(func() { _ = c.Close() })
	return &Client{T: t, C: c, Ctx: ctx}
}

// ConnectHTTP is a streamable HTTP client of a principal (by its token).
func ConnectHTTP(t testing.TB, url, token, name string) *Client {
	t.Helper()
	c, err := NewHTTP(url, token, false)
	require.NoError(t, err)
	return Connect(t, context.Background(), c, name)
}

// As is m reporting to t (for subtests).
func (m *Client) As(t testing.TB) *Client { c := *m; c.T = t; return &c }

// CallCtx calls a tool with ctx, unchecked.
func (m *Client) CallCtx(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	return CallTool(ctx, m.C, name, args, nil)
}

// Call calls a tool that must answer (success or error result).
func (m *Client) Call(name string, args map[string]any) *mcp.CallToolResult {
	m.T.Helper()
	return m.CallMeta(name, args, nil)
}

// CallMeta is Call with request metadata (a progress token).
func (m *Client) CallMeta(name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	m.T.Helper()
	ctx := m.Ctx
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.Timeout)
		defer cancel()
	}
	res, err := CallTool(ctx, m.C, name, args, meta)
	require.NoError(m.T, err, "tool %s", name)
	if m.Check != nil {
		m.Check(m.T, name, res)
	}
	return res
}

// OK calls a tool that must succeed and returns its structured content.
func (m *Client) OK(name string, args map[string]any) map[string]any {
	m.T.Helper()
	res := m.Call(name, args)
	require.False(m.T, res.IsError, "tool %s failed: %s", name, Text(res))
	return Structured(m.T, res)
}

// Fails calls a tool that must fail with code and returns the error dict
// (which has a message).
func (m *Client) Fails(code, name string, args map[string]any) map[string]any {
	m.T.Helper()
	return RequireError(m.T, code, name, m.Call(name, args))
}

// RequireError checks that res (of tool name) is the error code with a
// message and returns the error dict.
func RequireError(t testing.TB, code, name string, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	require.True(t, res.IsError, "tool %s should fail with %s: %s", name, code, Text(res))
	e := Structured(t, res)
	require.Equal(t, code, e["error_code"], "tool %s: %v", name, e)
	require.NotEmpty(t, e["message"])
	return e
}

// Structured is Decode for a test.
func Structured(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	m, err := Decode(res)
	require.NoError(t, err)
	return m
}

// Eventually polls fn until it is true; the test fails after d.
func Eventually(t testing.TB, what string, d time.Duration, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fn() {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Request sends a raw HTTP request with the headers of hdr that are not
// empty and returns the response (its body closed) and up to 1 MiB of the
// body.
func Request(method, url string, body io.Reader, hdr map[string]string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, "", err
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), nil
}
