// Package sandboxtest is the behavioural suite every sandbox backend must
// pass. It drives a backend only through the sandbox interfaces, via a
// sandbox.Manager (so quotas, expiry, stats and clean-up are covered too),
// and checks results from inside the sandbox with ordinary tools (xdotool,
// xev, xsetroot, xclip, cat). It needs a desktop template with xterm,
// mousepad, xev, xwininfo, xdotool, xsetroot, xclip, stdbuf and bash.
package sandboxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/testwait"
	"github.com/vmservice/vmservice/sandbox"
)

// Run runs the whole suite. newProvider is called once per group of
// subtests that needs its own Manager; each Manager is closed at the end of
// its subtest (which also closes the provider).
func Run(t *testing.T, newProvider func(t *testing.T) sandbox.Provider) {
	s := &suite{newProvider: newProvider}
	t.Run("Desktop", s.desktop)
	t.Run("Commands", s.commands)
	t.Run("Files", s.files)
	t.Run("Limits", s.limits)
	t.Run("Isolation", s.isolation)
	t.Run("Network", s.network)
	t.Run("Manager", s.managerTests)
}

type suite struct {
	newProvider func(t *testing.T) sandbox.Provider
}

// manager makes a Manager over a fresh provider, closed in t.Cleanup.
func (s *suite) manager(t *testing.T, st sandbox.Settings) *sandbox.Manager {
	t.Helper()
	p := s.newProvider(t)
	m, err := sandbox.NewManager(p, st, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func create(t *testing.T, m *sandbox.Manager, owner string, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := m.Create(ctx, sandbox.CreateRequest{Owner: owner, Config: cfg})
	require.NoError(t, err)
	return sb
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sh runs a command that must succeed and returns its stdout.
func sh(t *testing.T, sb *sandbox.Sandbox, cmd string) string {
	t.Helper()
	res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: cmd, Timeout: 60 * time.Second})
	require.NoError(t, err, cmd)
	require.Equal(t, 0, res.ExitCode, "command %q failed: stdout %q stderr %q", cmd, res.Stdout, res.Stderr)
	return res.Stdout
}

// eventually polls fn until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, what string, fn func() error) {
	t.Helper()
	testwait.Until(t, d, what, fn)
}

func input(t *testing.T, sb *sandbox.Sandbox, fn func(ctx context.Context, d sandbox.Desktop) error) {
	t.Helper()
	ctx := ctxT(t)
	require.NoError(t, sb.Input(ctx, func(d sandbox.Desktop) error { return fn(ctx, d) }))
}

// window waits until an application's window with the given title exists,
// is viewable and has the focus, and returns it.
func window(t *testing.T, sb *sandbox.Sandbox, app, title string) sandbox.WindowID {
	t.Helper()
	var id sandbox.WindowID
	eventually(t, 30*time.Second, "window "+title, func() error {
		ctx := ctxT(t)
		ids, err := sb.Instance().Desktop().ApplicationWindows(ctx, app)
		if err != nil {
			return err
		}
		for _, w := range ids {
			if tt, err := sb.Instance().Desktop().WindowTitle(ctx, w); err == nil && strings.Contains(tt, title) {
				cur, err := sb.Instance().Desktop().CurrentWindow(ctx)
				if err != nil {
					return err
				}
				if cur != w {
					return fmt.Errorf("window %d found but window %d has the focus", w, cur)
				}
				id = w
				return nil
			}
		}
		return fmt.Errorf("no %s window titled %q among %v", app, title, ids)
	})
	return id
}

func (s *suite) desktop(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	res := sandbox.Resolution{Width: 1024, Height: 768}

	t.Run("ScreenSizeAndRootColour", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "alice", sandbox.Config{Resolution: res})
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			got, err := d.ScreenSize(ctx)
			require.NoError(t, err)
			assert.Equal(t, res, got)
			return nil
		})
		sh(t, sb, "xsetroot -solid '#3366cc'")
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			img, err := d.Screenshot(ctx, image.Rectangle{})
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, res.Width, res.Height), img.Bounds())
			for _, p := range []image.Point{{2, 2}, {res.Width - 3, res.Height - 3}, {res.Width / 2, res.Height / 2}, {10, res.Height - 10}} {
				c := img.RGBAAt(p.X, p.Y)
				assert.Equal(t, [3]uint8{0x33, 0x66, 0xcc}, [3]uint8{c.R, c.G, c.B}, "pixel at %v", p)
			}
			region := image.Rect(100, 50, 300, 150)
			img, err = d.Screenshot(ctx, region)
			require.NoError(t, err)
			assert.Equal(t, region.Dx(), img.Bounds().Dx())
			assert.Equal(t, region.Dy(), img.Bounds().Dy())
			c := img.RGBAAt(img.Bounds().Min.X+5, img.Bounds().Min.Y+5)
			assert.Equal(t, [3]uint8{0x33, 0x66, 0xcc}, [3]uint8{c.R, c.G, c.B})
			return nil
		})
	})

	t.Run("ScreenSettles", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "carol", sandbox.Config{Resolution: res})
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error { return d.MoveMouse(ctx, sandbox.Point{X: 7, Y: 9}) })
		s, err := sb.WaitSettled(ctxT(t), sandbox.SettleOptions{Quiet: 50 * time.Millisecond, Max: 30 * time.Second})
		require.NoError(t, err)
		if sb.Instance().Details()["input_path"] == "xdotool" {
			// E2B without the uploaded helper: nothing watches the screen.
			assert.False(t, s.Settled)
			assert.GreaterOrEqual(t, s.Waited, sandbox.FallbackPause)
			return
		}
		assert.True(t, s.Settled, "a still desktop settles (the backend watches its screen)")
		assert.GreaterOrEqual(t, s.Waited, 50*time.Millisecond)
	})

	t.Run("PointerLandsWhereAsked", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "alice", sandbox.Config{Resolution: res})
		// xev reports every button event with root coordinates.
		_, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Background: true,
			Command: "stdbuf -oL xev -geometry 700x500+100+100 -name xevtarget -event button > /tmp/xev.log 2>&1"})
		require.NoError(t, err)
		window(t, sb, "xev", "xevtarget")
		eventually(t, 20*time.Second, "xev window viewable", func() error {
			out, _ := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: "xwininfo -name xevtarget"})
			if out == nil || !strings.Contains(out.Stdout, "IsViewable") {
				return fmt.Errorf("not viewable yet")
			}
			return nil
		})
		pt := func(x, y int) *sandbox.Point { return &sandbox.Point{X: x, Y: y} }
		// Back to back, as an agent sends them: under the window manager's
		// click-to-focus grabs each click must still land at its own point.
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			require.NoError(t, d.Click(ctx, pt(300, 250), sandbox.ButtonLeft, 1, nil))
			require.NoError(t, d.Click(ctx, pt(400, 300), sandbox.ButtonRight, 1, nil))
			require.NoError(t, d.Click(ctx, pt(500, 350), sandbox.ButtonMiddle, 1, nil))
			require.NoError(t, d.Click(ctx, pt(350, 260), sandbox.ButtonLeft, 2, nil))
			require.NoError(t, d.Drag(ctx, sandbox.Point{X: 200, Y: 220}, sandbox.Point{X: 600, Y: 420}, sandbox.ButtonLeft))
			require.NoError(t, d.Scroll(ctx, pt(450, 300), sandbox.ScrollDown, 3, nil))
			require.NoError(t, d.Scroll(ctx, pt(450, 310), sandbox.ScrollUp, 2, nil))
			require.NoError(t, d.MoveMouse(ctx, sandbox.Point{X: 640, Y: 480}))
			require.NoError(t, d.MouseDown(ctx, sandbox.ButtonLeft))
			return d.MouseUp(ctx, sandbox.ButtonLeft)
		})
		want := []string{
			"P1@300,250", "R1@300,250", "P3@400,300", "R3@400,300", "P2@500,350", "R2@500,350",
			"P1@350,260", "R1@350,260", "P1@350,260", "R1@350,260",
			"P1@200,220", "R1@600,420",
			"P5@450,300", "R5@450,300", "P5@450,300", "R5@450,300", "P5@450,300", "R5@450,300",
			"P4@450,310", "R4@450,310", "P4@450,310", "R4@450,310",
			"P1@640,480", "R1@640,480",
		}
		re := regexp.MustCompile(`(ButtonPress|ButtonRelease) event.*\n.*root:\((\d+),(\d+)\),\n\s*state 0x[0-9a-f]+, button (\d+)`)
		var got []string
		eventually(t, 10*time.Second, "xev saw every event", func() error {
			got = nil
			for _, m := range re.FindAllStringSubmatch(sh(t, sb, "cat /tmp/xev.log"), -1) {
				got = append(got, fmt.Sprintf("%c%s@%s,%s", m[1][6], m[4], m[2], m[3]))
			}
			if len(got) < len(want) {
				return fmt.Errorf("%d of %d events so far: %v", len(got), len(want), got)
			}
			return nil
		})
		assert.Equal(t, want, got)
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			p, err := d.CursorPosition(ctx)
			require.NoError(t, err)
			assert.Equal(t, sandbox.Point{X: 640, Y: 480}, p)
			return nil
		})
		loc := sh(t, sb, "xdotool getmouselocation")
		assert.Contains(t, loc, "x:640 y:480")
	})

	t.Run("TypedTextArrivesInTerminal", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "bob", sandbox.Config{Resolution: res})
		_, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Background: true,
			Command: "xterm -title typing-target -e bash -c 'cat > typed.txt'"})
		require.NoError(t, err)
		win := window(t, sb, "xterm", "typing-target")
		text := "Hello, wörld! ✓ 日本語 € ß ABC xyz 0123 !@#$%^&*()_+-={}[]|:;\"'<>,.?/~`\nsecond line\n"
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			title, err := d.WindowTitle(ctx, win)
			require.NoError(t, err)
			assert.Equal(t, "typing-target", title)
			n, err := d.TypeText(ctx, text, 7, 0)
			require.NoError(t, err)
			assert.Equal(t, len([]rune(text)), n)
			return d.PressKeys(ctx, []string{"ctrl", "d"}) // end of input: cat exits
		})
		eventually(t, 15*time.Second, "typed text in the file", func() error {
			b, err := sb.Instance().ReadFile(ctxT(t), "typed.txt", 0)
			if err != nil {
				return err
			}
			if string(b) != text {
				return fmt.Errorf("file has %q", b)
			}
			return nil
		})
	})

	t.Run("UnicodeInApps", func(t *testing.T) {
		t.Parallel()
		s.unicodeInApps(t, m, res)
	})

	t.Run("ClipboardRoundTripInEditor", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "bob", sandbox.Config{Resolution: res})
		ctx := ctxT(t)
		const text = "clipboard round trip 42"
		require.NoError(t, sb.Instance().WriteFile(ctx, "clip.txt", []byte(text)))
		lr, err := sb.Instance().Launch(ctx, "text-editor", "clip.txt")
		require.NoError(t, err)
		assert.NotEmpty(t, lr.Command)
		window(t, sb, "mousepad", "clip.txt")
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			require.NoError(t, d.PressKeys(ctx, []string{"ctrl", "a"}))
			return d.PressKeys(ctx, []string{"ctrl+c"})
		})
		eventually(t, 10*time.Second, "clipboard holds the text", func() error {
			res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: "xclip -o -selection clipboard", Timeout: 5 * time.Second})
			if err != nil {
				return err
			}
			if res.Stdout != text {
				return fmt.Errorf("clipboard has %q (%s)", res.Stdout, res.Stderr)
			}
			return nil
		})
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			require.NoError(t, d.PressKeys(ctx, []string{"ctrl", "End"}))
			require.NoError(t, d.PressKeys(ctx, []string{"enter"}))
			require.NoError(t, d.PressKeys(ctx, []string{"ctrl", "v"}))
			return d.PressKeys(ctx, []string{"ctrl", "s"})
		})
		eventually(t, 10*time.Second, "pasted text saved", func() error {
			b, err := sb.Instance().ReadFile(ctxT(t), "clip.txt", 0)
			if err != nil {
				return err
			}
			if strings.TrimRight(string(b), "\n") != text+"\n"+text {
				return fmt.Errorf("file has %q", b)
			}
			return nil
		})
	})

	t.Run("Applications", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "carol", sandbox.Config{Resolution: res})
		ctx := ctxT(t)
		names, err := sb.Instance().Applications(ctx)
		require.NoError(t, err)
		assert.Contains(t, names, "terminal")
		_, err = sb.Instance().Launch(ctx, "no-such-app", "")
		require.Error(t, err)
		se := sandbox.AsError(err)
		assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
		assert.NotEmpty(t, se.Details["available"])
		lr, err := sb.Instance().Launch(ctx, "terminal", "")
		require.NoError(t, err)
		assert.NotEmpty(t, lr.Command)
		eventually(t, 30*time.Second, "terminal window", func() error {
			ids, err := sb.Instance().Desktop().ApplicationWindows(ctxT(t), "xterm")
			if err != nil || len(ids) == 0 {
				return fmt.Errorf("no window yet (%v)", err)
			}
			return nil
		})
		// open_file: a text file opens in the default editor.
		require.NoError(t, sb.Instance().WriteFile(ctx, "notes.txt", []byte("open me\n")))
		require.NoError(t, sb.Instance().OpenFile(ctx, "notes.txt"))
		eventually(t, 30*time.Second, "editor window for notes.txt", func() error {
			ids, err := sb.Instance().Desktop().ApplicationWindows(ctxT(t), "mousepad")
			if err != nil || len(ids) == 0 {
				return fmt.Errorf("no editor window yet (%v)", err)
			}
			return nil
		})
		err = sb.Instance().OpenFile(ctx, "missing.txt")
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	})
}

func (s *suite) commands(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	sb := create(t, m, "alice", sandbox.Config{Environment: map[string]string{"FROM_CONFIG": "cfg-value"}})
	inst := sb.Instance()

	t.Run("ExitCodeAndOutput", func(t *testing.T) {
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "echo out; echo err >&2; exit 7", Timeout: 30 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, 7, res.ExitCode)
		assert.Equal(t, "out\n", res.Stdout)
		assert.Equal(t, "err\n", res.Stderr)
		assert.False(t, res.TimedOut)
		assert.False(t, res.Truncated)
	})
	t.Run("Timeout", func(t *testing.T) {
		start := time.Now()
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "echo started; sleep 60 & sleep 60", Timeout: time.Second})
		require.NoError(t, err)
		assert.True(t, res.TimedOut)
		assert.NotEqual(t, 0, res.ExitCode)
		assert.Equal(t, "started\n", res.Stdout)
		assert.Less(t, time.Since(start), 30*time.Second)
		// The whole group is gone, the background sleep too.
		eventually(t, 10*time.Second, "sleeps killed", func() error {
			out := sh(t, sb, "pgrep -c -x sleep || true")
			if strings.TrimSpace(out) != "0" {
				return fmt.Errorf("%s sleep processes left", strings.TrimSpace(out))
			}
			return nil
		})
	})
	t.Run("Truncation", func(t *testing.T) {
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "head -c 100000 /dev/zero | tr '\\0' a; echo -n bb >&2", MaxOutput: 1000, Timeout: 30 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.True(t, res.Truncated)
		assert.Equal(t, strings.Repeat("a", 1000), res.Stdout)
		assert.Equal(t, "bb", res.Stderr)
	})
	t.Run("EnvironmentAndCwd", func(t *testing.T) {
		sh(t, sb, "mkdir -p sub/dir")
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: `echo "$FROM_CONFIG $FROM_REQ"; pwd`, Cwd: "sub/dir",
			Environment: map[string]string{"FROM_REQ": "req value"}, Timeout: 30 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, "cfg-value req value\n"+sb.Config().WorkingDirectory+"/sub/dir\n", res.Stdout)
		assert.Equal(t, sb.Config().WorkingDirectory+"\n", sh(t, sb, "pwd"))
		_, err = inst.Run(ctxT(t), sandbox.CommandRequest{Command: "true", Environment: map[string]string{"1BAD": "x"}})
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
		_, err = inst.Run(ctxT(t), sandbox.CommandRequest{Command: "true", Cwd: "does/not/exist"})
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	})
	t.Run("Background", func(t *testing.T) {
		start := time.Now()
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "sleep 1; echo done > bg.txt", Background: true})
		require.NoError(t, err)
		assert.Greater(t, res.PID, 0)
		assert.Less(t, time.Since(start), 5*time.Second)
		eventually(t, 20*time.Second, "background command finished", func() error {
			b, err := inst.ReadFile(ctxT(t), "bg.txt", 0)
			if err != nil {
				return err
			}
			if string(b) != "done\n" {
				return fmt.Errorf("bg.txt has %q", b)
			}
			return nil
		})
	})
	t.Run("StreamingAndCancel", func(t *testing.T) {
		var mu sync.Mutex
		var chunks []string
		res, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "for i in 1 2 3; do echo $i; sleep 0.1; done",
			Timeout: 30 * time.Second, OnOutput: func(stream string, c []byte) {
				mu.Lock()
				chunks = append(chunks, stream+":"+string(c))
				mu.Unlock()
			}})
		require.NoError(t, err)
		assert.Equal(t, "1\n2\n3\n", res.Stdout)
		mu.Lock()
		assert.Equal(t, "stdout:1\nstdout:2\nstdout:3\n", strings.Join(chunks, ""))
		mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = inst.Run(ctx, sandbox.CommandRequest{Command: "sleep 30"})
		assert.Error(t, err)
		assert.Less(t, time.Since(start), 20*time.Second)
	})
	t.Run("Invalid", func(t *testing.T) {
		_, err := inst.Run(ctxT(t), sandbox.CommandRequest{Command: "  "})
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	})
}

func (s *suite) files(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	sb := create(t, m, "alice", sandbox.Config{})
	inst := sb.Instance()
	ctx := ctxT(t)

	t.Run("BinaryRoundTrip", func(t *testing.T) {
		data := make([]byte, 1<<20)
		_, _ = rand.Read(data)
		for i := 0; i < 256; i++ {
			data[i] = byte(i)
		}
		require.NoError(t, inst.WriteFile(ctx, "deep/new/dir/blob.bin", data))
		got, err := inst.ReadFile(ctx, "deep/new/dir/blob.bin", 0)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "content differs")
		// And as seen from inside.
		sum := sh(t, sb, "sha256sum < deep/new/dir/blob.bin | cut -c1-64")
		assert.Len(t, strings.TrimSpace(sum), 64)
		require.NoError(t, inst.WriteFile(ctx, "empty.txt", nil))
		got, err = inst.ReadFile(ctx, sb.Config().WorkingDirectory+"/empty.txt", 0)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("List", func(t *testing.T) {
		require.NoError(t, inst.WriteFile(ctx, "listing/a.txt", []byte("12345")))
		require.NoError(t, inst.WriteFile(ctx, "listing/sub/b.txt", []byte("x")))
		entries, err := inst.ListFiles(ctx, "listing")
		require.NoError(t, err)
		byName := map[string]sandbox.FileEntry{}
		for _, e := range entries {
			byName[e.Name] = e
		}
		require.Len(t, byName, 2)
		assert.Equal(t, "file", byName["a.txt"].Type)
		assert.Equal(t, int64(5), byName["a.txt"].Size)
		assert.Equal(t, sb.Config().WorkingDirectory+"/listing/a.txt", byName["a.txt"].Path)
		assert.Equal(t, "dir", byName["sub"].Type)
		assert.WithinDuration(t, time.Now(), byName["a.txt"].ModifiedAt, 10*time.Minute)
		_, err = inst.ListFiles(ctx, "no/such/dir")
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	})
	t.Run("Errors", func(t *testing.T) {
		_, err := inst.ReadFile(ctx, "missing.txt", 0)
		se := sandbox.AsError(err)
		require.NotNil(t, se)
		assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
		assert.NotEmpty(t, se.Details["path"])
		require.NoError(t, inst.WriteFile(ctx, "big.txt", bytes.Repeat([]byte("x"), 5000)))
		_, err = inst.ReadFile(ctx, "big.txt", 1000)
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
		_, err = inst.ReadFile(ctx, "bad\x00name", 0)
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
		assert.Error(t, inst.WriteFile(ctx, "bad\x00name", []byte("x")))
	})
	t.Run("EscapesRefused", func(t *testing.T) {
		sh(t, sb, "ln -sf /etc/shadow shadow-link; ln -sfn /etc escape-dir; ln -sfn / root-link")
		for _, p := range []string{"/etc/shadow", "../../../../etc/shadow", "shadow-link", "escape-dir/shadow", "root-link/etc/shadow", "/root/.bashrc"} {
			got, err := inst.ReadFile(ctx, p, 0)
			assert.Error(t, err, "reading %s must fail", p)
			assert.NotContains(t, string(got), "root:", p)
		}
		for _, p := range []string{"/etc/vmservice-escape", "../../../../etc/vmservice-escape", "escape-dir/vmservice-escape", "root-link/usr/vmservice-escape", "/usr/bin/vmservice-escape"} {
			err := inst.WriteFile(ctx, p, []byte("pwned"))
			assert.Error(t, err, "writing %s must fail", p)
		}
		sh(t, sb, "test ! -e /etc/vmservice-escape && test ! -e /usr/vmservice-escape && test ! -e /usr/bin/vmservice-escape")
		res, err := inst.Run(ctx, sandbox.CommandRequest{Command: "cat /etc/shadow", Timeout: 10 * time.Second})
		require.NoError(t, err)
		assert.NotEqual(t, 0, res.ExitCode)
		assert.NotContains(t, res.Stdout, "root:")
	})
}

// missingProtection is the backend's own statement, in the sandbox's
// details, that a protection is not enforced (a message containing what), or
// "" when it claims none missing.
func missingProtection(sb *sandbox.Sandbox, what string) string {
	missing, _ := sb.Info().Details["missing_protections"].([]string)
	for _, m := range missing {
		if strings.Contains(m, what) {
			return m
		}
	}
	return ""
}

func (s *suite) limits(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	t.Run("MemoryHogKilled", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "alice", sandbox.Config{MemoryMB: 512})
		// 256 MB fits in 512 MB...
		res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Timeout: 90 * time.Second,
			Command: "head -c 256M /dev/zero | tail > /dev/null; echo rc=${PIPESTATUS[1]}"})
		require.NoError(t, err)
		assert.Equal(t, "rc=0\n", res.Stdout, res.Stderr)
		if why := missingProtection(sb, "no memory limit"); why != "" {
			// The backend says it enforces no memory limit here (e.g. the
			// local backend without root and without a delegated memory
			// controller). Check that it says the truth: 768 MB fit.
			t.Logf("memory limit reported missing: %s", why)
			res, err = sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Timeout: 90 * time.Second,
				Command: "head -c 768M /dev/zero | tail > /dev/null; echo rc=${PIPESTATUS[1]}"})
			require.NoError(t, err)
			assert.Equal(t, "rc=0\n", res.Stdout, "a memory limit is enforced after all: %s", res.Stderr)
			return
		}
		// ...2 GB does not: the hog is killed, the sandbox lives on.
		res, err = sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Timeout: 90 * time.Second,
			Command: "head -c 2048M /dev/zero | tail > /dev/null; echo rc=${PIPESTATUS[1]}"})
		require.NoError(t, err)
		assert.Equal(t, "rc=137\n", res.Stdout, res.Stderr)
		assert.NoError(t, sb.Instance().Alive(ctxT(t)))
		assert.Equal(t, "ok\n", sh(t, sb, "echo ok"))
	})
	t.Run("ForkBombStopped", func(t *testing.T) {
		t.Parallel()
		sb := create(t, m, "bob", sandbox.Config{})
		// The bomb forks until fork first fails (the limit) or 90 s have
		// passed, so it ends even where nothing limits it, and a slow
		// machine only takes longer to reach the limit. Its first error
		// stops it and is the result. The waiting shell uses builtins only
		// (read -t on a FIFO as its sleep): at the limit it cannot fork.
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		res, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Timeout: 3 * time.Minute,
			Command: `D=$(mktemp -d) && mkfifo $D/tick && exec 9<>$D/tick || exit 1
END=$((EPOCHSECONDS+90))
f(){ if [[ ! -e $D/stop ]] && ((EPOCHSECONDS < END)); then f | f & fi; }
f 2>>$D/err
until [[ -s $D/err ]] || ((EPOCHSECONDS >= END)); do read -t 0.1 -u 9; done
: >$D/stop
read -r first <$D/err; printf '%s\n' "$first" >&2; echo finished`})
		require.NoError(t, err)
		assert.Contains(t, res.Stderr, "Resource temporarily unavailable", "fork never failed: no process limit (exit %d)", res.ExitCode)
		assert.Contains(t, res.Stdout, "finished", "exit %d", res.ExitCode)
		eventually(t, 60*time.Second, "sandbox usable after the bomb", func() error {
			res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: "echo ok", Timeout: 10 * time.Second})
			if err != nil {
				return err
			}
			if res.Stdout != "ok\n" {
				return fmt.Errorf("got %q", res.Stdout)
			}
			return nil
		})
		assert.NoError(t, sb.Instance().Alive(ctxT(t)))
	})
}

func (s *suite) isolation(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	a := create(t, m, "alice", sandbox.Config{})
	b := create(t, m, "bob", sandbox.Config{})
	ctx := ctxT(t)

	require.NoError(t, a.Instance().WriteFile(ctx, "secret-a.txt", []byte("only for a")))
	_, err := b.Instance().ReadFile(ctx, "secret-a.txt", 0)
	assert.Error(t, err, "b reads a's file")
	assert.Equal(t, "", sh(t, b, "find /home /tmp -name secret-a.txt 2>/dev/null || true"))

	_, err = a.Instance().Run(ctx, sandbox.CommandRequest{Command: "exec -a marker-process-a sleep 300", Background: true})
	require.NoError(t, err)
	eventually(t, 10*time.Second, "a sees its own process", func() error {
		if !strings.Contains(sh(t, a, "ps -eo args"), "marker-process-a") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	assert.NotContains(t, sh(t, b, "ps -eo args"), "marker-process-a")

	// Displays: each root colour stays on its own display.
	sh(t, a, "xsetroot -solid '#ff0000'")
	sh(t, b, "xsetroot -solid '#0000ff'")
	pixel := func(sb *sandbox.Sandbox) [3]uint8 {
		var px [3]uint8
		input(t, sb, func(ctx context.Context, d sandbox.Desktop) error {
			img, err := d.Screenshot(ctx, image.Rect(0, 0, 4, 4))
			require.NoError(t, err)
			c := img.RGBAAt(img.Bounds().Min.X+1, img.Bounds().Min.Y+1)
			px = [3]uint8{c.R, c.G, c.B}
			return nil
		})
		return px
	}
	assert.Equal(t, [3]uint8{255, 0, 0}, pixel(a))
	assert.Equal(t, [3]uint8{0, 0, 255}, pixel(b))
	input(t, a, func(ctx context.Context, d sandbox.Desktop) error {
		return d.MoveMouse(ctx, sandbox.Point{X: 11, Y: 22})
	})
	input(t, b, func(ctx context.Context, d sandbox.Desktop) error {
		return d.MoveMouse(ctx, sandbox.Point{X: 333, Y: 444})
	})
	assert.Contains(t, sh(t, a, "xdotool getmouselocation"), "x:11 y:22")
	assert.Contains(t, sh(t, b, "xdotool getmouselocation"), "x:333 y:444")
	assert.NotEqual(t, a.Info().Details, nil)
}

func (s *suite) network(t *testing.T) {
	m := s.manager(t, sandbox.Settings{})
	sb := create(t, m, "alice", sandbox.Config{AllowInternetAccess: false})
	routes := sh(t, sb, "cat /proc/net/route")
	for _, l := range strings.Split(routes, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 1 {
			assert.NotEqual(t, "00000000", f[1], "a default route exists: %s", l)
		}
	}
	res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Timeout: 20 * time.Second,
		Command: "for h in 1.1.1.1/53 8.8.8.8/53 10.0.2.2/22; do timeout 5 bash -c \"exec 3<>/dev/tcp/$h\" && echo reached $h; done; true"})
	require.NoError(t, err)
	assert.NotContains(t, res.Stdout, "reached")
	// Loopback works inside.
	sh(t, sb, "timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' 2>&1 | grep -q 'refused'")
}

func (s *suite) managerTests(t *testing.T) {
	t.Run("Quotas", func(t *testing.T) {
		m := s.manager(t, sandbox.Settings{MaxConcurrentSandboxes: 2, MaxSandboxesPerUser: 1})
		create(t, m, "alice", sandbox.Config{})
		_, err := m.Create(ctxT(t), sandbox.CreateRequest{Owner: "alice"})
		se := sandbox.AsError(err)
		require.NotNil(t, se)
		assert.Equal(t, sandbox.CodeQuotaExceeded, se.Code)
		assert.Equal(t, 1, se.Details["current_usage"])
		assert.Equal(t, 1, se.Details["limit"])
		create(t, m, "bob", sandbox.Config{})
		_, err = m.Create(ctxT(t), sandbox.CreateRequest{Owner: "carol"})
		se = sandbox.AsError(err)
		require.NotNil(t, se)
		assert.Equal(t, sandbox.CodeQuotaExceeded, se.Code)
		assert.Equal(t, 2, se.Details["current_usage"])
		assert.Equal(t, 2, se.Details["limit"])

		st := m.Stats("")
		assert.Equal(t, 2, st.TotalActiveSandboxes)
		assert.Equal(t, 2, st.TotalUsers)
		assert.Equal(t, map[string]int{"alice": 1, "bob": 1}, st.SandboxesByUser)
	})
	t.Run("OwnershipAndCleanup", func(t *testing.T) {
		m := s.manager(t, sandbox.Settings{})
		a1 := create(t, m, "alice", sandbox.Config{})
		a2 := create(t, m, "alice", sandbox.Config{})
		b1 := create(t, m, "bob", sandbox.Config{})
		_, err := m.Get("bob", a1.ID())
		assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
		info := a1.Info()
		assert.Equal(t, sandbox.StateRunning, info.State)
		assert.Equal(t, m.Backend(), info.Backend)
		assert.NotContains(t, fmt.Sprint(info.Details), "/run/")
		assert.Len(t, m.List("alice"), 2)

		assert.Equal(t, 2, m.CleanupUser(ctxT(t), "alice"))
		for _, sb := range []*sandbox.Sandbox{a1, a2} {
			_, err := m.Get("alice", sb.ID())
			assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
			assert.Error(t, sb.Instance().Alive(ctxT(t)))
		}
		require.NoError(t, b1.Instance().Alive(ctxT(t)))
		assert.Equal(t, "still here\n", sh(t, b1, "echo still here"))
		assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(m.Destroy(ctxT(t), a1)))

		create(t, m, "carol", sandbox.Config{})
		assert.Equal(t, 2, m.CleanupAll(ctxT(t)))
		assert.Equal(t, 0, m.Stats("").TotalActiveSandboxes)
		assert.Error(t, b1.Instance().Alive(ctxT(t)))
	})
	t.Run("ExpiryAndExtension", func(t *testing.T) {
		t.Parallel()
		m := s.manager(t, sandbox.Settings{})
		short := create(t, m, "alice", sandbox.Config{Timeout: sandbox.MinTimeout})
		extended := create(t, m, "alice", sandbox.Config{Timeout: sandbox.MinTimeout})
		exp, err := m.SetTimeout(ctxT(t), extended, sandbox.MinTimeout+20*time.Second)
		require.NoError(t, err)
		assert.True(t, exp.After(time.Now().Add(sandbox.MinTimeout+10*time.Second)))
		eventually(t, sandbox.MinTimeout+20*time.Second, "sandbox expired", func() error {
			if _, err := m.Get("alice", short.ID()); err == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
		assert.Error(t, short.Instance().Alive(ctxT(t)))
		_, err = m.Get("alice", extended.ID())
		assert.NoError(t, err)
		assert.NoError(t, extended.Instance().Alive(ctxT(t)))
	})
	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		p := s.newProvider(t)
		m, err := sandbox.NewManager(p, sandbox.Settings{}, zerolog.Nop())
		require.NoError(t, err)
		a := create(t, m, "alice", sandbox.Config{})
		b := create(t, m, "bob", sandbox.Config{})
		require.NoError(t, m.Close())
		for _, sb := range []*sandbox.Sandbox{a, b} {
			assert.Error(t, sb.Instance().Alive(ctxT(t)))
		}
		_, err = m.Create(ctxT(t), sandbox.CreateRequest{Owner: "alice"})
		assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
		assert.Equal(t, 0, m.Stats("").TotalActiveSandboxes)
	})
}
