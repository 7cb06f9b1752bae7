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
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/sandbox"
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

func testLog() zerolog.Logger {
	if os.Getenv("VMSERVICE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.New(io.Discard)
}

// newEnv is a server: a Manager over a real local backend on our slot
// range, the MCP server over a real TCP listener.
func newEnv(mods ...func(*mcpserver.Config)) (*mcptest.Server, error) {
	var cfg mcpserver.Config
	for _, m := range mods {
		m(&cfg)
	}
	return mcptest.Start(mcptest.Options{Log: testLog(), Local: localOpts, HTTP: true, Config: cfg,
		Settings: sandbox.Settings{MaxConcurrentSandboxes: 6, MaxSandboxesPerUser: 3},
		Tokens:   fmt.Sprintf("%s alice\n%s bob\n%s ops admin\n", aliceToken, bobToken, adminToken)})
}

var (
	sharedOnce sync.Once
	shared     *mcptest.Server
	sharedErr  error
	binOnce    sync.Once
	binPath    string
	binErr     error
	binDir     string
)

// server is the package's shared in-process server.
func server(t *testing.T) *mcptest.Server {
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
		if binErr == nil {
			binPath, binErr = mcptest.BuildServer(binDir)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Close()
	}
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// mcpc is a client of one principal over streamable HTTP; each call is
// bounded by 3 minutes.
type mcpc struct{ *mcptest.Client }

func connectHTTP(t *testing.T, url, token string) *mcpc {
	t.Helper()
	c := mcptest.ConnectHTTP(t, url, token, "vmservice-securitytest")
	c.Timeout = 3 * time.Minute
	return &mcpc{c}
}

// as returns m reporting to t (for subtests).
func (m *mcpc) as(t *testing.T) *mcpc { return &mcpc{m.As(t)} }

// sh runs a command in the sandbox and returns its result.
func (m *mcpc) sh(id, cmd string, timeout int) map[string]any {
	m.T.Helper()
	return m.OK("run_command", map[string]any{"sandbox_id": id, "command": cmd, "timeout": timeout})
}

var (
	structured = mcptest.Structured
	text       = mcptest.Text
	eventually = mcptest.Eventually
)

// create makes a sandbox for m, destroyed at the end of the test.
func (m *mcpc) create(args map[string]any) string {
	m.T.Helper()
	if args == nil {
		args = map[string]any{}
	}
	if _, ok := args["memory_mb"]; !ok {
		args["memory_mb"] = 1024
	}
	if _, ok := args["cpu_count"]; !ok {
		args["cpu_count"] = 1
	}
	id := m.OK("create_sandbox", args)["sandbox_id"].(string)
	m.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = m.CallCtx(ctx, "destroy_sandbox", map[string]any{"sandbox_id": id})
	})
	return id
}

// rpc posts a raw JSON-RPC body to /mcp and returns status and body.
func rpc(t *testing.T, url, token string, body io.Reader, hdr map[string]string) (int, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for k, v := range hdr {
		h[k] = v
	}
	resp, b, err := mcptest.Request("POST", url+"/mcp", body, h)
	require.NoError(t, err)
	return resp.StatusCode, b
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

// pidsCgroups lists the sandbox cgroups of our private parent in the pids
// controller.
func pidsCgroups() []string { return mcptest.CgroupsIn("pids", localOpts.CgroupParent) }

var comm = procfs.Comm

// procUID is the real uid of a host process (-1 when gone).
func procUID(pid int) int {
	st, _ := procfs.ReadStatus(pid)
	return st.UID
}
