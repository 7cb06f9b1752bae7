package main

import (
	"context"
	"encoding/base64"
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
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vmservice/vmservice/sandbox"
)

// server is the built vmservice binary with an mcp-go client connected.
type server struct {
	kind string // pathStdio | pathHTTP
	cmd  *exec.Cmd
	c    *client.Client
	url  string
	done chan struct{}
}

// startServer runs the binary with the MCP transport of kind. Logs go to
// a file under outDir.
func (r *runner) startServer(kind string, extra ...string) (*server, error) {
	logFile := filepath.Join(r.outDir, "server-"+kind+".log")
	// Every toolset: the benchmark times the desktop tools (click, ...)
	// beside computer.
	args := append([]string{"--log-level", "warn", "--log-file", logFile, "--stream-listen", "127.0.0.1:0",
		"--max-sandboxes", "40", "--toolsets", "all"}, extra...)
	// No per-principal rate limit: the benchmark sends requests back to back.
	env := []string{"VMSERVICE_RATE_LIMIT=0"}
	s := &server{kind: kind, done: make(chan struct{})}
	ctx := context.Background()
	switch kind {
	case pathStdio:
		tr := transport.NewStdioWithOptions(r.serverBin, env, args, transport.WithCommandFunc(
			func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
				cmd := exec.Command(command, args...)
				cmd.Env = append(os.Environ(), env...)
				s.cmd = cmd
				return cmd, nil
			}))
		if err := tr.Start(ctx); err != nil {
			return nil, err
		}
		s.c = client.NewClient(tr)
		go func() { _ = s.cmd.Wait(); close(s.done) }()
	case pathHTTP:
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		s.cmd = exec.Command(r.serverBin, append(args, "--transport", "http", "--listen", addr, "--allow-unauthenticated")...)
		s.cmd.Env = append(os.Environ(), env...)
		if err := s.cmd.Start(); err != nil {
			return nil, err
		}
		go func() { _ = s.cmd.Wait(); close(s.done) }()
		s.url = "http://" + addr
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(s.url + "/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			select {
			case <-s.done:
				return nil, fmt.Errorf("the server exited; see %s", logFile)
			default:
			}
			if time.Now().After(deadline) {
				s.stop()
				return nil, fmt.Errorf("the server did not answer on %s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c, err := client.NewStreamableHttpClient(s.url + "/mcp")
		if err != nil {
			s.stop()
			return nil, err
		}
		if err := c.Start(ctx); err != nil {
			s.stop()
			return nil, err
		}
		s.c = c
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "vmbench", Version: "1"}
	if _, err := s.c.Initialize(ctx, init); err != nil {
		s.stop()
		return nil, fmt.Errorf("initialize: %v (see %s)", err, logFile)
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop ends the server the way its clients do (stdin closed / SIGTERM) and
// waits for it to destroy its sandboxes.
func (s *server) stop() {
	if s.c != nil {
		_ = s.c.Close()
	}
	if s.kind == pathHTTP && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// call runs a tool; an isError result is an error.
func (s *server) call(tool string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if t, ok := c.(mcp.TextContent); ok {
				b.WriteString(t.Text)
			}
		}
		return res, fmt.Errorf("%s: %s", tool, b.String())
	}
	return res, nil
}

func (s *server) structured(tool string, args map[string]any) (map[string]any, error) {
	res, err := s.call(tool, args)
	if err != nil {
		return nil, err
	}
	m, _ := res.StructuredContent.(map[string]any)
	if m == nil {
		// Structured content may arrive as raw JSON.
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &m)
	}
	return m, nil
}

func (s *server) create(res sandbox.Resolution) (string, error) {
	args := map[string]any{}
	if !res.IsZero() {
		args["resolution"] = res.String()
	}
	m, err := s.structured("create_sandbox", args)
	if err != nil {
		return "", err
	}
	id, _ := m["sandbox_id"].(string)
	if id == "" {
		return "", fmt.Errorf("create_sandbox returned no sandbox_id")
	}
	return id, nil
}

// imageBytes decodes the image content of a result.
func imageBytes(res *mcp.CallToolResult) (int, error) {
	for _, c := range res.Content {
		if im, ok := c.(mcp.ImageContent); ok {
			b, err := base64.StdEncoding.DecodeString(im.Data)
			return len(b), err
		}
	}
	return 0, fmt.Errorf("no image in the result")
}

// mcpOps measures the tools through the built binary over one transport.
func (r *runner) mcpOps(kind string) error {
	progress("%s: the built binary, mcp-go client (load %s)", kind, loadavg())
	s, err := r.startServer(kind)
	if err != nil {
		return err
	}
	defer s.stop()
	if kind == pathStdio && r.memory {
		time.Sleep(time.Second)
		r.res.Memory.Server0 = procMem([]int{s.cmd.Process.Pid})
		progress("  server with 0 sandboxes: RSS %.1f MiB", r.res.Memory.Server0.RSS)
	}

	r.measureCreateDestroy(kind, func() (func() error, error) {
		id, err := s.create(sandbox.Resolution{})
		return func() error {
			_, err := s.call("destroy_sandbox", map[string]any{"sandbox_id": id})
			return err
		}, err
	})

	a, err := s.create(xga)
	if err != nil {
		return err
	}
	b, err := s.create(fhd)
	if err != nil {
		return err
	}
	for _, id := range []string{a, b} {
		if _, err := s.call("run_command", map[string]any{"sandbox_id": id, "command": terminalCmd, "background": true}); err != nil {
			return err
		}
	}
	time.Sleep(1500 * time.Millisecond) // the xterms draw

	r.measureOps(kind, &mcpDesk{s: s, a: a, b: b})

	if kind == pathStdio && r.memory {
		// 20 sandboxes (2 exist already).
		var ids []string
		for i := 0; i < 18; i++ {
			id, err := s.create(sandbox.Resolution{})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		time.Sleep(3 * time.Second)
		r.res.Memory.Server20 = procMem([]int{s.cmd.Process.Pid})
		r.res.Memory.Server20Children = procMem(descendants(s.cmd.Process.Pid))
		progress("  server with 20 sandboxes: RSS %.1f MiB; its sandboxes' processes: RSS %.1f MiB, PSS %.1f MiB (%d processes)",
			r.res.Memory.Server20.RSS, r.res.Memory.Server20Children.RSS, r.res.Memory.Server20Children.PSS, r.res.Memory.Server20Children.Processes)
		for _, id := range ids {
			_, _ = s.call("destroy_sandbox", map[string]any{"sandbox_id": id})
		}
	}
	return nil
}

// mcpWarm measures create_sandbox served by --warm-pool, and checks the
// pool shows in get_stats (and in /metrics over HTTP).
func (r *runner) mcpWarm(kind string) error {
	progress("%s with --warm-pool 1 (load %s)", kind, loadavg())
	s, err := r.startServer(kind, "--warm-pool", "1")
	if err != nil {
		return err
	}
	defer s.stop()
	warm := func() (int, error) {
		m, err := s.structured("get_stats", nil)
		if err != nil {
			return 0, err
		}
		wp, _ := m["warm_pool"].(map[string]any)
		if wp == nil {
			return 0, fmt.Errorf("get_stats has no warm_pool: %v", m)
		}
		n, _ := wp["warm"].(float64)
		return int(n), nil
	}
	waitReady := func() error {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			n, err := warm()
			if err != nil {
				return err
			}
			if n >= 1 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the warm pool never filled")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var last string
	o := Op{Op: "create_sandbox (warm pool)", Path: kind}
	var ds []time.Duration
	for i := 0; i < r.n(15); i++ {
		if last != "" {
			if _, err := s.call("destroy_sandbox", map[string]any{"sandbox_id": last}); err != nil {
				return err
			}
		}
		if err := waitReady(); err != nil {
			return err
		}
		t0 := time.Now()
		id, err := s.create(sandbox.Resolution{})
		if err != nil {
			o.Errors++
			if o.FirstErr == "" {
				o.FirstErr = err.Error()
			}
			continue
		}
		ds = append(ds, time.Since(t0))
		last = id
	}
	o.set(summarise(ds))
	o.Load1 = load1()
	m, err := s.structured("get_stats", nil)
	if err == nil {
		b, _ := json.Marshal(m["warm_pool"])
		o.Note = "get_stats warm_pool: " + string(b)
	}
	progress("  %-28s %-11s p50 %8.2f ms  p95 %8.2f ms  (%d runs, %d errors) %s", o.Op, o.Path, o.P50, o.P95, o.Runs, o.Errors, o.Note)
	r.add(o)
	if kind == pathHTTP {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "vmservice_warm_pool_") {
				r.res.PoolMetrics = append(r.res.PoolMetrics, l)
			}
		}
		if len(r.res.PoolMetrics) == 0 {
			return fmt.Errorf("/metrics has no vmservice_warm_pool_* gauges")
		}
	}
	return nil
}

// mcpDesk reaches the sandboxes through the tools over MCP.
type mcpDesk struct {
	s    *server
	a, b string
	// enc is the last file content written and its base64 (encoded once,
	// outside the measured call, as a client holding the bytes would).
	enc     []byte
	encoded string
}

func (d *mcpDesk) do(tool string, args map[string]any) error {
	args["sandbox_id"] = d.a
	_, err := d.s.call(tool, args)
	return err
}

// The desktop calls are the run_actions steps, one tool call each.
func (d *mcpDesk) record(f step) error {
	var c recorder
	if err := f(&c); err != nil {
		return err
	}
	args := c.steps[0]
	tool := args["action"].(string)
	delete(args, "action")
	return d.do(tool, args)
}

func (d *mcpDesk) click(p sandbox.Point, count int) error {
	return d.record(func(x desk) error { return x.click(p, count) })
}
func (d *mcpDesk) moveMouse(p sandbox.Point) error {
	return d.record(func(x desk) error { return x.moveMouse(p) })
}
func (d *mcpDesk) drag(from, to sandbox.Point) error {
	return d.record(func(x desk) error { return x.drag(from, to) })
}
func (d *mcpDesk) typeText(text string, chunk int) error {
	return d.record(func(x desk) error { return x.typeText(text, chunk) })
}
func (d *mcpDesk) pressKeys(keys ...string) error {
	return d.record(func(x desk) error { return x.pressKeys(keys...) })
}

func (d *mcpDesk) screenshot(res sandbox.Resolution, format string) error {
	id := d.a
	if res == fhd {
		id = d.b
	}
	r, err := d.s.call("screenshot", map[string]any{"sandbox_id": id, "format": format})
	if err != nil {
		return err
	}
	_, err = imageBytes(r)
	return err
}

func (d *mcpDesk) runCommand(cmd string) error {
	m, err := d.s.structured("run_command", map[string]any{"sandbox_id": d.a, "command": cmd})
	if err == nil && fmt.Sprint(m["exit_code"]) != "0" {
		err = fmt.Errorf("exit %v", m["exit_code"])
	}
	return err
}

func (d *mcpDesk) writeFile(path string, data []byte) error {
	if len(data) == 0 || len(d.enc) != len(data) || &d.enc[0] != &data[0] {
		d.enc, d.encoded = data, base64.StdEncoding.EncodeToString(data)
	}
	return d.do("write_file", map[string]any{"path": path, "content": d.encoded, "encoding": "base64"})
}

func (d *mcpDesk) readFile(path string) ([]byte, error) {
	m, err := d.s.structured("read_file", map[string]any{"sandbox_id": d.a, "path": path, "encoding": "base64"})
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(fmt.Sprint(m["content"]))
}

func (d *mcpDesk) runActions(steps []step) error {
	var c recorder
	for _, s := range steps {
		if err := s(&c); err != nil {
			return err
		}
	}
	m, err := d.s.structured("run_actions", map[string]any{"sandbox_id": d.a, "steps": c.steps})
	if err == nil && m["stopped_at"] != nil {
		err = fmt.Errorf("run_actions stopped at %v: %v", m["stopped_at"], m["results"])
	}
	return err
}
