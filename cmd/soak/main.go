// Command soak runs vmservice under load and faults for a bounded time and
// reports what happened: several principals drive many sandboxes over
// streamable HTTP with random tool calls (and cross-tenant attempts), while
// a fault injector kills X servers, window managers and agents, destroys
// sandboxes in use, shortens their lifetimes and cuts clients off mid-call.
// At the end the server shuts down and every process, cgroup, directory,
// mount and X lock of its private slot range is counted: all must be 0.
//
// It runs the real server in-process (the local backend needs root) on a
// slot range of its own, so other servers on the machine do not count:
//
//	go build -o /tmp/soak ./cmd/soak && /tmp/soak --duration 60s
//
// Exit status: 0 when nothing leaked and no isolation check failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/sandbox"
)

type options struct {
	duration     time.Duration
	principals   int
	workers      int
	perPrincipal int
	maxSandboxes int
	faultEvery   time.Duration
	seed         uint64
	verbose      bool
}

// The soak's own slot range (see local.Options).
var slotOpts = local.Options{StateDir: "/run/vmservice-soak", LockDir: "/run/vmservice-soak-slots",
	UIDBase: 330000, DisplayBase: 6300, MaxSlots: 16, CgroupParent: "vmservice-soak"}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to run the load")
	flag.IntVar(&o.principals, "principals", 3, "principals (tokens), each with its own client")
	flag.IntVar(&o.workers, "workers", 2, "concurrent callers per principal")
	flag.IntVar(&o.perPrincipal, "sandboxes-per-principal", 2, "sandboxes each principal keeps")
	flag.IntVar(&o.maxSandboxes, "max-sandboxes", 6, "server-wide sandbox limit")
	flag.DurationVar(&o.faultEvery, "fault-every", 4*time.Second, "mean time between injected faults (0 = none)")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.BoolVar(&o.verbose, "v", false, "log the server at info level to stderr and print a sample message per error")
	flag.Parse()
	if o.principals < 1 || o.workers < 1 || o.perPrincipal < 1 || o.maxSandboxes < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "soak: every count must be >= 1 and the duration > 0")
		os.Exit(2)
	}
	os.Exit(run(o))
}

// stats counts what the soak did.
type stats struct {
	mu         sync.Mutex
	ops        map[string]int
	errs       map[string]int
	errsByTool map[string]int
	samples    map[string]string // one message per code/tool
	faults     map[string]int
	breaches   []string
	total      atomic.Int64
}

func (s *stats) op(tool, code, msg string) {
	s.total.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[tool]++
	if code != "" {
		s.errs[code]++
		s.errsByTool[code+"/"+tool]++
		if _, ok := s.samples[code+"/"+tool]; !ok && msg != "" {
			s.samples[code+"/"+tool] = msg
		}
	}
}

func (s *stats) fault(kind string) {
	s.mu.Lock()
	s.faults[kind]++
	s.mu.Unlock()
}

func (s *stats) breach(format string, a ...any) {
	s.mu.Lock()
	s.breaches = append(s.breaches, fmt.Sprintf(format, a...))
	s.mu.Unlock()
}

func token(i int) string { return fmt.Sprintf("soak-principal-%02d-token-0123456789", i) }

func run(o options) int {
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.ErrorLevel).With().Timestamp().Logger()
	if o.verbose {
		log = log.Level(zerolog.InfoLevel)
	}
	var tokens strings.Builder
	for i := 0; i < o.principals; i++ {
		fmt.Fprintf(&tokens, "%s p%d\n", token(i), i)
	}
	fmt.Fprintf(&tokens, "soak-admin-token-0123456789abc ops admin\n")
	srv, err := mcptest.Start(mcptest.Options{Log: log, Local: slotOpts, Tokens: tokens.String(), HTTP: true,
		Settings:        sandbox.Settings{MaxConcurrentSandboxes: o.maxSandboxes, MaxSandboxesPerUser: o.perPrincipal + 1},
		ShutdownTimeout: 30 * time.Second})
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: starting the server: %v\n", sandbox.AsError(err).Message)
		return 2
	}
	fmt.Printf("soak: %s, %d principals x %d workers, %d sandboxes each (server limit %d), a fault every ~%s, seed %d\n",
		o.duration, o.principals, o.workers, o.perPrincipal, o.maxSandboxes, o.faultEvery, o.seed)

	st := &stats{ops: map[string]int{}, errs: map[string]int{}, errsByTool: map[string]int{}, samples: map[string]string{}, faults: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	reg := &registry{owned: map[int][]string{}}
	var wg sync.WaitGroup
	start := time.Now()
	for p := 0; p < o.principals; p++ {
		c, err := dial(srv.URL, token(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: client p%d: %v\n", p, err)
			return 2
		}
		defer c.Close()
		for w := 0; w < o.workers; w++ {
			wg.Add(1)
			rng := rand.New(rand.NewPCG(o.seed, uint64(p*100+w)))
			go func() {
				defer wg.Done()
				(&worker{p: p, c: c, rng: rng, st: st, reg: reg, o: o}).loop(ctx)
			}()
		}
	}
	if o.faultEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			faults(ctx, srv, st, rand.New(rand.NewPCG(o.seed, 999)), o.faultEvery)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	live := len(srv.Manager.List(""))
	_ = srv.Close()
	leaks, procs := mcptest.Leaks(slotOpts)
	for _, p := range procs {
		fmt.Fprintln(os.Stderr, "leaked "+p)
	}

	fmt.Printf("\noperations: %d in %s (%.1f/s), %d sandboxes live at the end\n", st.total.Load(), elapsed.Round(time.Second),
		float64(st.total.Load())/elapsed.Seconds(), live)
	printMap("by tool", st.ops)
	printMap("errors by code", st.errs)
	printMap("errors by code/tool", st.errsByTool)
	if o.verbose {
		keys := make([]string, 0, len(st.samples))
		for k := range st.samples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("  e.g. %s: %s\n", k, st.samples[k])
		}
	}
	printMap("faults injected (and broken sandboxes replaced)", st.faults)
	printMap("leaked after shutdown", leaks)
	n := 0
	for _, v := range leaks {
		n += v
	}
	fmt.Printf("leaked total: %d\n", n)
	if len(st.breaches) > 0 {
		fmt.Printf("ISOLATION BREACHES: %d\n", len(st.breaches))
		for _, b := range st.breaches {
			fmt.Println("  " + b)
		}
	}
	if n > 0 || len(st.breaches) > 0 {
		return 1
	}
	return 0
}

func printMap(title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Printf("%s: %s\n", title, strings.Join(parts, " "))
}

func dial(url, tok string) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return mcptest.DialHTTP(ctx, url, tok, "vmservice-soak")
}

// registry knows which sandboxes each principal believes it has (for
// choosing targets and for cross-tenant attempts).
type registry struct {
	mu    sync.Mutex
	owned map[int][]string
}

func (r *registry) add(p int, id string) {
	r.mu.Lock()
	r.owned[p] = append(r.owned[p], id)
	r.mu.Unlock()
}

func (r *registry) drop(p int, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.owned[p]
	for i, x := range ids {
		if x == id {
			r.owned[p] = append(ids[:i:i], ids[i+1:]...)
			return
		}
	}
}

func (r *registry) pick(p int, rng *rand.Rand) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.owned[p]
	if len(ids) == 0 {
		return "", 0
	}
	return ids[rng.IntN(len(ids))], len(ids)
}

// foreign picks a sandbox of another principal.
func (r *registry) foreign(p int, rng *rand.Rand) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	for q, ids := range r.owned {
		if q != p {
			all = append(all, ids...)
		}
	}
	if len(all) == 0 {
		return ""
	}
	return all[rng.IntN(len(all))]
}

type worker struct {
	p   int
	c   *client.Client
	rng *rand.Rand
	st  *stats
	reg *registry
	o   options
}

// call makes one tool call and records it; the error code is "" on
// success, TRANSPORT for a failed request, CANCELLED for one cut off on
// purpose.
func (w *worker) call(ctx context.Context, tool string, args map[string]any, timeout time.Duration) (map[string]any, string) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := mcptest.CallTool(cctx, w.c, tool, args, nil)
	if err != nil {
		code := "TRANSPORT"
		if errors.Is(cctx.Err(), context.DeadlineExceeded) || ctx.Err() != nil {
			code = "CANCELLED"
		}
		if ctx.Err() == nil {
			w.st.op(tool, code, "")
		}
		return nil, code
	}
	m, _ := mcptest.Decode(res)
	code, msg := mcptest.ErrorOf(res, m)
	if res.IsError && code == "" {
		code = "UNKNOWN"
	}
	w.st.op(tool, code, msg)
	return m, code
}

func (w *worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		id, n := w.reg.pick(w.p, w.rng)
		if n < w.o.perPrincipal && w.rng.IntN(3) == 0 || id == "" {
			m, code := w.call(ctx, "create_sandbox", map[string]any{"memory_mb": 512, "cpu_count": 1,
				"timeout_seconds": 30 + w.rng.IntN(90)}, 90*time.Second)
			if code == "" {
				w.reg.add(w.p, m["sandbox_id"].(string))
			} else if code == "QUOTA_EXCEEDED" {
				// Creations cut off by a client timeout still happened:
				// learn what this principal really has.
				w.resync(ctx)
				sleep(ctx, time.Duration(200+w.rng.IntN(800))*time.Millisecond)
			}
			continue
		}
		w.step(ctx, id)
	}
}

// resync replaces the registry's view of this principal with the server's.
func (w *worker) resync(ctx context.Context) {
	m, code := w.call(ctx, "list_sandboxes", map[string]any{}, 30*time.Second)
	if code != "" {
		return
	}
	var ids []string
	list, _ := m["sandboxes"].([]any)
	for _, s := range list {
		if info, ok := s.(map[string]any); ok {
			if id, ok := info["sandbox_id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	w.reg.mu.Lock()
	w.reg.owned[w.p] = ids
	w.reg.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// step makes one random call on sandbox id.
func (w *worker) step(ctx context.Context, id string) {
	r := w.rng
	x, y := r.IntN(1024), r.IntN(768)
	sid := map[string]any{"sandbox_id": id}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"sandbox_id": id}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	var code string
	switch k := r.IntN(20); k {
	case 0, 1:
		cmds := []string{"echo hi", "ls -la ~ /tmp | wc -l", "seq 1 100000 | tail -1", "head -c 3000000 /dev/zero | tr '\\0' x",
			"for i in 1 2 3; do date; sleep 0.1; done", "sleep 5", "cat /nonexistent", "xdpyinfo | head -3", "sleep 1000 & echo bg"}
		_, code = w.call(ctx, "run_command", with("command", cmds[r.IntN(len(cmds))], "timeout", 1+r.IntN(4)), 60*time.Second)
	case 2:
		_, code = w.call(ctx, "write_file", with("path", "soak/f"+strconv.Itoa(r.IntN(5)), "content", strings.Repeat("z", r.IntN(200000))), 60*time.Second)
	case 3:
		_, code = w.call(ctx, "read_file", with("path", "soak/f"+strconv.Itoa(r.IntN(5))), 60*time.Second)
	case 4:
		_, code = w.call(ctx, "list_files", with("path", []string{"/home/user", "/tmp", "/", "soak"}[r.IntN(4)]), 60*time.Second)
	case 5, 6:
		args := with("format", []string{"png", "jpeg"}[r.IntN(2)])
		if r.IntN(2) == 0 {
			args["scale_to"] = "640x480"
		}
		_, code = w.call(ctx, "screenshot", args, 60*time.Second)
	case 7:
		_, code = w.call(ctx, "click", with("x", x, "y", y, "button", []string{"left", "right", "middle"}[r.IntN(3)]), 60*time.Second)
	case 8:
		_, code = w.call(ctx, "type_text", with("text", "soak "+strconv.Itoa(r.IntN(1000)), "delay_ms", 0), 60*time.Second)
	case 9:
		_, code = w.call(ctx, "press_key", with("key", []string{"enter", "esc", "ctrl+a", "F5", "Return"}[r.IntN(5)]), 60*time.Second)
	case 10:
		_, code = w.call(ctx, "run_actions", with("screenshot_after", r.IntN(2) == 0, "steps", []any{
			map[string]any{"action": "move_mouse", "x": x, "y": y},
			map[string]any{"action": "wait", "seconds": 0.1},
			map[string]any{"action": "get_cursor_position"}}), 60*time.Second)
	case 11:
		_, code = w.call(ctx, "computer", with("action", []string{"screenshot", "mouse_move", "cursor_position", "left_click"}[r.IntN(4)],
			"coordinate", []int{x, y}, "screenshot_after", false), 60*time.Second)
	case 12:
		if r.IntN(2) == 0 {
			var m map[string]any
			m, code = w.call(ctx, "start_stream", sid, 60*time.Second)
			if code == "" && r.IntN(2) == 0 {
				if err := mcptest.View(ctx, m["stream_url"].(string)); err != nil {
					w.st.op("stream_viewer", "VIEWER_FAILED", err.Error())
				} else {
					w.st.op("stream_viewer", "", "")
				}
			}
		} else {
			_, code = w.call(ctx, "stop_stream", sid, 60*time.Second)
		}
	case 13:
		_, code = w.call(ctx, "get_sandbox_info", sid, 30*time.Second)
	case 14:
		_, code = w.call(ctx, []string{"list_sandboxes", "get_stats"}[r.IntN(2)], map[string]any{}, 30*time.Second)
	case 15:
		_, code = w.call(ctx, "set_sandbox_timeout", with("timeout_seconds", 20+r.IntN(100)), 30*time.Second)
	case 16:
		_, code = w.call(ctx, "destroy_sandbox", sid, 60*time.Second)
		w.reg.drop(w.p, id)
	case 17:
		// A client that goes away mid-call: the command must die with it.
		_, code = w.call(ctx, "run_command", with("command", "sleep 30", "timeout", 60), time.Duration(100+r.IntN(900))*time.Millisecond)
	case 18, 19:
		// Cross-tenant: another principal's sandbox must be NOT_FOUND.
		other := w.reg.foreign(w.p, r)
		if other == "" {
			return
		}
		tool := []string{"get_sandbox_info", "run_command", "read_file", "screenshot", "destroy_sandbox"}[r.IntN(5)]
		args := map[string]any{"sandbox_id": other, "command": "id", "path": "/etc/hostname"}
		switch tool {
		case "get_sandbox_info", "screenshot", "destroy_sandbox":
			args = map[string]any{"sandbox_id": other}
		case "read_file":
			delete(args, "command")
		default:
			delete(args, "path")
		}
		_, c := w.call(ctx, tool, args, 30*time.Second)
		if c == "" {
			w.st.breach("p%d's %s on another principal's sandbox %s succeeded", w.p, tool, other)
		}
		return
	}
	switch code {
	case "SANDBOX_NOT_FOUND":
		w.reg.drop(w.p, id) // expired, destroyed by a fault or by a sibling worker
	case "BACKEND_UNAVAILABLE":
		// What an agent should do: ask, and replace a broken sandbox.
		if m, c := w.call(ctx, "get_sandbox_info", sid, 30*time.Second); c == "" && m["state"] == "broken" {
			w.st.fault("broken_replaced")
			w.call(ctx, "destroy_sandbox", sid, 60*time.Second)
			w.reg.drop(w.p, id)
		}
	}
}

// faults injects a random fault about every `every`.
func faults(ctx context.Context, srv *mcptest.Server, st *stats, r *rand.Rand, every time.Duration) {
	for {
		sleep(ctx, time.Duration(r.Int64N(int64(2*every))))
		if ctx.Err() != nil {
			return
		}
		cgs := mcptest.CgroupsIn("pids", slotOpts.CgroupParent)
		switch k := r.IntN(5); {
		case k <= 2 && len(cgs) > 0:
			// Kill one process of a random sandbox: its X server, its window
			// manager, or its agent (the sandbox's control channel).
			target := []string{"Xvfb", "openbox", "agent"}[k]
			for _, pid := range mcptest.CgroupPids(cgs[r.IntN(len(cgs))]) {
				if procfs.Comm(pid) == target {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						st.fault("kill_" + target)
					}
					break
				}
			}
		case k == 3:
			// An administrator destroys a sandbox while its owner uses it.
			if l := srv.Manager.List(""); len(l) > 0 {
				if sb, err := srv.Manager.GetAny(l[r.IntN(len(l))].SandboxID); err == nil {
					_ = srv.Manager.Destroy(context.Background(), sb)
					st.fault("destroy_in_use")
				}
			}
		case k == 4:
			// A lifetime cut short: the expiry timer destroys it.
			if l := srv.Manager.List(""); len(l) > 0 {
				if sb, err := srv.Manager.GetAny(l[r.IntN(len(l))].SandboxID); err == nil {
					if _, err := srv.Manager.SetTimeout(context.Background(), sb, sandbox.MinTimeout); err == nil {
						st.fault("expire_soon")
					}
				}
			}
		}
	}
}
