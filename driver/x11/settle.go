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

	appBusy    atomic.Pointer[func() time.Duration] // SetAppBusy
	lastInput  atomic.Int64                         // unix ns of the last input sent (armed then)
	lastChange atomic.Int64                         // unix ns of the last change reported

	mu    sync.Mutex
	waits map[*settleWait]struct{}
}

// SetAppBusy gives WaitSettled a reading of how long the applications'
// threads have run or waited for a CPU so far: a still screen does
// not count as settled while that grows by more than half the time
// passing (an application still working on the input, or starved
// mid-animation on a busy machine). The backend knows its applications.
func (c *Conn) SetAppBusy(read func() time.Duration) {
	c.dmg.appBusy.Store(&read)
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
// quietFor) and, given SetAppBusy, the applications were not busy (see
// cpuWatch.busy) meanwhile; or until o.Max has passed. Input is
// not blocked meanwhile.
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
	// The screen may have answered the last input before this wait began
	// (its quiet still counts from now: what comes next is unknown); if
	// not, the application gets a while from the input to do it.
	res := sandbox.Settle{}
	last := start
	var answerBy time.Time
	if in, ch := c.dmg.lastInput.Load(), c.dmg.lastChange.Load(); in != 0 && ch > in {
		res.Changes = 1
	} else if in != 0 {
		answerBy = time.Unix(0, in).Add(unanswered(o.Quiet))
	}
	// Arm: whatever was drawn before now is already on the screen.
	err := damage.SubtractChecked(c.xc, c.dmg.id, 0, 0).Check() // c.dmg.id is fixed once created
	c.end()
	if err != nil {
		return sandbox.Settle{}, c.xerr(err)
	}

	var gap time.Duration // the longest pause between two changes seen
	hard := start.Add(o.Max)
	var read func() time.Duration
	if p := c.dmg.appBusy.Load(); p != nil {
		read = *p
	}
	cpu := newCPUWatch(read, start)
	quietAt := func(gap time.Duration) time.Time {
		t := last.Add(quietFor(o.Quiet, gap))
		if res.Changes == 0 && answerBy.After(t) {
			t = answerBy
		}
		return t
	}
	timer := time.NewTimer(time.Until(quietAt(0)))
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
		quiet := quietFor(o.Quiet, gap)
		settleAt := quietAt(gap)
		cpu.sample(now)
		if !now.Before(settleAt) {
			busy, known := cpu.busy(now.Add(-quiet), now)
			if known && !busy {
				res.Settled, res.Waited = true, now.Sub(start)
				return res, nil
			}
			// Still, but the applications are working (or it is too
			// early to tell): look again soon.
			if busy {
				res.Busy += cpuPoll
			}
			settleAt = now.Add(cpuPoll)
		}
		if !now.Before(hard) {
			res.Waited = now.Sub(start)
			return res, nil
		}
		next := settleAt
		if cpu.on() && now.Add(cpuPoll).Before(next) {
			next = now.Add(cpuPoll) // samples through the quiet interval
		}
		if hard.Before(next) {
			next = hard
		}
		timer.Reset(next.Sub(now))
	}
}

// cpuPoll is how often a wait samples the applications' demand for CPU.
const cpuPoll = 25 * time.Millisecond

// cpuWatch samples the applications' demand for CPU during a wait.
type cpuWatch struct {
	read    func() time.Duration
	samples []cpuSample
}

type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

func newCPUWatch(read func() time.Duration, start time.Time) *cpuWatch {
	w := &cpuWatch{read: read}
	w.sample(start)
	return w
}

func (w *cpuWatch) on() bool { return w.read != nil }

func (w *cpuWatch) sample(now time.Time) {
	if w.read == nil {
		return
	}
	w.samples = append(w.samples, cpuSample{now, w.read()})
	if len(w.samples) > 200 { // 10 s at cpuPoll: more than any quiet interval
		w.samples = append(w.samples[:0], w.samples[len(w.samples)-100:]...)
	}
}

// busy reports whether the applications' demand grew by more than half
// the time from `from` (or the sample before it) to `to`; known is false
// while the samples span less than cpuPoll.
func (w *cpuWatch) busy(from, to time.Time) (busy, known bool) {
	if w.read == nil {
		return false, true
	}
	if len(w.samples) < 2 {
		return false, false
	}
	first := w.samples[0]
	for _, s := range w.samples {
		if s.at.After(from) {
			break
		}
		first = s
	}
	lastS := w.samples[len(w.samples)-1]
	span := lastS.at.Sub(first.at)
	if span < cpuPoll {
		return false, false
	}
	used := lastS.cpu - first.cpu // negative when a busy process exited
	return used*2 > span, true
}

// quietFor is how long the screen must stay still: the quiet interval, or
// twice the longest pause seen between two changes when that is longer
// (up to maxAdaptiveQuiet): an animation that stutters on a busy machine
// (a spinner drawn every 150 ms instead of every 16 ms) still counts as
// changing.
func quietFor(quiet, gap time.Duration) time.Duration {
	return max(quiet, min(2*gap, maxAdaptiveQuiet))
}

// unanswered is how long an application gets to draw anything at all in
// answer to an input: Firefox had not drawn a click 116 ms after it on a
// busy machine. An input with no visible effect costs that much.
func unanswered(quiet time.Duration) time.Duration { return 3 * quiet }

const maxAdaptiveQuiet = time.Second

// handleExtEvent routes DAMAGE events from the event loop.
func (c *Conn) handleExtEvent(ev xgb.Event) bool {
	if d, ok := ev.(damage.NotifyEvent); ok {
		c.onDamage(d)
		return true
	}
	return false
}
