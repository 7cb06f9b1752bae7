// Package testwait is how tests wait: for a state, polled with a generous
// deadline, never for a fixed time, so they pass on a slow, busy machine.
package testwait

import (
	"context"
	"testing"
	"time"
)

// Interval is how often Until asks.
const Interval = 100 * time.Millisecond

// Until calls fn every Interval until it returns nil, and fails the test
// with fn's last error (what names the state) when d has passed.
func Until(t testing.TB, d time.Duration, what string, fn func() error) {
	t.Helper()
	if err := Poll(context.Background(), d, fn); err != nil {
		t.Fatalf("%s: still failing after %v: %v", what, d, err)
	}
}

// Poll calls fn every Interval until it returns nil (then nil), d passes
// or ctx ends (then fn's last error, after one last call).
func Poll(ctx context.Context, d time.Duration, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			if err := fn(); err != nil {
				return err
			}
			return nil
		}
	}
}
