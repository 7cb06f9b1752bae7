package x11

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

func TestDial(t *testing.T) {
	sock, cookie, name, auth := x11test.StartXvfb(t, 640, 480)

	t.Run("cookie", func(t *testing.T) {
		c, err := Dial(sock, cookie)
		require.NoError(t, err)
		size, err := c.ScreenSize(bg)
		require.NoError(t, err)
		require.Equal(t, sandbox.Resolution{Width: 640, Height: 480}, size)
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "Close is idempotent")
		requireCode(t, c.MoveMouse(bg, sandbox.Point{X: 1, Y: 1}), sandbox.CodeBackendUnavailable)
	})
	t.Run("wrong cookie", func(t *testing.T) {
		bad := append([]byte(nil), cookie...)
		bad[0] ^= 0xff
		_, err := Dial(sock, bad)
		se := requireCode(t, err, sandbox.CodeBackendUnavailable)
		require.NotContains(t, se.Message, sock, "no host paths in messages")
	})
	t.Run("short cookie", func(t *testing.T) {
		_, err := Dial(sock, cookie[:8])
		requireCode(t, err, sandbox.CodeInvalidArgument)
	})
	t.Run("no server", func(t *testing.T) {
		_, err := Dial(filepath.Join(t.TempDir(), "X0"), cookie)
		requireCode(t, err, sandbox.CodeBackendUnavailable)
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv("DISPLAY", name)
		t.Setenv("XAUTHORITY", auth)
		c, err := DialEnv()
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.MoveMouse(bg, sandbox.Point{X: 5, Y: 6}))
	})
}

func TestMoveMouse(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	for _, tc := range []struct {
		name string
		p    sandbox.Point
		bad  bool
	}{
		{"origin", sandbox.Point{X: 0, Y: 0}, false},
		{"middle", sandbox.Point{X: 100, Y: 200}, false},
		{"bottom right", sandbox.Point{X: 1023, Y: 767}, false},
		{"negative x", sandbox.Point{X: -1, Y: 10}, true},
		{"x past edge", sandbox.Point{X: 1024, Y: 10}, true},
		{"y past edge", sandbox.Point{X: 10, Y: 768}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.c.MoveMouse(bg, tc.p)
			if tc.bad {
				se := requireCode(t, err, sandbox.CodeInvalidArgument)
				require.Equal(t, 1024, se.Details["width"])
				require.Equal(t, 768, se.Details["height"])
				return
			}
			require.NoError(t, err)
			// xdotool is an independent client.
			out := x11test.Run(t, d.name, d.auth, "xdotool", "getmouselocation", "--shell")
			require.Contains(t, out, "X="+strconv.Itoa(tc.p.X)+"\n")
			require.Contains(t, out, "Y="+strconv.Itoa(tc.p.Y)+"\n")
			got, err := d.c.CursorPosition(bg)
			require.NoError(t, err)
			require.Equal(t, tc.p, got)
		})
	}
}

func TestClick(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	for _, tc := range []struct {
		name   string
		p      *sandbox.Point
		button sandbox.Button
		count  int
		mods   []string
		btn    byte
		state  uint16
	}{
		{"left", &sandbox.Point{X: 10, Y: 20}, sandbox.ButtonLeft, 1, nil, 1, 0},
		{"default button", &sandbox.Point{X: 11, Y: 21}, "", 1, nil, 1, 0},
		{"right", &sandbox.Point{X: 300, Y: 400}, sandbox.ButtonRight, 1, nil, 3, 0},
		{"middle", &sandbox.Point{X: 799, Y: 599}, sandbox.ButtonMiddle, 1, nil, 2, 0},
		{"double", &sandbox.Point{X: 50, Y: 60}, sandbox.ButtonLeft, 2, nil, 1, 0},
		{"triple", &sandbox.Point{X: 70, Y: 80}, sandbox.ButtonLeft, 3, nil, 1, 0},
		{"ctrl+shift click", &sandbox.Point{X: 90, Y: 100}, sandbox.ButtonLeft, 1, []string{"ctrl", "shift"}, 1,
			xproto.ModMaskControl | xproto.ModMaskShift},
		{"combo string modifier", &sandbox.Point{X: 91, Y: 101}, sandbox.ButtonLeft, 1, []string{"ctrl+alt"}, 1,
			xproto.ModMaskControl | xproto.ModMask1},
		{"where the pointer is", nil, sandbox.ButtonLeft, 1, nil, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			require.NoError(t, d.c.Click(bg, tc.p, tc.button, tc.count, tc.mods))
			evs := rec.waitFor(t, "clicks", func(e []recEvent) bool { return len(only(e, "release")) >= tc.count })
			want := tc.p
			if want == nil {
				pos, err := d.c.CursorPosition(bg)
				require.NoError(t, err)
				want = &pos
			}
			presses := only(evs, "press")
			require.Len(t, presses, tc.count)
			for _, p := range presses {
				require.Equal(t, tc.btn, p.button)
				require.Equal(t, want.X, p.x)
				require.Equal(t, want.Y, p.y)
				require.Equal(t, tc.state, p.state&0xff, "modifiers held during the click")
			}
		})
	}
	t.Run("bad arguments", func(t *testing.T) {
		se := requireCode(t, d.c.Click(bg, &sandbox.Point{X: 1, Y: 1}, "fourth", 1, nil), sandbox.CodeInvalidArgument)
		require.Equal(t, "button", se.Details["field"])
		se = requireCode(t, d.c.Click(bg, &sandbox.Point{X: 1, Y: 1}, sandbox.ButtonLeft, 4, nil), sandbox.CodeInvalidArgument)
		require.Equal(t, "count", se.Details["field"])
		se = requireCode(t, d.c.Click(bg, &sandbox.Point{X: 800, Y: 1}, sandbox.ButtonLeft, 1, nil), sandbox.CodeInvalidArgument)
		require.Equal(t, 800, se.Details["width"])
		se = requireCode(t, d.c.Click(bg, nil, sandbox.ButtonLeft, 1, []string{"hyperdrive"}), sandbox.CodeInvalidArgument)
		require.Equal(t, "modifiers", se.Details["field"])
	})
}

func TestMouseDownUpAndDrag(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)

	t.Run("down up", func(t *testing.T) {
		require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 40, Y: 50}))
		rec.reset()
		require.NoError(t, d.c.MouseDown(bg, sandbox.ButtonRight))
		require.NoError(t, d.c.MouseUp(bg, sandbox.ButtonRight))
		evs := rec.waitFor(t, "press+release", func(e []recEvent) bool { return len(only(e, "release")) == 1 })
		evs = only(evs, "press", "release")
		require.Equal(t, "press", evs[0].kind)
		require.Equal(t, byte(3), evs[0].button)
		require.Equal(t, 40, evs[0].x)
	})
	t.Run("drag", func(t *testing.T) {
		rec.reset()
		from, to := sandbox.Point{X: 100, Y: 100}, sandbox.Point{X: 500, Y: 300}
		require.NoError(t, d.c.Drag(bg, from, to, sandbox.ButtonLeft))
		evs := rec.waitFor(t, "drag", func(e []recEvent) bool { return len(only(e, "release")) == 1 })
		var press, release int = -1, -1
		var held []recEvent
		for i, e := range evs {
			switch {
			case e.kind == "press":
				press = i
				require.Equal(t, from.X, e.x)
				require.Equal(t, from.Y, e.y)
			case e.kind == "release":
				release = i
				require.Equal(t, to.X, e.x)
				require.Equal(t, to.Y, e.y)
			case e.kind == "motion" && press >= 0 && release < 0:
				require.NotZero(t, e.state&xproto.KeyButMaskButton1, "motion with the button held")
				held = append(held, e)
			}
		}
		require.True(t, press >= 0 && release > press)
		require.GreaterOrEqual(t, len(held), 3, "the client saw the pointer move while pressed")
		require.Equal(t, to.X, held[len(held)-1].x)
	})
	t.Run("drag outside", func(t *testing.T) {
		se := requireCode(t, d.c.Drag(bg, sandbox.Point{X: 1, Y: 1}, sandbox.Point{X: 900, Y: 1}, sandbox.ButtonLeft), sandbox.CodeInvalidArgument)
		require.Equal(t, "to", se.Details["field"])
	})
}

func TestScroll(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	for _, tc := range []struct {
		dir    sandbox.ScrollDirection
		amount int
		button byte
		mods   []string
	}{
		{sandbox.ScrollUp, 3, 4, nil},
		{sandbox.ScrollDown, 1, 5, nil},
		{sandbox.ScrollLeft, 2, 6, nil},
		{sandbox.ScrollRight, 5, 7, []string{"ctrl"}},
	} {
		t.Run(string(tc.dir), func(t *testing.T) {
			rec.reset()
			p := &sandbox.Point{X: 200 + tc.amount, Y: 300}
			require.NoError(t, d.c.Scroll(bg, p, tc.dir, tc.amount, tc.mods))
			evs := rec.waitFor(t, "wheel", func(e []recEvent) bool { return len(only(e, "release")) == tc.amount })
			for _, e := range only(evs, "press") {
				require.Equal(t, tc.button, e.button)
				require.Equal(t, p.X, e.x)
				if tc.mods != nil {
					require.NotZero(t, e.state&xproto.ModMaskControl)
				}
			}
			require.Len(t, only(evs, "press"), tc.amount)
		})
	}
	se := requireCode(t, d.c.Scroll(bg, nil, "sideways", 1, nil), sandbox.CodeInvalidArgument)
	require.Equal(t, "direction", se.Details["field"])
	requireCode(t, d.c.Scroll(bg, nil, sandbox.ScrollUp, -2, nil), sandbox.CodeInvalidArgument)
}

// TestTypeTextManyDistinctFirst: more distinct missing characters than
// spare keycodes in the very first chunk a connection types.
func TestTypeTextManyDistinctFirst(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 400, Y: 300}))
	var many []rune
	for r := rune(0x3041); len(many) < 45; r++ { // hiragana
		many = append(many, r)
	}
	_, err := d.c.TypeText(bg, string(many), 100, 0)
	require.NoError(t, err)
	evs := rec.waitFor(t, "typing", func(e []recEvent) bool { return len([]rune(typedText(e))) >= len(many) })
	require.Equal(t, string(many), typedText(evs))
}

func TestTypeText(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 400, Y: 300}))

	// 60 distinct CJK characters: more than the spare keycodes, so borrowed
	// ones are reused while the client must still translate correctly.
	var many []rune
	for r := rune(0x4e00); len(many) < 60; r += 7 {
		many = append(many, r)
	}
	for _, tc := range []struct {
		name, text string
		chunk      int
	}{
		{"ascii", "Hello, World! ~`{}|<>?\"'0123456789", 25},
		{"unicode", "héllo wörld €✓ 日本", 5},
		{"newline and tab", "a\tb\nc", 0},
		{"crlf", "x\r\ny", 0},
		{"emoji", "ok 👍🏽", 3},
		{"many distinct", string(many), 10},
		{"many distinct in one chunk", string(many[:50]) + "x" + string(many[10:]), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			n, err := d.c.TypeText(bg, tc.text, tc.chunk, time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, len([]rune(tc.text)), n)
			want := strings.ReplaceAll(tc.text, "\r\n", "\n")
			evs := rec.waitFor(t, "typing", func(e []recEvent) bool { return len([]rune(typedText(e))) >= len([]rune(want)) })
			require.Equal(t, want, typedText(evs))
		})
	}
	t.Run("cancel between chunks", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(bg, 150*time.Millisecond)
		defer cancel()
		n, err := d.c.TypeText(ctx, strings.Repeat("abcde", 20), 5, 100*time.Millisecond)
		requireCode(t, err, sandbox.CodeTimeout)
		require.Greater(t, n, 0)
		require.Less(t, n, 100)
		require.Zero(t, n%5, "stops between chunks")
	})
}

// TestTypeTextXterm types into a real terminal application (cat > file).
func TestTypeTextXterm(t *testing.T) {
	d := newDisplay(t, 800, 600)
	out := filepath.Join(t.TempDir(), "typed.txt")
	x11test.Start(t, d.name, d.auth, "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"xterm", "-u8", "-geometry", "80x24+0+0", "-e", "sh", "-c", "stty -echo; cat > "+out)
	waitWindows(t, d.c, "xterm", 1)
	// No window manager: the focus follows the pointer.
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 100, Y: 100}))
	text := "héllo wörld €✓ 日本 👍 ASCII ~!@#$%^&*()_+\n"
	n, err := d.c.TypeText(bg, text, 25, 0)
	require.NoError(t, err)
	require.Equal(t, len([]rune(text)), n)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(out)
		return string(b) == text
	}, 5*time.Second, 20*time.Millisecond, "file holds what was typed")
}

func waitWindows(t *testing.T, c *Conn, app string, n int) []sandbox.WindowID {
	t.Helper()
	var ids []sandbox.WindowID
	require.Eventually(t, func() bool {
		var err error
		ids, err = c.ApplicationWindows(bg, app)
		require.NoError(t, err)
		return len(ids) >= n
	}, 10*time.Second, 50*time.Millisecond, "windows of %s", app)
	return ids
}

func TestPressKeys(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 400, Y: 300}))
	sym := func(name string) xproto.Keysym { return xproto.Keysym(keysymNames[name]) }
	for _, tc := range []struct {
		name string
		keys []string
		want []xproto.Keysym // key presses in order
		mods uint16          // state of the last press
	}{
		{"enter", []string{"enter"}, []xproto.Keysym{sym("Return")}, 0},
		{"ctrl a", []string{"ctrl", "a"}, []xproto.Keysym{sym("Control_L"), 'a'}, xproto.ModMaskControl},
		{"ctrl+shift+t", []string{"ctrl+shift+t"}, []xproto.Keysym{sym("Control_L"), sym("Shift_L"), 'T'}, xproto.ModMaskControl | xproto.ModMaskShift},
		{"upper case adds shift", []string{"A"}, []xproto.Keysym{sym("Shift_L"), 'A'}, xproto.ModMaskShift},
		{"alt f4", []string{"Alt", "F4"}, []xproto.Keysym{sym("Alt_L"), sym("F4")}, xproto.ModMask1},
		{"keysym names", []string{"KP_Enter"}, []xproto.Keysym{sym("KP_Enter")}, 0},
		{"media key", []string{"XF86AudioMute"}, []xproto.Keysym{sym("XF86AudioMute")}, 0},
		{"missing from keymap", []string{"ctrl", "€"}, []xproto.Keysym{sym("Control_L"), 0x10020ac}, xproto.ModMaskControl},
		{"super", []string{"cmd", "pageup"}, []xproto.Keysym{sym("Super_L"), sym("Prior")}, xproto.ModMask4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			require.NoError(t, d.c.PressKeys(bg, tc.keys))
			evs := rec.waitFor(t, "keys", func(e []recEvent) bool { return len(only(e, "keyup")) >= len(tc.want) })
			downs := only(evs, "keydown")
			var got []xproto.Keysym
			for _, e := range downs {
				got = append(got, e.keysym)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.mods, downs[len(downs)-1].state&0xff)
			// Released in reverse order.
			ups := only(evs, "keyup")
			require.Len(t, ups, len(tc.want))
			require.Equal(t, downs[0].keysym, ups[len(ups)-1].keysym)
		})
	}
	t.Run("bad key", func(t *testing.T) {
		se := requireCode(t, d.c.PressKeys(bg, []string{"ctrl", "nosuchkey"}), sandbox.CodeInvalidArgument)
		require.Equal(t, "keys", se.Details["field"])
		requireCode(t, d.c.PressKeys(bg, nil), sandbox.CodeInvalidArgument)
		requireCode(t, d.c.KeyDown(bg, ""), sandbox.CodeInvalidArgument)
	})
	t.Run("hold", func(t *testing.T) {
		rec.reset()
		require.NoError(t, d.c.KeyDown(bg, "shift"))
		_, err := d.c.TypeText(bg, "b", 0, 0)
		require.NoError(t, err)
		require.NoError(t, d.c.KeyUp(bg, "shift"))
		evs := rec.waitFor(t, "held shift", func(e []recEvent) bool { return len(only(e, "keyup")) >= 2 })
		require.Equal(t, "B", typedText(evs))
	})
}

func TestServerGone(t *testing.T) {
	d := newDisplay(t, 320, 240)
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 1, Y: 1}))
	pid := x11test.Pid(d.name)
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		err := d.c.MoveMouse(bg, sandbox.Point{X: 2, Y: 2})
		return sandbox.CodeOf(err) == sandbox.CodeBackendUnavailable
	}, 5*time.Second, 20*time.Millisecond)
	_, err := d.c.Screenshot(bg, imageRect(0, 0, 0, 0))
	requireCode(t, err, sandbox.CodeBackendUnavailable)
	_, err = d.c.TypeText(bg, "x", 0, 0)
	requireCode(t, err, sandbox.CodeBackendUnavailable)
	require.NoError(t, d.c.Close())
}

func TestKeymapRestoredOnClose(t *testing.T) {
	d := newDisplay(t, 320, 240)
	_, err := d.c.TypeText(bg, "€✓", 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, d.c.kb.borrowed)
	spares := len(d.c.kb.spare)
	require.NoError(t, d.c.Close())

	c2, err := Dial(d.sock, d.cookie)
	require.NoError(t, err)
	defer c2.Close()
	require.Equal(t, spares+2, len(c2.kb.spare), "borrowed keycodes are empty again")
	_, ok := c2.kb.index[0x10020ac]
	require.False(t, ok)
}

// TestConcurrentCalls: calls from many goroutines are serialised, so each
// click arrives whole (press then release) and typed words do not
// interleave.
func TestConcurrentCalls(t *testing.T) {
	d := newDisplay(t, 800, 600)
	rec := newRecorder(t, d, 0, 0, 800, 600)
	require.NoError(t, d.c.MoveMouse(bg, sandbox.Point{X: 400, Y: 300}))
	done := make(chan error, 8)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := d.c.TypeText(bg, "abc", 0, 0)
			done <- err
		}()
		go func() {
			done <- d.c.Click(bg, &sandbox.Point{X: 10 + i, Y: 10}, sandbox.ButtonLeft, 1, nil)
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-done)
	}
	evs := rec.waitFor(t, "all events", func(e []recEvent) bool {
		return len(only(e, "release")) == 4 && len(only(e, "keyup")) == 12
	})
	require.Equal(t, "abcabcabcabc", typedText(evs))
	var last string
	for _, e := range only(evs, "press", "release") {
		require.NotEqual(t, last, e.kind, "press and release alternate")
		last = e.kind
	}
}

// TestTypeTextGTK types into a GTK editor (mousepad, which keeps its own
// XKB keymap) and reads the text back through the clipboard.
func TestTypeTextGTK(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	startOpenbox(t, d)
	home := t.TempDir()
	x11test.Start(t, d.name, d.auth, "env", "HOME="+home, "XDG_CONFIG_HOME="+home, "LANG=C.UTF-8", "NO_AT_BRIDGE=1",
		"dbus-run-session", "--", "mousepad", "--disable-server")
	win := waitWindows(t, d.c, "mousepad", 1)[0]
	require.Eventually(t, func() bool {
		cur, err := d.c.CurrentWindow(bg)
		require.NoError(t, err)
		return cur == win
	}, 10*time.Second, 50*time.Millisecond, "mousepad focused")
	time.Sleep(500 * time.Millisecond) // the text view takes the focus after mapping

	text := "héllo wörld €✓ 日本 👍 ~!@#$%^&*()_+ ABC"
	n, err := d.c.TypeText(bg, text, 10, 10*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, len([]rune(text)), n)
	require.NoError(t, d.c.PressKeys(bg, []string{"ctrl+a"}))
	require.NoError(t, d.c.PressKeys(bg, []string{"ctrl", "c"}))
	var got string
	require.Eventually(t, func() bool {
		cmd := exec.Command("xclip", "-o", "-selection", "clipboard")
		cmd.Env = x11test.Env(d.name, d.auth)
		out, err := cmd.Output()
		got = string(out)
		return err == nil && got == text
	}, 10*time.Second, 100*time.Millisecond, "clipboard holds %q, got %q", text, got)
}

// TestRapidInputUnderWM: under openbox, whose click-to-focus grabs freeze
// the pointer at each press until it replays the press, back-to-back
// calls on different windows must each land at their own point (the
// motion of the next call must not overtake the queued button events).
func TestRapidInputUnderWM(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	startOpenbox(t, d)
	const w, h = 260, 220
	var recs []*recorder
	for _, p := range [][2]int{{40, 60}, {380, 60}, {720, 60}, {40, 420}, {380, 420}} {
		recs = append(recs, newManagedRecorder(t, d, p[0], p[1], w, h))
	}
	type origin struct{ x, y int }
	origins := make([]origin, len(recs))
	require.Eventually(t, func() bool { // framed and placed where asked
		for i, r := range recs {
			x, y := r.origin(t)
			origins[i] = origin{x, y}
			if x < 30 || y < 50 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "openbox framed the windows")

	type click struct {
		win    int
		p      sandbox.Point
		button sandbox.Button
		btn    byte
		count  int
	}
	var clicks []click
	buttons := []struct {
		b   sandbox.Button
		btn byte
	}{{sandbox.ButtonLeft, 1}, {sandbox.ButtonRight, 3}, {sandbox.ButtonMiddle, 2}}
	for round := 0; round < 3; round++ {
		for i := range recs {
			b := buttons[(round+i)%len(buttons)]
			p := sandbox.Point{X: origins[i].x + 20 + 70*round + i, Y: origins[i].y + 30 + 50*round + i}
			clicks = append(clicks, click{i, p, b.b, b.btn, 1 + (round+i)%2})
		}
	}
	want := make([][]string, len(recs))
	for _, c := range clicks {
		require.NoError(t, d.c.Click(bg, &c.p, c.button, c.count, nil))
		for n := 0; n < c.count; n++ {
			want[c.win] = append(want[c.win],
				fmt.Sprintf("press b%d (%d,%d)", c.btn, c.p.X, c.p.Y),
				fmt.Sprintf("release b%d (%d,%d)", c.btn, c.p.X, c.p.Y))
		}
	}
	// Wheel and a press held across calls, on windows in turn.
	for i := range recs {
		p := sandbox.Point{X: origins[i].x + 200, Y: origins[i].y + 180}
		require.NoError(t, d.c.Scroll(bg, &p, sandbox.ScrollDown, 2, nil))
		for n := 0; n < 2; n++ {
			want[i] = append(want[i], fmt.Sprintf("press b5 (%d,%d)", p.X, p.Y), fmt.Sprintf("release b5 (%d,%d)", p.X, p.Y))
		}
		p.X -= 20 // the horizontal wheel has no bit in the pointer state
		require.NoError(t, d.c.Scroll(bg, &p, sandbox.ScrollRight, 1, nil))
		want[i] = append(want[i], fmt.Sprintf("press b7 (%d,%d)", p.X, p.Y), fmt.Sprintf("release b7 (%d,%d)", p.X, p.Y))
		q := sandbox.Point{X: p.X - 100, Y: p.Y - 10}
		require.NoError(t, d.c.MoveMouse(bg, q))
		require.NoError(t, d.c.MouseDown(bg, sandbox.ButtonLeft))
		require.NoError(t, d.c.MouseUp(bg, sandbox.ButtonLeft))
		want[i] = append(want[i], fmt.Sprintf("press b1 (%d,%d)", q.X, q.Y), fmt.Sprintf("release b1 (%d,%d)", q.X, q.Y))
	}
	for i, r := range recs {
		evs := r.waitFor(t, fmt.Sprintf("window %d's button events", i), func(e []recEvent) bool {
			return len(only(e, "press", "release")) >= len(want[i])
		})
		var got []string
		for _, e := range only(evs, "press", "release") {
			got = append(got, fmt.Sprintf("%s b%d (%d,%d)", e.kind, e.button, e.x, e.y))
		}
		require.Equal(t, want[i], got, "window %d", i)
	}
}
