package main

import (
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
)

// Scale is how many desktops the machine holds while each is driven at
// Rate actions per second.
type Scale struct {
	Mix        string      `json:"mix"`
	Actions    []string    `json:"actions"`
	Rate       float64     `json:"actions_per_second_per_desktop"`
	WindowSec  float64     `json:"window_seconds"`
	P99LimitMS float64     `json:"p99_limit_ms"`
	Steps      []ScaleStep `json:"steps"`
	MaxOK      int         `json:"max_desktops_within_limits"`
	Stopped    string      `json:"stopped_because"`
}

// ScaleStep is one measurement window with Desktops all busy.
type ScaleStep struct {
	Desktops     int     `json:"desktops"`
	TargetRate   float64 `json:"target_actions_per_second"`
	AchievedRate float64 `json:"achieved_actions_per_second"`
	Actions      int     `json:"actions"`
	P50          float64 `json:"p50_ms"`
	P95          float64 `json:"p95_ms"`
	P99          float64 `json:"p99_ms"`
	Max          float64 `json:"max_ms"`
	Errors       int     `json:"errors"`
	FirstErr     string  `json:"first_error,omitempty"`
	Load1        float64 `json:"load1"`
	MemAvailMiB  int     `json:"mem_available_mib"`
	OK           bool    `json:"ok"`
	Retry        bool    `json:"retry,omitempty"`
}

// window collects latencies of one measurement window.
type window struct {
	mu       sync.Mutex
	ds       []time.Duration
	errs     int
	firstErr string
}

func (w *window) add(d time.Duration, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs++
		if w.firstErr == "" {
			w.firstErr = err.Error()
		}
		return
	}
	w.ds = append(w.ds, d)
}

type scaleOpts struct {
	start     int // desktops of the first step (default: step)
	step, max int
	window    time.Duration
	budget    time.Duration
	mix       string
	rate      float64
}

// scaleActions are the actions a busy desktop cycles through.
func scaleActions(mix string) ([]string, error) {
	switch mix {
	case "input":
		return []string{"move_mouse", "click", "type_text 10 chars", "press_key", "cursor_position"}, nil
	case "agent":
		// An agent loop: act, then look (a PNG of a desktop with an xterm
		// full of text).
		return []string{"move_mouse", "click", "type_text 10 chars", "press_key", "screenshot PNG"}, nil
	}
	return nil, fmt.Errorf("--scale-mix must be input or agent, got %q", mix)
}

func doAction(sb *sandbox.Sandbox, name string, i int, res sandbox.Resolution) error {
	if name == "screenshot PNG" {
		_, err := capture.Take(bg, sb, capture.Shot{})
		return err
	}
	return sb.Input(bg, func(d sandbox.Desktop) error {
		switch name {
		case "move_mouse":
			return d.MoveMouse(bg, point(i, res))
		case "click":
			p := point(i, res)
			return d.Click(bg, &p, sandbox.ButtonLeft, 1, nil)
		case "type_text 10 chars":
			_, err := d.TypeText(bg, "hello12345", 25, 0)
			return err
		case "press_key":
			return d.PressKeys(bg, []string{"enter"})
		case "cursor_position":
			_, err := d.CursorPosition(bg)
			return err
		}
		return fmt.Errorf("unknown action %s", name)
	})
}

// scale adds desktops step by step, each driven at o.rate actions per
// second, and measures a window at every step, until p99 >= 50 ms, an
// error, a missed rate, o.max desktops or o.budget of time.
func (r *runner) scale(o scaleOpts) error {
	actions, err := scaleActions(o.mix)
	if err != nil {
		return err
	}
	progress("scale: +%d desktops per step, %.0f actions/s each (%s mix), %s windows, p99 < 50 ms (load %s)",
		o.step, o.rate, o.mix, o.window, loadavg())
	sc := &Scale{Mix: o.mix, Actions: actions, Rate: o.rate, WindowSec: o.window.Seconds(), P99LimitMS: 50}
	r.res.Scale = append(r.res.Scale, sc)
	e, err := newEngine(r.log, o.max+5, 0)
	if err != nil {
		return err
	}
	defer e.close()

	var cur atomic.Pointer[window]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	period := time.Duration(float64(time.Second) / o.rate)
	drive := func(sb *sandbox.Sandbox) {
		defer wg.Done()
		// A random phase, so desktops do not act in lockstep.
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(mrand.Int64N(int64(period)))):
		}
		t := time.NewTicker(period)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			t0 := time.Now()
			err := doAction(sb, actions[i%len(actions)], i, sandbox.DefaultResolution)
			d := time.Since(t0)
			if w := cur.Load(); w != nil {
				w.add(d, err)
			}
		}
	}

	start := time.Now()
	n := 0
	for n < o.max {
		if time.Since(start) > o.budget {
			sc.Stopped = fmt.Sprintf("time budget %s used", o.budget)
			break
		}
		add := o.step
		if n == 0 && o.start > 0 {
			add = o.start
		}
		for i := 0; i < add && n < o.max; i++ {
			sb, err := e.m.Create(bg, sandbox.CreateRequest{Owner: owner, Config: sandbox.Config{Timeout: sandbox.MaxTimeout}})
			if err != nil {
				sc.Stopped = fmt.Sprintf("create %d failed: %v", n+1, err)
				return nil
			}
			if o.mix == "agent" { // screenshots of a screen with text, not of a flat background
				if err := addContent(bg, sb.Instance()); err != nil {
					sc.Stopped = fmt.Sprintf("desktop %d: %v", n+1, err)
					return nil
				}
			}
			n++
			wg.Add(1)
			go drive(sb)
		}
		time.Sleep(time.Second) // creation done; let the new ones settle
		st := r.scaleWindow(&cur, n, o)
		if !st.OK { // one retry: the machine is shared, a burst elsewhere is not our limit
			progress("    retrying %d desktops", n)
			st = r.scaleWindow(&cur, n, o)
			st.Retry = true
		}
		sc.Steps = append(sc.Steps, st)
		if !st.OK {
			sc.Stopped = fmt.Sprintf("%d desktops: p99 %.1f ms, %d errors, %.0f of %.0f actions/s", n, st.P99, st.Errors, st.AchievedRate, st.TargetRate)
			break
		}
		sc.MaxOK = n
	}
	if sc.Stopped == "" {
		sc.Stopped = fmt.Sprintf("reached --scale-max %d", o.max)
	}
	progress("  scale: %d desktops within limits (%s)", sc.MaxOK, sc.Stopped)
	return nil
}

func (r *runner) scaleWindow(cur *atomic.Pointer[window], n int, o scaleOpts) ScaleStep {
	w := &window{}
	cur.Store(w)
	time.Sleep(o.window)
	cur.Store(nil)
	w.mu.Lock()
	defer w.mu.Unlock()
	d := summarise(w.ds)
	st := ScaleStep{Desktops: n, TargetRate: float64(n) * o.rate, Actions: d.N + w.errs,
		AchievedRate: float64(d.N+w.errs) / o.window.Seconds(), P50: d.P50, P95: d.P95, P99: d.P99, Max: d.Max,
		Errors: w.errs, FirstErr: w.firstErr, Load1: load1(), MemAvailMiB: procfs.StatusKB("/proc/meminfo", "MemAvailable") / 1024}
	st.OK = st.Errors == 0 && st.P99 < 50 && st.AchievedRate >= 0.95*st.TargetRate
	progress("  %3d desktops: %6.0f/%4.0f actions/s  p50 %6.2f  p95 %6.2f  p99 %6.2f  max %7.2f ms  errors %d  load %.1f  mem avail %d MiB  %s",
		n, st.AchievedRate, st.TargetRate, st.P50, st.P95, st.P99, st.Max, st.Errors, st.Load1, st.MemAvailMiB, okText(st.OK))
	return st
}

func okText(ok bool) string {
	if ok {
		return "ok"
	}
	return "OVER"
}
