package main

import (
	"fmt"
	"sort"
	"strings"
)

// opOrder is the table's row order: creation, then the ops every path
// measures.
var opOrder = func() []string {
	names := []string{"create_sandbox (cold)", "create_sandbox (warm pool)", "destroy_sandbox"}
	for _, o := range (&runner{runs: 1}).ops() {
		names = append(names, o.name)
	}
	return names
}()

func find(res *Results, op, path string) *Op {
	for i := range res.Ops {
		if res.Ops[i].Op == op && res.Ops[i].Path == path {
			return &res.Ops[i]
		}
	}
	return nil
}

func cell(o *Op) string {
	if o == nil {
		return ""
	}
	if o.Runs == 0 {
		return fmt.Sprintf("failed (%d errors)", o.Errors)
	}
	s := fmt.Sprintf("%s / %s", num(o.P50), num(o.P95))
	if o.Errors > 0 {
		s += fmt.Sprintf(" (%d err)", o.Errors)
	}
	return s
}

// num prints milliseconds with about three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(slow, fast *Op) string {
	if slow == nil || fast == nil || slow.Runs == 0 || fast.Runs == 0 || fast.P50 <= 0 {
		return ""
	}
	if x := slow.P50 / fast.P50; x < 10 {
		return fmt.Sprintf("%.1fx", x)
	}
	return fmt.Sprintf("%.0fx", slow.P50/fast.P50)
}

func report(res *Results) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "Machine: %s, %d cores, %d MiB RAM, Linux %s, %s. Load average %s at the start, %s at the end.\n\n",
		m.CPU, m.Cores, m.MemoryMiB, m.Kernel, m.Go, m.LoadStart, m.LoadFinish)
	b.WriteString("Latency in ms, p50 / p95. Engine: sandbox.Manager + local backend in process. MCP: the built binary with mcp-go's client. " +
		"CLI: xdotool / scrot / `bash -c` exec'd per operation on the host against the sandbox's display (Anthropic's demo); " +
		"in sandbox: the same command line through run_command's path (`bash -c` in the sandbox, as the E2B Desktop SDK does); scrot timings include reading the file back.\n\n")
	b.WriteString("| operation | engine | MCP stdio | MCP HTTP | CLI on host | CLI in sandbox | CLI host / engine | CLI in sandbox / MCP stdio |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	ops := append([]string(nil), opOrder...)
	for _, o := range res.Ops { // anything not in the list goes last
		known := false
		for _, k := range ops {
			known = known || k == o.Op
		}
		if !known {
			ops = append(ops, o.Op)
		}
	}
	for _, op := range ops {
		e, s, h := find(res, op, pathEngine), find(res, op, pathStdio), find(res, op, pathHTTP)
		c, x := find(res, op, pathCLI), find(res, op, pathCLIExec)
		if e == nil && s == nil && h == nil && c == nil && x == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", op, cell(e), cell(s), cell(h), cell(c), cell(x), ratio(c, e), ratio(x, s))
	}

	mem := res.Memory
	if mem.IdleSandbox != nil || mem.Server0 != nil {
		b.WriteString("\nMemory (MiB; RSS counts shared pages once per process, PSS shares them out):\n\n| what | RSS | PSS | processes |\n|---|---|---|---|\n")
		row := func(name string, p *ProcSet) {
			if p != nil {
				fmt.Fprintf(&b, "| %s | %.1f | %.1f | %d |\n", name, p.RSS, p.PSS, p.Processes)
			}
		}
		if p := mem.IdleSandbox; p != nil {
			row(fmt.Sprintf("one idle sandbox (median of %d): %s", mem.IdleSandboxes, byName(p)), p)
		}
		row("server, 0 sandboxes", mem.Server0)
		row("server, 20 sandboxes", mem.Server20)
		if p := mem.Server20Children; p != nil {
			row("the 20 sandboxes' processes", p)
			fmt.Fprintf(&b, "| per sandbox at 20 | %.1f | %.1f | %d |\n", p.RSS/20, p.PSS/20, p.Processes/20)
		}
	}

	for _, sc := range res.Scale {
		fmt.Fprintf(&b, "\nScale, %s workload: desktops added %s at a time, each driven at %.0f actions/s (%s), %.0f s window per step; "+
			"a step passes with p99 < %.0f ms, no error and >= 95%% of the target rate.\n\n",
			sc.Mix, stepOf(sc), sc.Rate, strings.Join(sc.Actions, ", "), sc.WindowSec, sc.P99LimitMS)
		b.WriteString("| desktops | actions/s (target) | p50 | p95 | p99 | max | errors | load1 | MemAvailable MiB | |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, st := range sc.Steps {
			fmt.Fprintf(&b, "| %d | %.0f (%.0f) | %s | %s | %s | %s | %d | %.1f | %d | %s |\n", st.Desktops, st.AchievedRate, st.TargetRate,
				num(st.P50), num(st.P95), num(st.P99), num(st.Max), st.Errors, st.Load1, st.MemAvailMiB, okText(st.OK))
		}
		fmt.Fprintf(&b, "\nMost desktops within the limits: **%d** (stopped: %s).\n", sc.MaxOK, sc.Stopped)
	}

	if len(res.Targets) > 0 {
		b.WriteString("\nTargets (issue 6):\n\n| target | goal | measured | |\n|---|---|---|---|\n")
		for _, t := range res.Targets {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Goal, t.Measured, map[bool]string{true: "met", false: "**missed**"}[t.Met])
		}
	}
	if len(res.Errors) > 0 {
		b.WriteString("\nErrors:\n")
		for _, e := range res.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}

func stepOf(sc *Scale) string {
	if len(sc.Steps) > 0 {
		return fmt.Sprint(sc.Steps[0].Desktops)
	}
	return "?"
}

func byName(p *ProcSet) string {
	var names []string
	for n := range p.ByName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return p.ByName[names[i]] > p.ByName[names[j]] })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, float64(p.ByName[n])/1024))
	}
	return strings.Join(parts, ", ")
}

// targets checks the goals of issue 6 against the results.
func targets(res *Results) []Target {
	var ts []Target
	worst := func(path string, ops ...string) (float64, string, bool) {
		w, name, ok := 0.0, "", false
		for _, op := range ops {
			if o := find(res, op, path); o != nil && o.Runs > 0 {
				if o.P50 >= w {
					w, name = o.P50, op
				}
				ok = true
			}
		}
		return w, name, ok
	}
	p50 := func(tname, goal string, limit float64, path string, ops ...string) {
		if w, name, ok := worst(path, ops...); ok {
			ts = append(ts, Target{Name: tname, Goal: goal, Measured: fmt.Sprintf("%s ms (%s)", num(w), name), Met: w <= limit})
		}
	}
	input := []string{"click", "move_mouse", "press_key"}
	p50("input p50, engine", "<= 1 ms", 1, pathEngine, input...)
	p50("input p50, MCP stdio", "<= 3 ms", 3, pathStdio, input...)
	p50("screenshot 1024x768 p50, engine", "<= 25 ms", 25, pathEngine, "screenshot 1024x768 PNG")
	p50("screenshot 1024x768 p50, MCP stdio", "<= 25 ms", 25, pathStdio, "screenshot 1024x768 PNG")
	for _, path := range []string{pathEngine, pathStdio, pathHTTP} {
		p50("warm-pool create p50, "+path, "<= 100 ms", 100, path, "create_sandbox (warm pool)")
	}
	for _, path := range []string{pathEngine, pathStdio, pathHTTP} {
		p50("cold create p50, "+path, "<= 600 ms", 600, path, "create_sandbox (cold)")
	}
	if p := res.Memory.IdleSandbox; p != nil {
		ts = append(ts, Target{Name: "idle sandbox memory", Goal: "<= 60 MiB",
			Measured: fmt.Sprintf("RSS %.1f MiB (PSS %.1f MiB)", p.RSS, p.PSS), Met: p.RSS <= 60})
	}
	for _, sc := range res.Scale {
		ts = append(ts, Target{Name: "concurrent active desktops, " + sc.Mix + " workload", Goal: fmt.Sprintf(">= 40 at %.0f actions/s, p99 < 50 ms", sc.Rate),
			Measured: fmt.Sprintf("%d", sc.MaxOK), Met: sc.MaxOK >= 40})
	}
	return ts
}
