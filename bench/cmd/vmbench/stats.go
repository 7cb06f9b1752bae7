package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmservice/vmservice/internal/procfs"
)

// Paths an operation is measured through.
const (
	pathEngine  = "engine"      // sandbox.Manager + local backend, in process
	pathStdio   = "mcp-stdio"   // the built binary, mcp-go client over stdio
	pathHTTP    = "mcp-http"    // the built binary, mcp-go client over streamable HTTP
	pathCLI     = "cli"         // xdotool / scrot / bash -c exec'd per op on the host, on the sandbox's display
	pathCLIExec = "cli-sandbox" // the same command lines run inside the sandbox (bash -c through the command path), as the E2B Desktop SDK does
)

var pathOrder = []string{pathEngine, pathStdio, pathHTTP, pathCLI, pathCLIExec}

// Op is one operation's latency distribution on one path.
type Op struct {
	Op       string  `json:"op"`
	Path     string  `json:"path"`
	Runs     int     `json:"runs"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Mean     float64 `json:"mean_ms"`
	Max      float64 `json:"max_ms"`
	Errors   int     `json:"errors"`
	FirstErr string  `json:"first_error,omitempty"`
	Load1    float64 `json:"load1"` // load average when the op finished
	Note     string  `json:"note,omitempty"`
}

// Dist summarises durations.
type Dist struct {
	N                        int
	P50, P95, P99, Mean, Max float64
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile is the nearest-rank quantile of sorted ds.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func summarise(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Dist{N: len(s), P50: ms(quantile(s, .50)), P95: ms(quantile(s, .95)), P99: ms(quantile(s, .99)),
		Mean: ms(sum / time.Duration(len(s))), Max: ms(s[len(s)-1])}
}

// measure runs op warmup times untimed, then runs times timed.
func measure(name, path string, runs, warmup int, op func(i int) error) Op {
	for i := 0; i < warmup; i++ {
		_ = op(-1 - i)
	}
	ds := make([]time.Duration, 0, runs)
	o := Op{Op: name, Path: path}
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		err := op(i)
		d := time.Since(t0)
		if err != nil {
			o.Errors++
			if o.FirstErr == "" {
				o.FirstErr = err.Error()
			}
			continue
		}
		ds = append(ds, d)
	}
	o.set(summarise(ds))
	o.Load1 = load1()
	progress("  %-28s %-11s p50 %8.2f ms  p95 %8.2f ms  (%d runs, %d errors)", name, path, o.P50, o.P95, o.Runs, o.Errors)
	if o.FirstErr != "" {
		progress("    first error: %s", o.FirstErr)
	}
	return o
}

func (o *Op) set(d Dist) {
	o.Runs, o.P50, o.P95, o.P99, o.Mean, o.Max = d.N, d.P50, d.P95, d.P99, d.Mean, d.Max
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func load1() float64 {
	f := procfs.LoadAvg()
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func loadavg() string { return strings.Join(procfs.LoadAvg(), " ") }

// Machine describes where the numbers come from.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryMiB  int    `json:"memory_mib"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	LoadStart  string `json:"loadavg_start"`
	LoadFinish string `json:"loadavg_finish"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	m.MemoryMiB = procfs.StatusKB("/proc/meminfo", "MemTotal") / 1024
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
