// Command vmbench measures vmservice: every operation as p50 / p95 through
// the engine (sandbox.Manager + the local backend, in process) and through
// MCP over stdio and streamable HTTP (the built binary, mcp-go's client);
// the same input, screenshot and command operations as xdotool / scrot /
// bash -c command lines on the same displays; memory; and how many busy
// desktops the machine holds. It prints a table and writes JSON.
//
//	bench/run.sh            (builds the binary and this program, then runs it)
//	vmbench --server ./vmservice --out bench/out/results.json [--scale]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/sandbox"
)

// Results is what results.json holds.
type Results struct {
	Machine     Machine   `json:"machine"`
	Command     string    `json:"command"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Ops         []Op      `json:"operations"`
	Memory      Memory    `json:"memory"`
	Scale       []*Scale  `json:"scale,omitempty"`
	PoolMetrics []string  `json:"warm_pool_metrics,omitempty"`
	Targets     []Target  `json:"targets"`
	Errors      []string  `json:"errors,omitempty"`
}

// Target is one goal of issue 6 and what was measured.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

type runner struct {
	log       zerolog.Logger
	serverBin string
	outDir    string
	runs      float64
	memory    bool
	res       *Results
}

// n scales a run count by --runs.
func (r *runner) n(base int) int { return max(5, int(float64(base)*r.runs)) }

func (r *runner) add(o Op) { r.res.Ops = append(r.res.Ops, o) }

func main() {
	var (
		serverBin = flag.String("server", "./vmservice", "the built vmservice binary (MCP measurements)")
		out       = flag.String("out", "bench/out/results.json", "where to write the JSON results (a .md table goes beside it)")
		runs      = flag.Float64("runs", 1, "multiply every run count by this (0.2 for a quick look)")
		skip      = flag.String("skip", "", "comma-separated phases to skip: engine,warm,stdio,http,memory,scale")
		doScale   = flag.Bool("scale", false, "run the scale test (minutes)")
		step      = flag.Int("scale-step", 10, "desktops added per scale step")
		start     = flag.Int("scale-start", 0, "desktops of the first scale step (default: --scale-step)")
		scaleMax  = flag.Int("scale-max", 200, "stop the scale test at this many desktops")
		scaleWin  = flag.Duration("scale-window", 10*time.Second, "measurement window per scale step")
		scaleTime = flag.Duration("scale-time", 15*time.Minute, "stop adding desktops after this long")
		scaleMix  = flag.String("scale-mix", "input,agent", "comma-separated workloads of a busy desktop, each a scale run: input (move, click, type 10 chars, key, cursor position) or agent (a PNG screenshot of a screen with text instead of the cursor query)")
		cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of this process (the engine phases and the scale test run in it)")
		rate      = flag.Float64("scale-rate", 5, "actions per second per desktop in the scale test")
	)
	flag.Parse()
	skipped := map[string]bool{}
	for _, s := range strings.Split(*skip, ",") {
		skipped[strings.TrimSpace(s)] = true
	}
	if !*doScale {
		skipped["scale"] = true
	}
	r := &runner{
		log:       zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.ErrorLevel).With().Timestamp().Logger(),
		serverBin: *serverBin, outDir: filepath.Dir(*out), runs: *runs, memory: !skipped["memory"],
		res: &Results{Machine: machine(), Command: strings.Join(os.Args, " "), Started: time.Now().UTC()},
	}
	if err := os.MkdirAll(r.outDir, 0o755); err != nil {
		fatal(err)
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if abs, err := filepath.Abs(r.serverBin); err == nil {
		r.serverBin = abs
	}
	phases := []struct {
		name string
		fn   func() error
	}{
		{"engine", r.engineOps},
		{"warm", r.engineWarm},
		{"stdio", func() error { return r.mcpOps(pathStdio) }},
		{"warm", func() error { return r.mcpWarm(pathStdio) }},
		{"http", func() error { return r.mcpOps(pathHTTP) }},
		{"warm", func() error { return r.mcpWarm(pathHTTP) }},
		{"scale", func() error {
			for _, mix := range strings.Split(*scaleMix, ",") {
				if err := r.scale(scaleOpts{start: *start, step: *step, max: *scaleMax, window: *scaleWin, budget: *scaleTime, mix: mix, rate: *rate}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, p := range phases {
		if skipped[p.name] || (p.name == "stdio" || p.name == "http") && skipped["mcp"] {
			continue
		}
		if err := p.fn(); err != nil {
			progress("phase %s failed: %v", p.name, err)
			r.res.Errors = append(r.res.Errors, p.name+": "+err.Error())
		}
	}
	r.res.Finished = time.Now().UTC()
	r.res.Machine.LoadFinish = loadavg()
	r.res.Targets = targets(r.res)
	b, _ := json.MarshalIndent(r.res, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fatal(err)
	}
	md := report(r.res)
	if err := os.WriteFile(strings.TrimSuffix(*out, filepath.Ext(*out))+".md", []byte(md), 0o644); err != nil {
		fatal(err)
	}
	fmt.Print(md)
	if len(r.res.Errors) > 0 {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "vmbench:", err)
	os.Exit(1)
}

// engineWarm measures a create served by the warm pool (the pool full
// before each create, as a server idle between requests has it).
func (r *runner) engineWarm() error {
	progress("engine with a warm pool of 1 (load %s)", loadavg())
	e, err := newEngine(r.log, 10, 1)
	if err != nil {
		return err
	}
	defer e.close()
	var last *sandbox.Sandbox
	var ds []time.Duration
	res := Op{Op: "create_sandbox (warm pool)", Path: pathEngine}
	for i := 0; i < r.n(15); i++ {
		if last != nil {
			if err := e.m.Destroy(bg, last); err != nil {
				return err
			}
			last = nil
		}
		if err := waitWarm(e.pool, 1); err != nil {
			return err
		}
		t0 := time.Now()
		sb, err := e.create(sandbox.Resolution{})
		if err != nil {
			res.Errors++
			if res.FirstErr == "" {
				res.FirstErr = err.Error()
			}
			continue
		}
		ds = append(ds, time.Since(t0))
		last = sb
	}
	res.set(summarise(ds))
	res.Load1 = load1()
	st := e.pool.Stats()
	res.Note = fmt.Sprintf("pool hits %d, misses %d", st.Hits, st.Misses)
	if st.Misses > 0 {
		return errors.New("a create missed the warm pool: " + res.Note)
	}
	progress("  %-28s %-11s p50 %8.2f ms  p95 %8.2f ms  (%d runs, %d errors) %s", res.Op, res.Path, res.P50, res.P95, res.Runs, res.Errors, res.Note)
	r.add(res)
	return nil
}
