package x11

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// display is one Xvfb for a test, with the driver connected to it.
type display struct {
	sock, name, auth string
	cookie           []byte
	c                *Conn
}

func newDisplay(t testing.TB, w, h int) *display {
	t.Helper()
	sock, cookie, name, auth := x11test.StartXvfb(t, w, h)
	c, err := Dial(sock, cookie)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &display{sock: sock, name: name, auth: auth, cookie: cookie, c: c}
}

// recEvent is one input event as an ordinary X client saw it.
type recEvent struct {
	kind   string // press, release, motion, keydown, keyup
	button byte
	x, y   int
	keysym xproto.Keysym
	state  uint16
}

func (e recEvent) String() string {
	return fmt.Sprintf("%s b%d (%d,%d) ks=%#x st=%#x", e.kind, e.button, e.x, e.y, uint32(e.keysym), e.state)
}

// recorder is an independent X client (its own connection) with a window
// that records the input events it receives, translating keycodes to
// keysyms with its own copy of the keymap the way Xlib does: refreshed on
// MappingNotify, level 1 when Shift is down.
type recorder struct {
	xc  *xgb.Conn
	win xproto.Window

	mu       sync.Mutex
	events   []recEvent
	min      xproto.Keycode
	per      int
	syms     []xproto.Keysym
	exposed  chan struct{}
	exposeMu sync.Once
}

func newRecorder(t testing.TB, d *display, x, y, w, h int) *recorder {
	t.Helper()
	return startRecorder(t, d, x, y, w, h, false)
}

// newManagedRecorder is a recorder whose window a window manager manages
// (no override-redirect; it asks for its position with USPosition). The
// window manager frames it, so its place on screen is r.origin.
func newManagedRecorder(t testing.TB, d *display, x, y, w, h int) *recorder {
	t.Helper()
	return startRecorder(t, d, x, y, w, h, true)
}

// origin is where the recorder's window sits on the root window.
func (r *recorder) origin(t testing.TB) (int, int) {
	t.Helper()
	setup := xproto.Setup(r.xc)
	tr, err := xproto.TranslateCoordinates(r.xc, r.win, setup.DefaultScreen(r.xc).Root, 0, 0).Reply()
	require.NoError(t, err)
	return int(tr.DstX), int(tr.DstY)
}

func startRecorder(t testing.TB, d *display, x, y, w, h int, managed bool) *recorder {
	t.Helper()
	nc, err := net.Dial("unix", d.sock)
	require.NoError(t, err)
	xc, err := xgb.NewConnNet(&cookieConn{Conn: nc, cookie: d.cookie})
	require.NoError(t, err)
	t.Cleanup(xc.Close)
	setup := xproto.Setup(xc)
	scr := setup.DefaultScreen(xc)
	r := &recorder{xc: xc, min: setup.MinKeycode, exposed: make(chan struct{})}
	r.loadKeymap(setup.MaxKeycode)

	win, err := xproto.NewWindowId(xc)
	require.NoError(t, err)
	r.win = win
	mask := uint32(xproto.EventMaskKeyPress | xproto.EventMaskKeyRelease | xproto.EventMaskButtonPress |
		xproto.EventMaskButtonRelease | xproto.EventMaskPointerMotion | xproto.EventMaskExposure)
	overrideRedirect := uint32(1)
	if managed {
		overrideRedirect = 0
	}
	require.NoError(t, xproto.CreateWindowChecked(xc, scr.RootDepth, win, scr.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, scr.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{0x00ff00, overrideRedirect, mask}).Check())
	if managed {
		// WM_NORMAL_HINTS: USPosition|USSize, so the window manager puts it
		// where asked instead of placing it.
		hints := make([]byte, 18*4)
		xgb.Put32(hints, 1|2)
		xgb.Put32(hints[4:], uint32(x))
		xgb.Put32(hints[8:], uint32(y))
		xgb.Put32(hints[12:], uint32(w))
		xgb.Put32(hints[16:], uint32(h))
		require.NoError(t, xproto.ChangePropertyChecked(xc, xproto.PropModeReplace, win,
			xproto.AtomWmNormalHints, xproto.AtomWmSizeHints, 32, 18, hints).Check())
	}
	require.NoError(t, xproto.MapWindowChecked(xc, win).Check())
	go r.loop(setup.MaxKeycode)
	select {
	case <-r.exposed:
	case <-time.After(10 * time.Second): // a window manager maps it: slow on a busy machine
		t.Fatal("recorder window never exposed")
	}
	if !managed { // a managed window gets the focus from the window manager
		require.NoError(t, xproto.SetInputFocusChecked(xc, xproto.InputFocusPointerRoot, win, xproto.TimeCurrentTime).Check())
	}
	return r
}

func (r *recorder) loadKeymap(max xproto.Keycode) {
	km, err := xproto.GetKeyboardMapping(r.xc, r.min, byte(int(max)-int(r.min)+1)).Reply()
	if err != nil {
		return
	}
	r.mu.Lock()
	r.per, r.syms = int(km.KeysymsPerKeycode), km.Keysyms
	r.mu.Unlock()
}

func (r *recorder) keysym(kc xproto.Keycode, state uint16) xproto.Keysym {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := (int(kc) - int(r.min)) * r.per
	if i < 0 || i+1 >= len(r.syms) {
		return 0
	}
	l0, l1 := r.syms[i], r.syms[i+1]
	if l1 == 0 {
		if ch := keysymRune(l0); ch >= 'a' && ch <= 'z' {
			l1 = l0 - 'a' + 'A'
		} else {
			l1 = l0
		}
	}
	if state&xproto.ModMaskShift != 0 {
		return l1
	}
	return l0
}

func (r *recorder) loop(max xproto.Keycode) {
	for {
		ev, err := r.xc.WaitForEvent()
		if ev == nil && err == nil {
			return
		}
		var rec recEvent
		switch e := ev.(type) {
		case xproto.ExposeEvent:
			r.exposeMu.Do(func() { close(r.exposed) })
			continue
		case xproto.MappingNotifyEvent:
			// Like XRefreshKeyboardMapping: read the keymap now, before
			// the next event.
			r.loadKeymap(max)
			continue
		case xproto.ButtonPressEvent:
			rec = recEvent{kind: "press", button: byte(e.Detail), x: int(e.RootX), y: int(e.RootY), state: e.State}
		case xproto.ButtonReleaseEvent:
			rec = recEvent{kind: "release", button: byte(e.Detail), x: int(e.RootX), y: int(e.RootY), state: e.State}
		case xproto.MotionNotifyEvent:
			rec = recEvent{kind: "motion", x: int(e.RootX), y: int(e.RootY), state: e.State}
		case xproto.KeyPressEvent:
			rec = recEvent{kind: "keydown", keysym: r.keysym(e.Detail, e.State), state: e.State}
		case xproto.KeyReleaseEvent:
			rec = recEvent{kind: "keyup", keysym: r.keysym(e.Detail, e.State), state: e.State}
		default:
			continue
		}
		r.mu.Lock()
		r.events = append(r.events, rec)
		r.mu.Unlock()
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// waitFor polls until ok accepts the recorded events (or fails the test).
func (r *recorder) waitFor(t testing.TB, what string, ok func([]recEvent) bool) []recEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		evs := append([]recEvent(nil), r.events...)
		r.mu.Unlock()
		if ok(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; got %v", what, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func only(evs []recEvent, kinds ...string) []recEvent {
	var out []recEvent
	for _, e := range evs {
		for _, k := range kinds {
			if e.kind == k {
				out = append(out, e)
			}
		}
	}
	return out
}

// typedText is what the recorder's key presses spell (modifiers skipped).
func typedText(evs []recEvent) string {
	var s []rune
	for _, e := range evs {
		if e.kind != "keydown" {
			continue
		}
		switch {
		case e.keysym == ksReturn:
			s = append(s, '\n')
		case e.keysym == ksTab:
			s = append(s, '\t')
		default:
			if r := keysymRune(e.keysym); r != 0 {
				s = append(s, r)
			}
		}
	}
	return string(s)
}

func requireCode(t testing.TB, err error, code sandbox.Code) *sandbox.Error {
	t.Helper()
	require.Error(t, err)
	se, ok := err.(*sandbox.Error)
	require.True(t, ok, "want *sandbox.Error, got %T %v", err, err)
	require.Equal(t, code, se.Code, se.Message)
	return se
}

var bg = context.Background()
