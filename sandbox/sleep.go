package sandbox

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends, whichever comes first; an ended ctx
// gives AsError(ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return AsError(ctx.Err())
	}
}
