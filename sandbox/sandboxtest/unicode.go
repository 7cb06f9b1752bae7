package sandboxtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// unicodeText is typed into each application: Latin-1 letters (lost in a
// terminal without a UTF-8 locale, as on E2B through envd before the
// backend set one), a symbol outside Latin-1 and CJK.
const unicodeText = "tok-Ünï € 日本"

// unicodeInApps types non-ASCII text into the applications an agent uses
// (a terminal's shell, the text editor, the browser), each started the
// way the tools start them (Launch), and reads it back from what the
// application did with it: a file the shell wrote, the file the editor
// saved, the page title the browser's script set.
func (s *suite) unicodeInApps(t *testing.T, m *sandbox.Manager, res sandbox.Resolution) {
	t.Run("Terminal", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "uni", sandbox.Config{Resolution: res})
		_, err := sb.Instance().Launch(ctxT(t), "terminal", "")
		require.NoError(t, err)
		window(t, sb, "xterm", "")
		// The shell reads the keyboard once it has drawn its prompt.
		eventually(t, 30*time.Second, "a shell in the terminal", func() error {
			res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: "pgrep -x bash -P \"$(pgrep -d, -x xterm)\"", Timeout: 10 * time.Second})
			if err == nil && res.ExitCode != 0 {
				err = fmt.Errorf("no shell yet")
			}
			return err
		})
		typeInto(t, sb, "echo "+unicodeText+" > uni-term.txt\n")
		wantFile(t, sb, "uni-term.txt", unicodeText+"\n")
	})
	t.Run("Editor", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "uni", sandbox.Config{Resolution: res})
		require.NoError(t, sb.Instance().WriteFile(ctxT(t), "uni-edit.txt", nil))
		_, err := sb.Instance().Launch(ctxT(t), "text-editor", "uni-edit.txt")
		require.NoError(t, err)
		window(t, sb, "mousepad", "uni-edit.txt")
		typeInto(t, sb, unicodeText)
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error { return d.PressKeys(ctx, []string{"ctrl", "s"}) })
		wantFile(t, sb, "uni-edit.txt", unicodeText)
	})
	t.Run("Browser", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "uni", sandbox.Config{Resolution: res})
		// The title says ready only while the keyboard reaches the text
		// area: the window active (X focus) and the page, not the address
		// bar, focused. Keys typed before that would be lost to the page, not
		// to the input path (focus set once by the script was not enough:
		// in 1 run of 4 the window became active after the keys).
		page := `<!doctype html><meta charset="utf-8"><title>loading</title>` +
			`<textarea oninput="document.title='uni:'+this.value"></textarea>` +
			`<script>const t = document.querySelector('textarea');` +
			`setInterval(() => { if (document.title.startsWith('uni:')) return;` +
			` if (document.activeElement !== t) t.focus();` +
			` document.title = document.hasFocus() && document.activeElement === t ? 'uni-ready' : 'loading'; }, 50);</script>`
		require.NoError(t, sb.Instance().WriteFile(ctxT(t), "uni.html", []byte(page)))
		_, err := sb.Instance().Launch(ctxT(t), "chromium", "file://"+sandbox.DefaultWorkdir+"/uni.html")
		require.NoError(t, err)
		win := window(t, sb, "chromium", "uni-ready")
		// titled checks the page title the script set: "uni:" and what the
		// text area holds, dots first.
		titled := func(want string) func() error {
			return func() error {
				title, err := sb.Instance().Desktop().WindowTitle(ctxT(t), win)
				if typed, ok := strings.CutPrefix(title, "uni:"); err == nil && (!ok || !strings.HasPrefix(strings.TrimLeft(typed, "."), want)) {
					err = fmt.Errorf("title is %q", title)
				}
				return err
			}
		}
		// Ready by the page's word is not always ready for keys: once the
		// first keys after start-up went nowhere while the rest arrived.
		// Dots are typed until one reaches the text area, so what follows
		// tests the input path, not the browser's start-up.
		eventually(t, 30*time.Second, "a key reaching the text area", func() error {
			typeInto(t, sb, ".")
			return titled("")()
		})
		typeInto(t, sb, unicodeText)
		eventually(t, 30*time.Second, "the page title the script set", titled(unicodeText))
	})
}

func typeInto(t *testing.T, sb *sandbox.Sandbox, text string) {
	t.Helper()
	input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
		n, err := d.TypeText(ctx, text, 0, 0)
		if err == nil && n != len([]rune(text)) {
			err = fmt.Errorf("typed %d of %d characters", n, len([]rune(text)))
		}
		return err
	})
}

func wantFile(t *testing.T, sb *sandbox.Sandbox, path, want string) {
	t.Helper()
	eventually(t, 30*time.Second, path, func() error {
		b, err := sb.Instance().ReadFile(ctxT(t), path, 0)
		if err == nil && strings.TrimSuffix(string(b), "\n") != strings.TrimSuffix(want, "\n") {
			err = fmt.Errorf("file has %s, want %s", strconv.Quote(string(b)), strconv.Quote(want))
		}
		return err
	})
}
