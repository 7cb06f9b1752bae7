package x11

import (
	"context"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/vmservice/vmservice/sandbox"
)

func xtestFakeInput(xc *xgb.Conn, typ, detail byte, root xproto.Window, x, y int16) {
	// Unchecked: events are batched and one round trip ends the batch.
	xtest.FakeInput(xc, typ, detail, 0, root, x, y, 0)
}

// Drag motion: enough steps that toolkits see a real drag (and pass their
// drag thresholds), short enough to stay fast.
const (
	dragSteps     = 8
	dragStepDelay = 4 * time.Millisecond
)

func (c *Conn) checkPoint(p sandbox.Point, field string) error {
	return sandbox.CheckPoint(p, c.width, c.height, field)
}

// MoveMouse moves the pointer to p.
func (c *Conn) MoveMouse(ctx context.Context, p sandbox.Point) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	if err := c.checkPoint(p, "point"); err != nil {
		return err
	}
	c.fakeMotion(p.X, p.Y)
	return c.sync(ctx)
}

// Click moves to p (when non-nil) and clicks count times with the modifier
// keys held.
func (c *Conn) Click(ctx context.Context, p *sandbox.Point, b sandbox.Button, count int, modifiers []string) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	btn, err := ButtonNumber(b)
	if err != nil {
		return err
	}
	if count, err = sandbox.ClickCount(count); err != nil {
		return err
	}
	return c.clickAt(ctx, p, btn, count, modifiers)
}

// clickAt moves to p (when non-nil) and presses and releases button btn n
// times with the modifier keys held: a click, or wheel notches.
func (c *Conn) clickAt(ctx context.Context, p *sandbox.Point, btn byte, n int, modifiers []string) error {
	if p != nil {
		if err := c.checkPoint(*p, "point"); err != nil {
			return err
		}
	}
	mods, err := c.modifierKeys(ctx, modifiers)
	if err != nil {
		return err
	}
	if p != nil {
		c.fakeMotion(p.X, p.Y)
	}
	c.press(mods)
	for i := 0; i < n; i++ {
		// Each click of a double (triple) click, and each notch, after the
		// previous one went through: openbox sometimes swallows a second
		// press that reaches its click-to-focus grab in the same batch as
		// the first (never replayed to the application). Between clicks
		// this is one round trip; the horizontal wheel, which settle can
		// only probe with a grab, goes in one batch.
		if i > 0 && buttonMask(btn) != 0 {
			if err := c.settle(ctx, btn); err != nil {
				c.release(mods)
				return err
			}
		}
		c.fake(evButtonPress, btn)
		c.fake(evButtonRelease, btn)
	}
	c.release(mods)
	return c.settle(ctx, btn)
}

// MouseDown presses a button where the pointer is.
func (c *Conn) MouseDown(ctx context.Context, b sandbox.Button) error {
	return c.button(ctx, b, evButtonPress)
}

// MouseUp releases a button where the pointer is.
func (c *Conn) MouseUp(ctx context.Context, b sandbox.Button) error {
	return c.button(ctx, b, evButtonRelease)
}

func (c *Conn) button(ctx context.Context, b sandbox.Button, typ byte) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	btn, err := ButtonNumber(b)
	if err != nil {
		return err
	}
	c.fake(typ, btn)
	if typ == evButtonRelease {
		return c.settle(ctx, btn)
	}
	return c.sync(ctx)
}

// Drag presses at from, moves to `to` in a few steps (so applications see
// motion with the button held) and releases there.
func (c *Conn) Drag(ctx context.Context, from, to sandbox.Point, b sandbox.Button) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	btn, err := ButtonNumber(b)
	if err != nil {
		return err
	}
	if err := c.checkPoint(from, "from"); err != nil {
		return err
	}
	if err := c.checkPoint(to, "to"); err != nil {
		return err
	}
	c.fakeMotion(from.X, from.Y)
	c.fake(evButtonPress, btn)
	released := false
	defer func() {
		if !released { // never leave the button stuck down
			c.fake(evButtonRelease, btn)
			_ = c.sync(context.Background())
		}
	}()
	if err := c.sync(ctx); err != nil {
		return err
	}
	for i := 1; i <= dragSteps; i++ {
		if err := sandbox.Sleep(ctx, dragStepDelay); err != nil {
			return err
		}
		x := from.X + (to.X-from.X)*i/dragSteps
		y := from.Y + (to.Y-from.Y)*i/dragSteps
		c.fakeMotion(x, y)
		if err := c.sync(ctx); err != nil {
			return err
		}
	}
	if err := sandbox.Sleep(ctx, dragStepDelay); err != nil {
		return err
	}
	c.fake(evButtonRelease, btn)
	released = true
	return c.settle(ctx, btn)
}

// Scroll turns the wheel (buttons 4 up, 5 down, 6 left, 7 right) amount
// notches at p (when non-nil) with the modifier keys held.
func (c *Conn) Scroll(ctx context.Context, p *sandbox.Point, dir sandbox.ScrollDirection, amount int, modifiers []string) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	btn, err := WheelButton(dir)
	if err != nil {
		return err
	}
	if amount, err = sandbox.ScrollAmount(amount); err != nil {
		return err
	}
	return c.clickAt(ctx, p, btn, amount, modifiers)
}

// settleMax bounds how long settle waits for a frozen pointer: a window
// manager replays a press within about a millisecond, but a busy machine
// may not run it for a while (a click delivered at the wrong point is
// worse than a slow one); one that hangs with the pointer frozen must not
// hang every click for long. grabProbeMax bounds settleByGrab, which a
// menu's grab (held legitimately) keeps waiting.
const (
	settleMax    = time.Second
	grabProbeMax = 50 * time.Millisecond
)

// settle returns once the server has processed the release of button btn
// sent before it. Under a window manager that focuses on click (openbox,
// xfwm4, ...), a press activates the manager's passive grab in synchronous
// mode: the server freezes the pointer and queues the button events that
// follow until the manager replays the press, while XTEST motion moves the
// pointer at once. Without waiting, the motion of the next call overtakes
// this call's queued release (and the next press), which then reach the
// application at the new point. The pointer state QueryPointer reports is
// updated only when the server processes a queued event, so the button's
// bit is clear once the release went through. The first QueryPointer is
// the round trip sync would make, so with no grab in the way this costs
// nothing extra.
func (c *Conn) settle(ctx context.Context, btn byte) error {
	bit := buttonMask(btn)
	if bit == 0 {
		return c.settleByGrab(ctx)
	}
	deadline := time.Now().Add(settleMax)
	for {
		r, err := await(ctx, xproto.QueryPointer(c.xc, c.root).Reply)
		if err != nil {
			return c.xerr(err)
		}
		if r.Mask&bit == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			c.logger().Debug().Int("button", int(btn)).Uint16("mask", r.Mask).
				Msg("pointer still frozen after a click; not waiting longer")
			return nil
		}
		if err := sandbox.Sleep(ctx, 200*time.Microsecond); err != nil {
			return err
		}
	}
}

// settleByGrab is settle for buttons the core pointer state has no bit for
// (6 and 7, the horizontal wheel): a frozen pointer belongs to the window
// manager's grab, so taking a grab of our own (and dropping it at once)
// succeeds only after the manager let the events go. It costs the window
// under the pointer a pair of grab crossing events, and a menu's grab
// (legitimately held) makes it wait the whole grabProbeMax.
func (c *Conn) settleByGrab(ctx context.Context) error {
	deadline := time.Now().Add(grabProbeMax)
	for {
		r, err := await(ctx, xproto.GrabPointer(c.xc, false, c.root, 0, xproto.GrabModeAsync, xproto.GrabModeAsync,
			xproto.WindowNone, xproto.CursorNone, xproto.TimeCurrentTime).Reply)
		if err != nil {
			return c.xerr(err)
		}
		if r.Status == xproto.GrabStatusSuccess {
			xproto.UngrabPointer(c.xc, xproto.TimeCurrentTime)
			return c.sync(ctx)
		}
		if time.Now().After(deadline) {
			c.logger().Debug().Uint8("status", r.Status).Msg("pointer still grabbed after a click; not waiting longer")
			return nil
		}
		if err := sandbox.Sleep(ctx, 200*time.Microsecond); err != nil {
			return err
		}
	}
}

// buttonMask is a button's bit in the core pointer state (buttons 1-5).
func buttonMask(btn byte) uint16 {
	if btn < 1 || btn > 5 {
		return 0
	}
	return uint16(xproto.ButtonMask1) << (btn - 1)
}

func (c *Conn) modifierKeys(ctx context.Context, modifiers []string) ([]keyLoc, error) {
	if len(modifiers) == 0 {
		return nil, nil
	}
	return c.resolveKeys(ctx, modifiers, "modifiers")
}

func (c *Conn) press(keys []keyLoc) {
	for _, k := range keys {
		c.keyEvent(k, true)
	}
}

func (c *Conn) release(keys []keyLoc) {
	for i := len(keys) - 1; i >= 0; i-- {
		c.keyEvent(keys[i], false)
	}
}

// DefaultChunkSize is used when TypeText gets chunkSize <= 0.
const DefaultChunkSize = 25

// TypeText types text (any Unicode) in chunks of chunkSize runes with delay
// between chunks. It stops between chunks when ctx ends and returns the
// number of runes typed. Newlines type Return, tabs Tab; characters the
// keymap lacks are typed through a borrowed spare keycode.
func (c *Conn) TypeText(ctx context.Context, text string, chunkSize int, delay time.Duration) (int, error) {
	if err := c.beginInput(ctx); err != nil {
		return 0, err
	}
	defer c.end()
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	if err := c.premap(ctx, keysyms(text)); err != nil {
		return 0, err
	}
	typed := 0
	inChunk := 0
	prevCR := false
	for _, r := range text {
		if inChunk == chunkSize {
			if err := c.sync(ctx); err != nil {
				return typed, err
			}
			typed += inChunk
			inChunk = 0
			if err := sandbox.Sleep(ctx, delay); err != nil {
				return typed, err
			}
			if err := ctx.Err(); err != nil {
				return typed, sandbox.AsError(err)
			}
			c.kb.batch++
		}
		inChunk++
		if r == '\n' && prevCR { // "\r\n" is one Return
			prevCR = false
			continue
		}
		prevCR = r == '\r'
		ks := runeKeysym(r)
		if ks == 0 {
			continue // a control character with no key: nothing to type
		}
		if err := c.tapRune(ctx, ks); err != nil {
			return typed, err
		}
	}
	if err := c.sync(ctx); err != nil {
		return typed, err
	}
	c.kb.batch++
	return typed + inChunk, nil
}

// PressKeys presses the keys in order and releases them in reverse order:
// ["enter"] is one key press, ["ctrl","c"] (or ["ctrl+c"]) a combination.
func (c *Conn) PressKeys(ctx context.Context, keys []string) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	locs, err := c.resolveKeys(ctx, keys, "keys")
	if err != nil {
		return err
	}
	c.press(locs)
	c.release(locs)
	c.kb.batch++
	return c.sync(ctx)
}

// KeyDown holds a key (or combination) down until KeyUp.
func (c *Conn) KeyDown(ctx context.Context, key string) error {
	return c.hold(ctx, key, true)
}

// KeyUp releases a key (or combination) held by KeyDown.
func (c *Conn) KeyUp(ctx context.Context, key string) error {
	return c.hold(ctx, key, false)
}

func (c *Conn) hold(ctx context.Context, key string, down bool) error {
	if err := c.beginInput(ctx); err != nil {
		return err
	}
	defer c.end()
	locs, err := c.resolveKeys(ctx, []string{key}, "key")
	if err != nil {
		return err
	}
	for _, l := range locs {
		if b := c.kb.borrowed[l.code]; b != nil {
			b.held = down
		}
	}
	if down {
		c.press(locs)
	} else {
		c.release(locs)
	}
	return c.sync(ctx)
}

// CursorPosition is where the pointer is.
func (c *Conn) CursorPosition(ctx context.Context) (sandbox.Point, error) {
	if err := c.begin(ctx); err != nil {
		return sandbox.Point{}, err
	}
	defer c.end()
	r, err := await(ctx, xproto.QueryPointer(c.xc, c.root).Reply)
	if err != nil {
		return sandbox.Point{}, c.xerr(err)
	}
	return sandbox.Point{X: int(r.RootX), Y: int(r.RootY)}, nil
}

// ScreenSize is the size of the default screen.
func (c *Conn) ScreenSize(ctx context.Context) (sandbox.Resolution, error) {
	if err := c.begin(ctx); err != nil {
		return sandbox.Resolution{}, err
	}
	defer c.end()
	return sandbox.Resolution{Width: c.width, Height: c.height}, nil
}
