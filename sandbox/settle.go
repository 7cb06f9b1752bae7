package sandbox

import (
	"context"
	"time"
)

// Defaults and bounds of a wait for the screen to settle.
const (
	DefaultSettleQuiet = 100 * time.Millisecond
	DefaultSettleMax   = 3 * time.Second
	MaxSettleQuiet     = 5 * time.Second
	MaxSettleMax       = 30 * time.Second
)

// SettleOptions bound a wait for the screen to stop changing: it ends once
// nothing on the screen has changed for Quiet, or after Max at the latest.
// Zero values take the defaults.
type SettleOptions struct {
	Quiet time.Duration
	Max   time.Duration
}

// WithDefaults fills zero values and clamps to the bounds (Quiet never
// longer than Max).
func (o SettleOptions) WithDefaults() SettleOptions {
	if o.Quiet <= 0 {
		o.Quiet = DefaultSettleQuiet
	}
	if o.Max <= 0 {
		o.Max = DefaultSettleMax
	}
	o.Quiet = min(o.Quiet, MaxSettleQuiet)
	o.Max = min(o.Max, MaxSettleMax)
	o.Quiet = min(o.Quiet, o.Max)
	return o
}

// Settle says how a wait for a quiet screen ended.
type Settle struct {
	// Waited is how long the wait took.
	Waited time.Duration `json:"-"`
	// Settled is false when the screen was still changing at the bound.
	Settled bool `json:"settled"`
	// Changes counts the screen updates seen while waiting (bursts closer
	// than an X round trip count once).
	Changes int `json:"changes"`
	// Busy is how long the wait went on because the applications were
	// working (or waiting for a CPU) while the screen was still.
	Busy time.Duration `json:"-"`
}

// Settler is a desktop that can wait for its screen to settle.
type Settler interface {
	WaitSettled(ctx context.Context, o SettleOptions) (Settle, error)
}

// FallbackPause is what WaitSettled waits on a desktop that cannot tell
// when its screen is still.
const FallbackPause = 250 * time.Millisecond

// WaitSettled waits for the sandbox's screen to settle. It does not hold
// the desktop: other callers' input goes on meanwhile. A desktop that is
// no Settler gets FallbackPause instead, reported as not settled.
func (s *Sandbox) WaitSettled(ctx context.Context, o SettleOptions) (Settle, error) {
	if s.destroyed() {
		return Settle{}, NotFound(s.id)
	}
	return SettleOn(ctx, s.inst.Desktop(), o)
}

// SettleOn waits for d's screen to settle when d can tell (a Settler),
// else pauses FallbackPause and reports the screen as not settled.
func SettleOn(ctx context.Context, d Desktop, o SettleOptions) (Settle, error) {
	if st, ok := d.(Settler); ok {
		return st.WaitSettled(ctx, o)
	}
	start := time.Now()
	err := Sleep(ctx, FallbackPause)
	return Settle{Waited: time.Since(start)}, err
}

// Windows lists the sandbox's top-level windows.
func (s *Sandbox) Windows(ctx context.Context) ([]WindowID, error) {
	var ws []WindowID
	err := s.Input(ctx, func(d Desktop) error {
		var err error
		ws, err = d.ApplicationWindows(ctx, "")
		return err
	})
	return ws, err
}

// WaitNewWindow polls until a top-level window that is not in before
// appears and returns it, or returns 0 when none did within max.
func (s *Sandbox) WaitNewWindow(ctx context.Context, before []WindowID, max time.Duration) (WindowID, error) {
	known := make(map[WindowID]bool, len(before))
	for _, w := range before {
		known[w] = true
	}
	deadline := time.Now().Add(max)
	for {
		ws, err := s.Windows(ctx)
		if err != nil {
			return 0, err
		}
		for _, w := range ws {
			if !known[w] {
				return w, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, nil
		}
		if err := Sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
}
