package x11

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jezek/xgb/xproto"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func imageRect(x0, y0, x1, y1 int) image.Rectangle { return image.Rect(x0, y0, x1, y1) }

func TestParseKey(t *testing.T) {
	k := func(name string) xproto.Keysym { return xproto.Keysym(keysymNames[name]) }
	for _, tc := range []struct {
		in   string
		want []xproto.Keysym
	}{
		{"enter", []xproto.Keysym{k("Return")}},
		{"Return", []xproto.Keysym{k("Return")}},
		{"RETURN", []xproto.Keysym{k("Return")}},
		{"esc", []xproto.Keysym{k("Escape")}},
		{"Escape", []xproto.Keysym{k("Escape")}},
		{"tab", []xproto.Keysym{k("Tab")}},
		{"space", []xproto.Keysym{k("space")}},
		{" ", []xproto.Keysym{k("space")}},
		{"backspace", []xproto.Keysym{k("BackSpace")}},
		{"del", []xproto.Keysym{k("Delete")}},
		{"Insert", []xproto.Keysym{k("Insert")}},
		{"home", []xproto.Keysym{k("Home")}},
		{"END", []xproto.Keysym{k("End")}},
		{"pgup", []xproto.Keysym{k("Prior")}},
		{"page_up", []xproto.Keysym{k("Prior")}},
		{"PageDown", []xproto.Keysym{k("Next")}},
		{"ArrowUp", []xproto.Keysym{k("Up")}},
		{"left", []xproto.Keysym{k("Left")}},
		{"ctrl", []xproto.Keysym{k("Control_L")}},
		{"Control_R", []xproto.Keysym{k("Control_R")}},
		{"ctrl_r", []xproto.Keysym{k("Control_R")}},
		{"alt", []xproto.Keysym{k("Alt_L")}},
		{"shift", []xproto.Keysym{k("Shift_L")}},
		{"cmd", []xproto.Keysym{k("Super_L")}},
		{"win", []xproto.Keysym{k("Super_L")}},
		{"meta", []xproto.Keysym{k("Super_L")}},
		{"capslock", []xproto.Keysym{k("Caps_Lock")}},
		{"f1", []xproto.Keysym{k("F1")}},
		{"F24", []xproto.Keysym{k("F24")}},
		{"printscreen", []xproto.Keysym{k("Print")}},
		{"menu", []xproto.Keysym{k("Menu")}},
		{"KP_Enter", []xproto.Keysym{k("KP_Enter")}},
		{"kp_enter", []xproto.Keysym{k("KP_Enter")}},
		{"XF86AudioMute", []xproto.Keysym{0x1008ff12}},
		{"a", []xproto.Keysym{'a'}},
		{"A", []xproto.Keysym{'A'}},
		{"é", []xproto.Keysym{0xe9}},
		{"€", []xproto.Keysym{0x10020ac}},
		{"✓", []xproto.Keysym{0x1002713}},
		{"+", []xproto.Keysym{'+'}},
		{"ctrl+shift+t", []xproto.Keysym{k("Control_L"), k("Shift_L"), 't'}},
		{"ctrl++", []xproto.Keysym{k("Control_L"), '+'}},
		{"ctrl + c", []xproto.Keysym{k("Control_L"), 'c'}},
		{"0xff0d", []xproto.Keysym{k("Return")}},
		{"U+20AC", []xproto.Keysym{0x10020ac}},
	} {
		got, err := ParseKey(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "   ", "nosuchkey", "ctrl+", "+a", "ctrl+nosuch", "\x00", "\xff\xfe", "0x0"} {
		_, err := ParseKey(bad)
		require.Error(t, err, bad)
		se := err.(*sandbox.Error)
		require.Equal(t, sandbox.CodeInvalidArgument, se.Code, bad)
		require.Equal(t, "key", se.Details["field"])
	}
}

func TestRuneKeysym(t *testing.T) {
	for r, want := range map[rune]xproto.Keysym{
		'a': 'a', ' ': 0x20, 'ÿ': 0xff, '\n': ksReturn, '\t': ksTab, 0x01: 0, 0x85: 0,
		'€': 0x10020ac, '日': 0x10065e5, '👍': 0x101f44d,
	} {
		require.Equal(t, want, runeKeysym(r), "%U", r)
		if want >= 0x20 && want != ksReturn && want != ksTab {
			require.Equal(t, r, keysymRune(want))
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"ctrl+shift+t", "a", "€", "+", "++", "ctrl++", "U+1F600", "0x", "u", "F13", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ks, err := ParseKey(s)
		if err == nil && len(ks) == 0 {
			t.Fatalf("no keysyms and no error for %q", s)
		}
		for _, k := range ks {
			if k == 0 {
				t.Fatalf("NoSymbol for %q", s)
			}
		}
		_ = splitCombo(s)
	})
}

// TestKeysymTableIsGenerated: keysyms_table.go is what gen_keysyms.go
// writes from this machine's X11 headers (regenerate: go generate
// ./driver/x11).
func TestKeysymTableIsGenerated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "table.go")
	cmd := exec.Command("go", "run", "gen_keysyms.go", "-o", out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	got, err := os.ReadFile("keysyms_table.go")
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "keysyms_table.go is stale: run go generate ./driver/x11")
}
