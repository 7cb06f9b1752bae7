// Package securitytest attacks vmservice the way a hostile tenant, a hostile
// program inside a sandbox or a hostile network client would, and checks
// that every attempt fails cleanly. Everything is real: local sandboxes
// (bubblewrap + Xvfb + cgroups), the MCP server over real HTTP, and the
// built binary for the signal tests. See ../SECURITY.md for the threat
// model these tests back up.
package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/mcpserver/auth"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/local"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools"
)

// The in-process server uses a slot range of its own (uids, displays, lock
// and state directories, cgroup parent), shared by every run of these tests
// but by nothing else, so what the tests count as leaked is theirs alone.
var localOpts = local.Options{
	StateDir:     "/run/vmservice-sectest",
	LockDir:      "/run/vmservice-sectest-slots",
	UIDBase:      310000,
	DisplayBase:  6100,
	MaxSlots:     16,
	CgroupParent: "vmservice-sectest",
}

const (
	aliceToken = "alice-sectest-token-0123456789"
	bobToken   = "bob-sectest-token-0123456789ab"
	adminToken = "admin-sectest-token-0123456789"
)

// env is one server: a Manager over a real local backend, the MCP server
// over a real TCP listener.
type env struct {
	mgr      *sandbox.Manager
	provider *local.Provider
	srv      *mcpserver.Server
	httpSrv  *http.Server
	url      string
	close    func()
}

func testLog() zerolog.Logger {
	if os.Getenv("VMSERVICE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.New(io.Discard)
}

func newEnv(mods ...func(*mcpserver.Config)) (*env, error) {
	log := testLog()
	o := localOpts
	o.Log = log
	p, err := local.New(o)
	if err != nil {
		return nil, err
	}
	mgr, err := sandbox.NewManager(p, sandbox.Settings{MaxConcurrentSandboxes: 6, MaxSandboxesPerUser: 3}, log)
	if err != nil {
		return nil, err
	}
	svc, err := stream.New(stream.Config{Listen: "127.0.0.1:0", Log: log})
	if err != nil {
		return nil, err
	}
	mgr.OnDestroy = func(i sandbox.Info) { _ = svc.Stop(context.Background(), i.SandboxID) }
	tb := tools.New(tools.Options{Manager: mgr, Streams: svc, Log: log})
	tokens, err := auth.ParseTokens(strings.NewReader(fmt.Sprintf("%s alice\n%s bob\n%s ops admin\n", aliceToken, bobToken, adminToken)))
	if err != nil {
		return nil, err
	}
	mcfg := mcpserver.Config{Tokens: tokens, StdioPrincipal: auth.Principal{ID: "local"}, Log: log}
	for _, m := range mods {
		m(&mcfg)
	}
	srv := mcpserver.New(mcfg, tb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = svc.ListenAndServe(ctx) }()
	h := srv.NewHTTP()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	e := &env{mgr: mgr, provider: p, srv: srv, httpSrv: hs, url: "http://" + ln.Addr().String()}
	e.close = func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		h.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
		_ = mgr.Close()
		cancel()
		_ = svc.Close()
	}
	return e, nil
}

var (
	sharedOnce sync.Once
	shared     *env
	sharedErr  error
	binOnce    sync.Once
	binPath    string
	binErr     error
	binDir     string
)

// server is the package's shared in-process server.
func server(t *testing.T) *env {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newEnv() })
	require.NoError(t, sharedErr)
	return shared
}

// binary builds the vmservice binary once.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "vmservice-sectest-bin")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "vmservice")
		cmd := exec.Command("go", "build", "-o", binPath, "..")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		binErr = cmd.Run()
	})
	require.NoError(t, binErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// mcpc is a client of one principal over streamable HTTP.
type mcpc struct {
	t   *testing.T
	c   *client.Client
	ctx context.Context
}

func connectHTTP(t *testing.T, url, token string) *mcpc {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Start(ctx))
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "vmservice-securitytest", Version: "1"}
	_, err = c.Initialize(ctx, init)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &mcpc{t: t, c: c, ctx: ctx}
}

// as returns m reporting to t (for subtests).
func (m *mcpc) as(t *testing.T) *mcpc { c := *m; c.t = t; return &c }

func (m *mcpc) callCtx(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return m.c.CallTool(ctx, req)
}

func (m *mcpc) call(name string, args map[string]any) *mcp.CallToolResult {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(m.ctx, 3*time.Minute)
	defer cancel()
	res, err := m.callCtx(ctx, name, args)
	require.NoError(m.t, err, "tool %s", name)
	return res
}

// ok calls a tool that must succeed.
func (m *mcpc) ok(name string, args map[string]any) map[string]any {
	m.t.Helper()
	res := m.call(name, args)
	require.False(m.t, res.IsError, "%s failed: %s", name, text(res))
	return structured(m.t, res)
}

// fails calls a tool that must fail with code; it returns the error dict.
func (m *mcpc) fails(code, name string, args map[string]any) map[string]any {
	m.t.Helper()
	res := m.call(name, args)
	require.True(m.t, res.IsError, "%s should fail with %s, got %s", name, code, text(res))
	e := structured(m.t, res)
	require.Equal(m.t, code, e["error_code"], "%s: %v", name, e)
	require.NotEmpty(m.t, e["message"])
	return e
}

// sh runs a command in the sandbox and returns its result.
func (m *mcpc) sh(id, cmd string, timeout int) map[string]any {
	m.t.Helper()
	return m.ok("run_command", map[string]any{"sandbox_id": id, "command": cmd, "timeout": timeout})
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
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// create makes a sandbox for m, destroyed at the end of the test.
func (m *mcpc) create(args map[string]any) string {
	m.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	if _, ok := args["memory_mb"]; !ok {
		args["memory_mb"] = 1024
	}
	if _, ok := args["cpu_count"]; !ok {
		args["cpu_count"] = 1
	}
	id := m.ok("create_sandbox", args)["sandbox_id"].(string)
	m.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = m.callCtx(ctx, "destroy_sandbox", map[string]any{"sandbox_id": id})
	})
	return id
}

// rpc posts a raw JSON-RPC body to /mcp and returns status and body.
func rpc(t *testing.T, url, token string, body io.Reader, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/mcp", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func rpcString(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	return rpc(t, url, token, bytes.NewBufferString(body), nil)
}

// modernHdr marks a raw request as protocol 2026-07-28 (stateless).
var modernHdr = map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728}

// modern is a raw 2026-07-28 request: method and params (the protocol
// version is added to params._meta).
func modern(t *testing.T, url, token, method string, id any, params map[string]any) (int, string) {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = map[string]any{mcp.MetaKeyProtocolVersion: mcp.ProtocolVersion20260728,
		mcp.MetaKeyClientCapabilities: map[string]any{}, mcp.MetaKeyClientInfo: map[string]any{"name": "raw", "version": "1"}}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	require.NoError(t, err)
	hdr := map[string]string{mcp.HeaderMethod: method}
	for k, v := range modernHdr {
		hdr[k] = v
	}
	if n, ok := params["name"].(string); ok {
		hdr[mcp.HeaderName] = n
	}
	return rpc(t, url, token, bytes.NewReader(b), hdr)
}

// alive checks the server answers a trivial authenticated request.
func alive(t *testing.T, url string) {
	t.Helper()
	status, body := modern(t, url, aliceToken, "tools/list", 99, nil)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"result"`)
}

// cgroupsUnder lists the sandbox cgroups of our private parent.
func cgroupsUnder(parent string) []string {
	var out []string
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		des, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup", ctrl, parent))
		for _, de := range des {
			if de.IsDir() {
				out = append(out, filepath.Join("/sys/fs/cgroup", ctrl, parent, de.Name()))
			}
		}
	}
	return out
}

// cgroupPids lists the processes of a v1 sandbox cgroup (pids controller),
// its child groups included.
func cgroupPids(parent, name string) []int {
	var out []int
	_ = filepath.WalkDir(filepath.Join("/sys/fs/cgroup/pids", parent, name), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return nil
	})
	return out
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// eventually polls fn until it is true or d passes.
func eventually(t *testing.T, what string, d time.Duration, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fn() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// procUID is the real uid of a host process (-1 when gone).
func procUID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}
