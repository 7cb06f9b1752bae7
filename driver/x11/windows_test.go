package x11

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// startOpenbox runs openbox and waits until it has started up: its
// --startup command runs once it manages the screen and handles requests
// (_NET_SUPPORTING_WM_CHECK shows earlier: a window mapped then could be
// left unmanaged and unmapped).
func startOpenbox(t testing.TB, d *display) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "openbox-ready")
	x11test.Start(t, d.name, d.auth, "openbox", "--sm-disable", "--startup", "touch "+ready)
	require.Eventually(t, func() bool {
		_, err := os.Stat(ready)
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "openbox up")
}

func xterm(t *testing.T, d *display, class, name, title string) {
	x11test.Start(t, d.name, d.auth, "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"xterm", "-u8", "-class", class, "-name", name, "-title", title, "-geometry", "40x10+10+10",
		"-e", "sleep", "60")
}

func TestWindows(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	startOpenbox(t, d)
	xterm(t, d, "VmTestClass", "vmtestinstance", "Hello Title ✓")
	ids := waitWindows(t, d.c, "vmtestclass", 1)
	require.Len(t, ids, 1)
	win := ids[0]

	for _, tc := range []struct {
		app  string
		want int
	}{
		{"vmtestclass", 1},    // WM_CLASS class, case-insensitive
		{"VMTESTINSTANCE", 1}, // WM_CLASS instance
		{"TestInst", 1},       // substring
		{"hello title", 1},    // title
		{"✓", 1},              // UTF-8 title
		{"firefox", 0},
		{"", 1}, // everything
	} {
		t.Run("app "+tc.app, func(t *testing.T) {
			got, err := d.c.ApplicationWindows(bg, tc.app)
			require.NoError(t, err)
			require.Len(t, got, tc.want)
			if tc.want > 0 {
				require.Equal(t, win, got[0])
			}
		})
	}

	title, err := d.c.WindowTitle(bg, win)
	require.NoError(t, err)
	require.Equal(t, "Hello Title ✓", title)

	// openbox focuses the new window and publishes _NET_ACTIVE_WINDOW.
	require.Eventually(t, func() bool {
		cur, err := d.c.CurrentWindow(bg)
		require.NoError(t, err)
		return cur == win
	}, 5*time.Second, 50*time.Millisecond)

	// A second window takes the focus.
	xterm(t, d, "OtherClass", "other", "Second")
	other := waitWindows(t, d.c, "otherclass", 1)[0]
	require.Eventually(t, func() bool {
		cur, err := d.c.CurrentWindow(bg)
		require.NoError(t, err)
		return cur == other
	}, 5*time.Second, 50*time.Millisecond)
	all, err := d.c.ApplicationWindows(bg, "")
	require.NoError(t, err)
	require.ElementsMatch(t, []sandbox.WindowID{win, other}, all)

	t.Run("bad ids", func(t *testing.T) {
		_, err := d.c.WindowTitle(bg, 0)
		requireCode(t, err, sandbox.CodeInvalidArgument)
		_, err = d.c.WindowTitle(bg, 0x7ffffff)
		se := requireCode(t, err, sandbox.CodeInvalidArgument)
		require.Equal(t, "window_id", se.Details["field"])
	})
}

func TestWindowsWithoutWM(t *testing.T) {
	d := newDisplay(t, 800, 600)
	cur, err := d.c.CurrentWindow(bg)
	require.NoError(t, err)
	require.Equal(t, sandbox.WindowID(d.c.root), cur, "nothing focused: the root window")

	xterm(t, d, "Bare", "bareinstance", "No WM here")
	ids := waitWindows(t, d.c, "bare", 1)
	require.Len(t, ids, 1)
	title, err := d.c.WindowTitle(bg, ids[0])
	require.NoError(t, err)
	require.Equal(t, "No WM here", title)

	// Focus a child of the xterm window: CurrentWindow climbs to the
	// top-level window.
	tree, err := xproto.QueryTree(d.c.xc, xproto.Window(ids[0])).Reply()
	require.NoError(t, err)
	target := xproto.Window(ids[0])
	if len(tree.Children) > 0 {
		target = tree.Children[0]
	}
	require.NoError(t, xproto.SetInputFocusChecked(d.c.xc, xproto.InputFocusParent, target, xproto.TimeCurrentTime).Check())
	cur, err = d.c.CurrentWindow(bg)
	require.NoError(t, err)
	require.Equal(t, ids[0], cur)
}

func TestCompoundText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                       "plain",
		"caf\xe9":                     "café",
		"Hello \x1b%G✓ 日本\x1b%@ done": "Hello ✓ 日本 done",
		"\x1b-Acaf\xe9":               "café",
		"\x1b%G\xff\x1b%@":            "\uFFFD",
		"\x1b":                        "",
		"\x1b%":                       "",
	} {
		require.Equal(t, want, compoundText([]byte(in)), "%q", in)
	}
}

// TestDragMovesWindow drags a window by its title bar under openbox.
func TestDragMovesWindow(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	startOpenbox(t, d)
	xterm(t, d, "DragMe", "dragme", "Drag me")
	win := xproto.Window(waitWindows(t, d.c, "dragme", 1)[0])
	pos := func() (int, int) {
		r, err := xproto.TranslateCoordinates(d.c.xc, win, d.c.root, 0, 0).Reply()
		require.NoError(t, err)
		return int(r.DstX), int(r.DstY)
	}
	var x0, y0 int
	require.Eventually(t, func() bool { // wait until openbox framed it
		x0, y0 = pos()
		return y0 > 12
	}, 5*time.Second, 50*time.Millisecond)
	from := sandbox.Point{X: x0 + 60, Y: y0 - 8} // in the title bar
	to := sandbox.Point{X: from.X + 300, Y: from.Y + 200}
	require.NoError(t, d.c.Drag(bg, from, to, sandbox.ButtonLeft))
	require.Eventually(t, func() bool {
		x, y := pos()
		return x == x0+300 && y == y0+200
	}, 5*time.Second, 50*time.Millisecond, "window moved by the drag")
}
