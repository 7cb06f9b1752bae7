package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools/toolkit"
)

func testLog(t testing.TB) zerolog.Logger {
	if os.Getenv("VMSERVICE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

type env struct {
	log        zerolog.Logger
	mgr        *sandbox.Manager
	srv        *mcpserver.Server
	streams    *stream.Service
	recordings *recording.Service
}

type envOpts struct {
	settings sandbox.Settings
	cfg      mcpserver.Config
	maxSteps int
}

// newEnv builds a server over a real local backend; everything is destroyed
// at the end of the test.
func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	log := testLog(t)
	if o.settings.MaxConcurrentSandboxes == 0 {
		o.settings.MaxConcurrentSandboxes = 4
	}
	s, err := mcptest.Start(mcptest.Options{Log: log, Settings: o.settings, Config: o.cfg, MaxSteps: o.maxSteps})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return &env{log: log, mgr: s.Manager, srv: s.MCP, streams: s.Streams, recordings: s.Recordings}
}

// mcpClient is a connected client whose every result is checked against
// its tool's output schema, plus the notifications it got.
type mcpClient struct {
	*mcptest.Client
	schemas map[string]*jsonschema.Schema
	names   []string

	mu            sync.Mutex
	notifications []mcp.JSONRPCNotification
}

func connect(t *testing.T, c *client.Client, ctx context.Context) *mcpClient {
	t.Helper()
	m := &mcpClient{}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		m.mu.Lock()
		m.notifications = append(m.notifications, n)
		m.mu.Unlock()
	})
	m.Client = mcptest.Connect(t, ctx, c, "vmservice-test")
	m.loadSchemas()
	m.Check = m.checkResult
	return m
}

func (m *mcpClient) loadSchemas() {
	res, err := m.C.ListTools(m.Ctx, mcp.ListToolsRequest{})
	require.NoError(m.T, err)
	m.schemas = map[string]*jsonschema.Schema{}
	m.names = nil
	for _, tool := range res.Tools {
		m.names = append(m.names, tool.Name)
		b, err := json.Marshal(tool)
		require.NoError(m.T, err)
		var raw struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		require.NoError(m.T, json.Unmarshal(b, &raw))
		if len(raw.OutputSchema) == 0 {
			continue // a tool that only says ok
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw.OutputSchema))
		require.NoError(m.T, err)
		c := jsonschema.NewCompiler()
		require.NoError(m.T, c.AddResource("mem:///"+tool.Name, doc))
		s, err := c.Compile("mem:///" + tool.Name)
		require.NoError(m.T, err)
		m.schemas[tool.Name] = s
	}
}

func (m *mcpClient) toolNames() []string { return m.names }

// checkResult checks a result (success or error) against the tool's
// output schema.
func (m *mcpClient) checkResult(t testing.TB, name string, res *mcp.CallToolResult) {
	t.Helper()
	require.NotEmpty(t, res.Content, "tool %s returned no content", name)
	if res.IsError {
		// The one error shape (the server's instructions say it).
		e, ok := res.StructuredContent.(map[string]any)
		require.True(t, ok, "tool %s: error without structured content", name)
		assert.Contains(t, toolkit.ErrorCodes, sandbox.Code(fmt.Sprint(e["error_code"])), "tool %s: error %v", name, e)
		assert.IsType(t, "", e["message"], "tool %s: error %v", name, e)
		assert.IsType(t, map[string]any{}, e["details"], "tool %s: error %v", name, e)
	}
	if s := m.schemas[name]; s != nil {
		require.NotNil(t, res.StructuredContent, "tool %s returned no structured content", name)
		b, _ := json.Marshal(res.StructuredContent)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		require.NoError(t, s.Validate(doc), "tool %s: structured content %s does not match its output schema", name, b)
	}
}

// fails calls a tool that must fail with code and returns the error dict,
// which has the project's shape.
func (m *mcpClient) fails(code string, name string, args map[string]any) map[string]any {
	m.T.Helper()
	res := m.Call(name, args)
	e := mcptest.RequireError(m.T, code, name, res)
	require.Contains(m.T, e, "details")
	require.True(m.T, strings.HasPrefix(text(res), code+": "), text(res))
	return e
}

var (
	structured = mcptest.Structured
	text       = mcptest.Text
	eventually = mcptest.Eventually
)

// images decodes every image block of a result.
func images(t *testing.T, res *mcp.CallToolResult) []image.Image {
	t.Helper()
	var out []image.Image
	for _, c := range res.Content {
		ic, ok := c.(mcp.ImageContent)
		if !ok {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(ic.Data)
		require.NoError(t, err)
		img, format, err := image.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		require.Equal(t, ic.MIMEType, "image/"+format)
		out = append(out, img)
	}
	return out
}

func inProcess(t *testing.T, e *env, p auth.Principal) *mcpClient {
	t.Helper()
	c, err := client.NewInProcessClient(e.srv.MCP)
	require.NoError(t, err)
	return connect(t, c, auth.WithPrincipal(context.Background(), p))
}
