package x11

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xproto"

	"github.com/vmservice/vmservice/sandbox"
)

// Settle detection with the X DAMAGE extension: one Damage object on the
// root window (which covers every window drawn on the screen), at level
// NonEmpty, sends one event when something is drawn and then stays silent
// until the damage is subtracted. A wait subtracts (re-arms) it at its
// start and after every event, so it sees at most one event per round
// trip however busy the screen; between waits it is never re-armed, so an
// unwatched screen costs nothing.

var _ sandbox.Settler = (*Conn)(nil)

// damageState is the connection's Damage object and live waits.
type damageState struct {
	ready   bool // guarded by Conn.mu
	id      damage.Damage
	created chan struct{} // closed by the event loop at the creation report

	lastInput  atomic.Int64 // unix ns of the last input sent (armed then)
	lastChange atomic.Int64 // unix ns of the last change reported

	mu    sync.Mutex
	waits map[*settleWait]struct{}
}

// beginInput is begin for a call that sends input: the Damage object is
// armed first, so the first thing drawn after the input is reported
// (and remembered in lastChange) even before anyone waits; WaitSettled
// then knows the screen already answered the input.
func (c *Conn) beginInput(ctx context.Context) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	if c.dmg.ready {
		damage.Subtract(c.xc, c.dmg.id, 0, 0)
		c.dmg.lastInput.Store(time.Now().UnixNano())
	}
	return nil
}

// settleWait is one wait's view of the screen's changes.
type settleWait struct {
	last atomic.Int64  // unix nanoseconds of the latest change
	ring chan struct{} // a change since the waiter last looked
}

// initDamage creates the Damage object once; callers hold c.mu.
func (c *Conn) initDamage(ctx context.Context) error {
	if c.dmg.ready {
		return nil
	}
	err := func() error {
		if err := initExtension(c.xc, "DAMAGE", damage.Init); err != nil {
			return unavailable("the X server has no usable DAMAGE extension").WithCause(err)
		}
		// The server refuses DAMAGE requests from a client that has not
		// said which version it speaks.
		if _, err := await(ctx, damage.QueryVersion(c.xc, 1, 1).Reply); err != nil {
			return c.xerr(err)
		}
		id, err := damage.NewDamageId(c.xc)
		if err != nil {
			return c.xerr(err)
		}
		c.dmg.mu.Lock()
		c.dmg.id, c.dmg.created = id, make(chan struct{})
		c.dmg.waits = map[*settleWait]struct{}{}
		c.dmg.mu.Unlock()
		if err := damage.CreateChecked(c.xc, id, xproto.Drawable(c.root), damage.ReportLevelNonEmpty).Check(); err != nil {
			return c.xerr(err)
		}
		// The server reports the whole window as damaged at creation;
		// that report is no change of the screen.
		select {
		case <-c.dmg.created:
		case <-c.done:
			return unavailable("the X server went away")
		case <-ctx.Done():
			return sandbox.AsError(ctx.Err())
		}
		return nil
	}()
	c.dmg.ready = err == nil
	return err
}

// onDamage is called by the event loop.
func (c *Conn) onDamage(ev damage.NotifyEvent) {
	now := time.Now().UnixNano()
	c.dmg.mu.Lock()
	defer c.dmg.mu.Unlock()
	if c.dmg.created == nil || ev.Damage != c.dmg.id {
		return
	}
	select {
	case <-c.dmg.created:
	default:
		close(c.dmg.created)
		return
	}
	c.dmg.lastChange.Store(now)
	if len(c.dmg.waits) == 0 {
		return // left disarmed: nobody is watching
	}
	// Re-arm first: drawing between this event and the subtract is folded
	// into this event, never lost.
	damage.Subtract(c.xc, c.dmg.id, 0, 0)
	for w := range c.dmg.waits {
		w.last.Store(now)
		select {
		case w.ring <- struct{}{}:
		default: // unread: the waiter reads the latest time anyway
		}
	}
}

// WaitSettled waits until nothing on the screen has changed for o.Quiet
// (longer when the screen has paused longer between changes, see
// quietFor), or o.Max has passed. Input is not blocked meanwhile.
func (c *Conn) WaitSettled(ctx context.Context, o sandbox.SettleOptions) (sandbox.Settle, error) {
	o = o.WithDefaults()
	start := time.Now()
	if err := c.begin(ctx); err != nil {
		return sandbox.Settle{}, err
	}
	if err := c.initDamage(ctx); err != nil {
		c.end()
		return sandbox.Settle{}, err
	}
	w := &settleWait{ring: make(chan struct{}, 1)}
	c.dmg.mu.Lock()
	c.dmg.waits[w] = struct{}{}
	c.dmg.mu.Unlock()
	defer func() {
		c.dmg.mu.Lock()
		delete(c.dmg.waits, w)
		c.dmg.mu.Unlock()
	}()
	// The screen may have answered the input before this wait began.
	res := sandbox.Settle{}
	last := start
	if in, ch := c.dmg.lastInput.Load(), c.dmg.lastChange.Load(); in != 0 && ch > in {
		res.Changes, last = 1, time.Unix(0, ch)
	}
	// Arm: whatever was drawn before now is already on the screen.
	err := damage.SubtractChecked(c.xc, c.dmg.id, 0, 0).Check() // c.dmg.id is fixed once created
	c.end()
	if err != nil {
		return sandbox.Settle{}, c.xerr(err)
	}

	var gap time.Duration // the longest pause between two changes seen
	hard := start.Add(o.Max)
	timer := time.NewTimer(time.Until(last.Add(quietFor(o.Quiet, 0, res.Changes))))
	defer timer.Stop()
	for {
		select {
		case <-w.ring:
			t := time.Unix(0, w.last.Load())
			if res.Changes > 0 {
				gap = max(gap, t.Sub(last))
			}
			res.Changes++
			last = t
		case <-timer.C:
		case <-c.done:
			return res, unavailable("the X server went away")
		case <-ctx.Done():
			return res, sandbox.AsError(ctx.Err())
		}
		now := time.Now()
		quietAt := last.Add(quietFor(o.Quiet, gap, res.Changes))
		if !now.Before(quietAt) {
			res.Settled, res.Waited = true, now.Sub(start)
			return res, nil
		}
		if !now.Before(hard) {
			res.Waited = now.Sub(start)
			return res, nil
		}
		next := quietAt
		if hard.Before(next) {
			next = hard
		}
		timer.Reset(next.Sub(now))
	}
}

// quietFor is how long the screen must stay still:
//   - before any change, three quiet intervals: an application busy with
//     the input it was just sent (Firefox, 120 ms after a click on a busy
//     machine) has not drawn anything yet, and an action with no visible
//     effect costs 300 ms instead of 100;
//   - after changes, the quiet interval, or twice the longest pause seen
//     between two changes when that is longer (up to maxAdaptiveQuiet): an
//     animation that stutters on a busy machine (a spinner drawn every
//     150 ms instead of every 16 ms) still counts as changing.
func quietFor(quiet, gap time.Duration, changes int) time.Duration {
	if changes == 0 {
		return 3 * quiet
	}
	return max(quiet, min(2*gap, maxAdaptiveQuiet))
}

const maxAdaptiveQuiet = time.Second

// handleExtEvent routes DAMAGE events from the event loop.
func (c *Conn) handleExtEvent(ev xgb.Event) bool {
	if d, ok := ev.(damage.NotifyEvent); ok {
		c.onDamage(d)
		return true
	}
	return false
}
