package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/mcpserver/auth"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/local"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools"
)

func testLog(t testing.TB) zerolog.Logger {
	if os.Getenv("VMSERVICE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

type env struct {
	log     zerolog.Logger
	mgr     *sandbox.Manager
	srv     *mcpserver.Server
	streams *stream.Service
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
	p, err := local.New(local.Options{Log: log})
	require.NoError(t, err)
	if o.settings.MaxConcurrentSandboxes == 0 {
		o.settings.MaxConcurrentSandboxes = 4
	}
	mgr, err := sandbox.NewManager(p, o.settings, log)
	require.NoError(t, err)
	svc, err := stream.New(stream.Config{Listen: "127.0.0.1:0", Log: log})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = svc.ListenAndServe(ctx) }()
	mgr.OnDestroy = func(i sandbox.Info) { _ = svc.Stop(context.Background(), i.SandboxID) }
	t.Cleanup(func() {
		require.NoError(t, mgr.Close())
		cancel()
		_ = svc.Close()
	})
	tb := tools.New(tools.Options{Manager: mgr, Streams: svc, Log: log, MaxSteps: o.maxSteps})
	o.cfg.Log = log
	if o.cfg.StdioPrincipal.ID == "" {
		o.cfg.StdioPrincipal = auth.Principal{ID: "local"}
	}
	return &env{log: log, mgr: mgr, srv: mcpserver.New(o.cfg, tb), streams: svc}
}

// mcpClient is a connected client plus the output validators of its tools.
type mcpClient struct {
	t       *testing.T
	c       *client.Client
	ctx     context.Context
	schemas map[string]*jsonschema.Schema

	mu            sync.Mutex
	notifications []mcp.JSONRPCNotification
}

func connect(t *testing.T, c *client.Client, ctx context.Context) *mcpClient {
	t.Helper()
	m := &mcpClient{t: t, c: c, ctx: ctx}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		m.mu.Lock()
		m.notifications = append(m.notifications, n)
		m.mu.Unlock()
	})
	require.NoError(t, c.Start(ctx))
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "vmservice-test", Version: "1"}
	_, err := c.Initialize(ctx, init)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	m.loadSchemas()
	return m
}

func (m *mcpClient) loadSchemas() {
	res, err := m.c.ListTools(m.ctx, mcp.ListToolsRequest{})
	require.NoError(m.t, err)
	m.schemas = map[string]*jsonschema.Schema{}
	for _, tool := range res.Tools {
		b, err := json.Marshal(tool)
		require.NoError(m.t, err)
		var raw struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		require.NoError(m.t, json.Unmarshal(b, &raw))
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw.OutputSchema))
		require.NoError(m.t, err)
		c := jsonschema.NewCompiler()
		require.NoError(m.t, c.AddResource("mem:///"+tool.Name, doc))
		s, err := c.Compile("mem:///" + tool.Name)
		require.NoError(m.t, err)
		m.schemas[tool.Name] = s
	}
}

func (m *mcpClient) toolNames() []string {
	var out []string
	for n := range m.schemas {
		out = append(out, n)
	}
	return out
}

// call calls a tool and checks the result against the tool's output schema
// (success and error results alike).
func (m *mcpClient) call(name string, args map[string]any) *mcp.CallToolResult {
	m.t.Helper()
	return m.callMeta(name, args, nil)
}

func (m *mcpClient) callMeta(name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	m.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	res, err := m.c.CallTool(m.ctx, req)
	require.NoError(m.t, err, "tool %s", name)
	require.NotEmpty(m.t, res.Content, "tool %s returned no content", name)
	if s := m.schemas[name]; s != nil {
		require.NotNil(m.t, res.StructuredContent, "tool %s returned no structured content", name)
		b, _ := json.Marshal(res.StructuredContent)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(m.t, err)
		require.NoError(m.t, s.Validate(doc), "tool %s: structured content %s does not match its output schema", name, b)
	}
	return res
}

// ok calls a tool that must succeed and returns its structured content.
func (m *mcpClient) ok(name string, args map[string]any) map[string]any {
	m.t.Helper()
	res := m.call(name, args)
	require.False(m.t, res.IsError, "tool %s failed: %s", name, text(res))
	return structured(m.t, res)
}

// fails calls a tool that must fail with code and returns the error dict.
func (m *mcpClient) fails(code string, name string, args map[string]any) map[string]any {
	m.t.Helper()
	res := m.call(name, args)
	require.True(m.t, res.IsError, "tool %s should fail with %s: %s", name, code, text(res))
	e := structured(m.t, res)
	require.Equal(m.t, code, e["error_code"], "tool %s: %v", name, e)
	require.NotEmpty(m.t, e["message"])
	require.Contains(m.t, e, "details")
	require.True(m.t, strings.HasPrefix(text(res), code+": "), text(res))
	return e
}

func structured(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func text(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

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

// eventually polls fn until it returns true.
func eventually(t *testing.T, what string, d time.Duration, fn func() bool) {
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

func inProcess(t *testing.T, e *env, p auth.Principal) *mcpClient {
	t.Helper()
	c, err := client.NewInProcessClient(e.srv.MCP)
	require.NoError(t, err)
	return connect(t, c, auth.WithPrincipal(context.Background(), p))
}
