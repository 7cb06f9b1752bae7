package x11

import (
	"context"
	"image"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// painter is an independent X client with an override-redirect window of
// one colour, which it fills with others on request.
type painter struct {
	xc  *xgb.Conn
	win xproto.Window
	gc  xproto.Gcontext
	w   int
	h   int
}

func newPainter(t testing.TB, d *display, r image.Rectangle, rgb uint32) *painter {
	t.Helper()
	nc, err := net.Dial("unix", d.sock)
	require.NoError(t, err)
	xc, err := xgb.NewConnNet(&cookieConn{Conn: nc, cookie: d.cookie})
	require.NoError(t, err)
	t.Cleanup(xc.Close)
	scr := xproto.Setup(xc).DefaultScreen(xc)
	p := &painter{xc: xc, w: r.Dx(), h: r.Dy()}
	p.win, err = xproto.NewWindowId(xc)
	require.NoError(t, err)
	require.NoError(t, xproto.CreateWindowChecked(xc, scr.RootDepth, p.win, scr.Root, int16(r.Min.X), int16(r.Min.Y),
		uint16(r.Dx()), uint16(r.Dy()), 0, xproto.WindowClassInputOutput, scr.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{rgb, 1}).Check())
	require.NoError(t, xproto.MapWindowChecked(xc, p.win).Check())
	p.gc, err = xproto.NewGcontextId(xc)
	require.NoError(t, err)
	require.NoError(t, xproto.CreateGCChecked(xc, p.gc, xproto.Drawable(p.win), 0, nil).Check())
	return p
}

// fill paints the whole window rgb (0xRRGGBB) and waits until the server
// has done it.
func (p *painter) fill(t testing.TB, rgb uint32) {
	require.NoError(t, xproto.ChangeGCChecked(p.xc, p.gc, xproto.GcForeground, []uint32{rgb}).Check())
	require.NoError(t, xproto.PolyFillRectangleChecked(p.xc, xproto.Drawable(p.win), p.gc,
		[]xproto.Rectangle{{X: 0, Y: 0, Width: uint16(p.w), Height: uint16(p.h)}}).Check())
}

func TestWaitSettled(t *testing.T) {
	d := newDisplay(t, 640, 480)
	p := newPainter(t, d, image.Rect(10, 10, 110, 110), 0)

	t.Run("a still screen settles with no change", func(t *testing.T) {
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 50 * time.Millisecond, Max: 20 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.Settled)
		assert.Equal(t, 0, res.Changes)
		assert.GreaterOrEqual(t, res.Waited, 50*time.Millisecond, "it watched the screen for the quiet interval")
	})

	t.Run("an input with no visible effect gets three quiet intervals to show one", func(t *testing.T) {
		t0 := time.Now()
		require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 600, Y: 20})) // over the bare root window
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 100 * time.Millisecond, Max: 20 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.Settled)
		assert.Equal(t, 0, res.Changes)
		assert.GreaterOrEqual(t, time.Since(t0), 300*time.Millisecond)
	})

	t.Run("the wait outlasts paints closer together than the quiet interval", func(t *testing.T) {
		// Paints 50 ms apart, quiet 1 s: the wait must end after the last
		// one, and the screen then shows the last colour.
		colours := []uint32{0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff}
		var wg sync.WaitGroup
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			// Paints 50 ms apart are the stimulus itself, not a wait.
			paint := time.NewTicker(50 * time.Millisecond)
			defer paint.Stop()
			for _, c := range colours {
				<-paint.C
				p.fill(t, c)
			}
		}()
		close(started)
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: time.Second, Max: 60 * time.Second})
		require.NoError(t, err)
		wg.Wait()
		assert.True(t, res.Settled)
		assert.GreaterOrEqual(t, res.Changes, 1)
		assert.Equal(t, uint32(0x00ffff), pixelAt(t, d.c, 50, 50), "the screen after the wait shows the final paint")
	})

	t.Run("a change between the input and the wait counts", func(t *testing.T) {
		require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 400, Y: 400})) // input arms the Damage object
		p.fill(t, 0x445566)
		require.Eventually(t, func() bool { return d.c.dmg.lastChange.Load() > d.c.dmg.lastInput.Load() },
			10*time.Second, time.Millisecond, "the change is reported")
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 2 * time.Second, Max: 20 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.Settled)
		assert.Equal(t, 1, res.Changes, "the answer drawn before the wait is a change")
		assert.Less(t, res.Waited, 6*time.Second, "one quiet interval, not the three of an unanswered input")
	})

	t.Run("a still screen is not settled while the applications work", func(t *testing.T) {
		// Applications a core busy for 600 ms, then idle.
		start := time.Now()
		busyFor := 600 * time.Millisecond
		demand := func() time.Duration { return min(time.Since(start), busyFor) }
		d.c.SetAppBusy(demand)
		defer d.c.SetAppBusy(nil)
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 100 * time.Millisecond, Max: 20 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.Settled)
		assert.GreaterOrEqual(t, res.Waited, busyFor)
		assert.Positive(t, res.Busy)
		// Idle applications do not hold a still screen up.
		idle := func() time.Duration { return time.Second }
		d.c.SetAppBusy(idle)
		res, err = d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 100 * time.Millisecond, Max: 20 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.Settled)
		assert.Zero(t, res.Busy)
	})

	t.Run("a screen that never stops changing hits the bound", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint32(0); ctx.Err() == nil; i++ {
				p.fill(t, i*0x010203&0xffffff)
			}
		}()
		res, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: time.Second, Max: 3 * time.Second})
		cancel()
		wg.Wait()
		require.NoError(t, err)
		assert.False(t, res.Settled)
		assert.GreaterOrEqual(t, res.Waited, 3*time.Second)
		assert.Greater(t, res.Changes, 1)
	})

	t.Run("input is not blocked while waiting", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := d.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 30 * time.Second, Max: 30 * time.Second})
			done <- err
		}()
		require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 300, Y: 300}))
		pos, err := d.c.CursorPosition(bg)
		require.NoError(t, err)
		assert.Equal(t, sandbox.Point{X: 300, Y: 300}, pos)
		select {
		case err := <-done:
			t.Fatalf("the 30 s wait ended early: %v", err)
		default:
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg)
		go func() { p.fill(t, 0x123456); cancel() }()
		_, err := d.c.WaitSettled(ctx, sandbox.SettleOptions{Quiet: 30 * time.Second, Max: 30 * time.Second})
		requireCode(t, err, sandbox.CodeTimeout)
	})

	t.Run("the X server goes away", func(t *testing.T) {
		d2 := newDisplay(t, 320, 240)
		done := make(chan error, 1)
		go func() {
			_, err := d2.c.WaitSettled(bg, sandbox.SettleOptions{Quiet: 30 * time.Second, Max: 30 * time.Second})
			done <- err
		}()
		pid := x11test.Pid(d2.name)
		require.Positive(t, pid)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		select {
		case err := <-done:
			requireCode(t, err, sandbox.CodeBackendUnavailable)
		case <-time.After(20 * time.Second):
			t.Fatal("the wait did not end when the X server died")
		}
	})
}

func TestSettleOptionsDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want sandbox.SettleOptions
	}{
		{sandbox.SettleOptions{}, sandbox.SettleOptions{Quiet: sandbox.DefaultSettleQuiet, Max: sandbox.DefaultSettleMax}},
		{sandbox.SettleOptions{Quiet: 3 * time.Second, Max: time.Second}, sandbox.SettleOptions{Quiet: time.Second, Max: time.Second}},
		{sandbox.SettleOptions{Quiet: time.Hour, Max: time.Hour}, sandbox.SettleOptions{Quiet: sandbox.MaxSettleQuiet, Max: sandbox.MaxSettleMax}},
	} {
		assert.Equal(t, tc.want, tc.in.WithDefaults())
	}
}

func TestQuietFor(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		quiet, gap time.Duration
		want       time.Duration
	}{
		{100 * ms, 0, 100 * ms},
		{100 * ms, 20 * ms, 100 * ms},                // a smooth animation's pauses are short
		{100 * ms, 150 * ms, 300 * ms},               // a stuttering one: twice its longest pause
		{100 * ms, 3 * time.Second, time.Second},     // capped
		{2 * time.Second, 150 * ms, 2 * time.Second}, // the caller's own quiet
	} {
		assert.Equal(t, tc.want, quietFor(tc.quiet, tc.gap), "%+v", tc)
	}
}
