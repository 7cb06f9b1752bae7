package e2b

import (
	"context"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

const testKey = "e2b_test_key"

var (
	localOnce sync.Once
	localProv *local.Provider
	localErr  error
	bins      e2btest.Binaries
)

// sharedLocal is one local backend for every emulator in the test binary.
func sharedLocal(t testing.TB) *local.Provider {
	localOnce.Do(func() {
		localProv, bins, localErr = e2btest.Local(zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	})
	require.NoError(t, localErr)
	return localProv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if localProv != nil {
		_ = localProv.Close()
	}
	os.Exit(code)
}

type emu struct {
	srv *e2btest.Server
	hs  *httptest.Server
}

// startEmu runs the emulator on a random loopback port; wrap, when set,
// sits in front of it (fault injection).
func startEmu(t testing.TB, opts e2btest.Options, wrap func(http.Handler) http.Handler) *emu {
	opts.APIKey = testKey
	if opts.NewMachine == nil {
		opts.NewMachine = e2btest.LocalFactory(sharedLocal(t), zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
		opts.EnvdVersion = bins.Version
	}
	opts.Log = zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	srv := e2btest.New(opts)
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		_ = srv.Close()
		hs.Close()
	})
	return &emu{srv: srv, hs: hs}
}

func (e *emu) options() Options {
	return Options{APIKey: testKey, APIURL: e.hs.URL, SandboxURL: e.hs.URL,
		Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)}
}

func newProvider(t testing.TB, o Options) *Provider {
	p, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func testConfig() sandbox.Config {
	return sandbox.Config{Timeout: 10 * time.Minute}.WithDefaults(sandbox.DefaultSettings())
}

func create(t testing.TB, p *Provider, labels map[string]string) *Instance {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inst, err := p.Create(ctx, testConfig(), labels)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Destroy(context.Background()) })
	return inst.(*Instance)
}

func TestNewNeedsKey(t *testing.T) {
	_, err := New(Options{})
	assert.Equal(t, sandbox.CodeAuthenticationFailed, sandbox.CodeOf(err))
}

func TestOptionsFromEnvDebug(t *testing.T) {
	t.Setenv("E2B_DEBUG", "true")
	t.Setenv("E2B_API_KEY", "k")
	t.Setenv("E2B_API_URL", "")
	t.Setenv("E2B_SANDBOX_URL", "")
	t.Setenv("E2B_DOMAIN", "")
	o := OptionsFromEnv().withDefaults()
	assert.Equal(t, "http://localhost:3000", o.APIURL)
	assert.Equal(t, "http://localhost:49983", o.envdURL("abc", ""))
	assert.Equal(t, "https://6080-abc.e2b.app", o.publicURL("abc", "", 6080))

	t.Setenv("E2B_DEBUG", "")
	t.Setenv("E2B_DOMAIN", "example.dev")
	o = OptionsFromEnv().withDefaults()
	assert.Equal(t, "https://api.example.dev", o.APIURL)
	assert.Equal(t, "https://49983-abc.example.dev", o.envdURL("abc", ""))
}

func TestControlPlaneErrors(t *testing.T) {
	var fail atomic.Int32
	var hits atomic.Int32
	e := startEmu(t, e2btest.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if fail.Load() > 0 {
				fail.Add(-1)
				http.Error(w, `{"code":503,"message":"overloaded"}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()

	bad := e.options()
	bad.APIKey = "wrong"
	_, err := newProvider(t, bad).ListOwned(ctx, nil)
	assert.Equal(t, sandbox.CodeAuthenticationFailed, sandbox.CodeOf(err))
	assert.NotContains(t, err.Error(), "wrong", "the key never shows in errors")

	p := newProvider(t, e.options())
	_, err = p.api.get(ctx, "nope")
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))

	// Transient 503s are retried, then the call succeeds.
	fail.Store(2)
	hits.Store(0)
	_, err = p.ListOwned(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, int32(3), hits.Load())

	// Persistent 503s become BACKEND_UNAVAILABLE after the attempts.
	fail.Store(100)
	hits.Store(0)
	_, err = p.ListOwned(ctx, nil)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
	assert.Equal(t, int32(4), hits.Load())
	fail.Store(0)

	// A deadline shorter than the back-off stops retrying early.
	fail.Store(100)
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = p.ListOwned(dctx, nil)
	cancel()
	assert.Contains(t, []sandbox.Code{sandbox.CodeBackendUnavailable, sandbox.CodeTimeout}, sandbox.CodeOf(err))
	fail.Store(0)

	// Network failure: nothing listens there.
	down := e.options()
	down.APIURL = "http://127.0.0.1:1"
	down.Attempts = 2
	_, err = newProvider(t, down).ListOwned(ctx, nil)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}

func TestQuotaExceeded(t *testing.T) {
	e := startEmu(t, e2btest.Options{MaxSandboxes: 1}, nil)
	o := e.options()
	o.NoHelper = true
	p := newProvider(t, o)
	create(t, p, nil)
	_, err := p.Create(context.Background(), testConfig(), nil)
	assert.Equal(t, sandbox.CodeQuotaExceeded, sandbox.CodeOf(err))
	assert.Equal(t, 1, e.srv.Count(), "a refused create leaves nothing behind")
}

func TestSandboxEndToEnd(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	p := newProvider(t, e.options())
	ctx := context.Background()
	in := create(t, p, map[string]string{LabelOwner: "alice", LabelSandboxID: "sb_1"})
	assert.Equal(t, "helper", in.Details()["input_path"])
	require.NoError(t, in.Alive(ctx))

	// Settle detection runs in the helper, next to the X server.
	st, ok := in.Desktop().(sandbox.Settler)
	require.True(t, ok)
	require.NoError(t, in.Desktop().MoveMouse(ctx, sandbox.Point{X: 5, Y: 5}))
	settled, err := st.WaitSettled(ctx, sandbox.SettleOptions{Quiet: 50 * time.Millisecond, Max: 20 * time.Second})
	require.NoError(t, err)
	assert.True(t, settled.Settled, "the helper watched the screen (the xdotool path cannot say settled)")
	assert.GreaterOrEqual(t, settled.Waited, 50*time.Millisecond)

	// Commands.
	res, err := in.Run(ctx, sandbox.CommandRequest{Command: "echo hi; echo err >&2; pwd; exit 3"})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "hi\n"+sandbox.DefaultWorkdir+"\n", res.Stdout)
	assert.Equal(t, "err\n", res.Stderr)

	res, err = in.Run(ctx, sandbox.CommandRequest{Command: "sleep 30", Timeout: 500 * time.Millisecond})
	require.NoError(t, err)
	assert.True(t, res.TimedOut)

	res, err = in.Run(ctx, sandbox.CommandRequest{Command: "head -c 5000 /dev/zero | tr '\\0' a", MaxOutput: 100})
	require.NoError(t, err)
	assert.True(t, res.Truncated)
	assert.Len(t, res.Stdout, 100)

	res, err = in.Run(ctx, sandbox.CommandRequest{Command: "echo $FOO", Environment: map[string]string{"FOO": "bar"}})
	require.NoError(t, err)
	assert.Equal(t, "bar\n", res.Stdout)

	// Files.
	require.NoError(t, in.WriteFile(ctx, "dir/hello.txt", []byte("hello e2b")))
	data, err := in.ReadFile(ctx, "dir/hello.txt", 0)
	require.NoError(t, err)
	assert.Equal(t, "hello e2b", string(data))
	_, err = in.ReadFile(ctx, "dir/hello.txt", 3)
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	_, err = in.ReadFile(ctx, "missing.txt", 0)
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	es, err := in.ListFiles(ctx, "dir")
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, "hello.txt", es[0].Name)
	assert.Equal(t, "file", es[0].Type)
	assert.Equal(t, int64(9), es[0].Size)

	// Desktop through the helper.
	size, err := in.Desktop().ScreenSize(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.DefaultResolution, size)
	require.NoError(t, in.Desktop().Click(ctx, &sandbox.Point{X: 100, Y: 120}, sandbox.ButtonLeft, 1, nil))
	pos, err := in.Desktop().CursorPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 100, Y: 120}, pos)
	img, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
	require.NoError(t, err)
	assert.Equal(t, 1024, img.Bounds().Dx())
	img, err = in.Desktop().Screenshot(ctx, image.Rect(10, 10, 110, 60))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 100, 50).Size(), img.Bounds().Size())

	// Typing reaches a real window: xterm running cat into a file.
	_, err = in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "xterm -geometry 80x10+0+0 -e 'cat > typed.txt'"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ws, _ := in.Desktop().ApplicationWindows(ctx, "xterm")
		return len(ws) > 0
	}, 20*time.Second, 200*time.Millisecond)
	ws, _ := in.Desktop().ApplicationWindows(ctx, "xterm")
	title, err := in.Desktop().WindowTitle(ctx, ws[0])
	require.NoError(t, err)
	assert.NotEmpty(t, title)
	require.NoError(t, in.Desktop().Click(ctx, &sandbox.Point{X: 50, Y: 50}, sandbox.ButtonLeft, 1, nil))
	n, err := in.Desktop().TypeText(ctx, "héllo", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	require.NoError(t, in.Desktop().PressKeys(ctx, []string{"enter"}))
	require.Eventually(t, func() bool {
		b, _ := in.ReadFile(ctx, "typed.txt", 0)
		return string(b) == "héllo\n"
	}, 10*time.Second, 200*time.Millisecond)

	// Stream: x11vnc + websockify inside, URL on the sandbox's public host.
	ep, err := in.StartVNC(ctx, sandbox.StreamOptions{Password: "s3cret"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ep.URL, "https://6080-"+in.ID()+".e2b.app/vnc.html"), ep.URL)
	res, err = in.Run(ctx, sandbox.CommandRequest{Command: "pgrep -x x11vnc && ! grep -r s3cret /tmp 2>/dev/null"})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode, res.Stdout+res.Stderr)
	// The viewer answers on port 6080 through E2B's proxy (the stand-in's:
	// E2b-Sandbox-Port), as https://6080-ID.DOMAIN routes.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.hs.URL+"/vnc.html", nil)
	require.NoError(t, err)
	req.Header.Set("E2b-Sandbox-Id", in.ID())
	req.Header.Set("E2b-Sandbox-Port", "6080")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "noVNC")
	require.NoError(t, in.StopVNC(ctx))
	require.Eventually(t, func() bool {
		r, err := in.Run(ctx, sandbox.CommandRequest{Command: "pgrep -x x11vnc"})
		return err == nil && r.ExitCode == 1
	}, 10*time.Second, 200*time.Millisecond)

	// Labels: a restarted server finds and cleans up what it made.
	owned, err := p.ListOwned(ctx, map[string]string{LabelOwner: "alice"})
	require.NoError(t, err)
	require.Len(t, owned, 1)
	assert.Equal(t, in.ID(), owned[0].ID)
	other, err := p.ListOwned(ctx, map[string]string{LabelOwner: "bob"})
	require.NoError(t, err)
	assert.Empty(t, other)

	// Another server on the same account leaves it alone...
	o2 := e.options()
	o2.ServerID = "another-server"
	n2, err := newProvider(t, o2).Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n2)
	// ...this server, restarted, takes it down.
	restarted := newProvider(t, e.options())
	n2, err = restarted.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n2)
	assert.Equal(t, 0, e.srv.Count())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(in.Alive(ctx)))
	_, err = in.Run(ctx, sandbox.CommandRequest{Command: "true"})
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	_, err = in.ReadFile(ctx, "dir/hello.txt", 0)
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	require.NoError(t, in.Destroy(ctx), "destroying a sandbox E2B already killed is fine")
}

func TestXdotoolPath(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	o := e.options()
	o.NoHelper = true
	in := create(t, newProvider(t, o), nil)
	ctx := context.Background()
	assert.Equal(t, "xdotool", in.Details()["input_path"])
	require.NoError(t, in.Desktop().Click(ctx, &sandbox.Point{X: 200, Y: 210}, sandbox.ButtonLeft, 2, []string{"shift"}))
	pos, err := in.Desktop().CursorPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 200, Y: 210}, pos)
	size, err := in.Desktop().ScreenSize(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.DefaultResolution, size)
	img, err := in.Desktop().Screenshot(ctx, image.Rect(0, 0, 64, 32))
	require.NoError(t, err)
	assert.Equal(t, image.Pt(64, 32), img.Bounds().Size())
	require.NoError(t, in.Desktop().PressKeys(ctx, []string{"ctrl", "a"}))
	require.NoError(t, in.Desktop().Scroll(ctx, nil, sandbox.ScrollDown, 2, nil))
	require.NoError(t, in.Desktop().Drag(ctx, sandbox.Point{X: 1, Y: 1}, sandbox.Point{X: 30, Y: 30}, sandbox.ButtonLeft))
	err = in.Desktop().PressKeys(ctx, []string{"nosuchkey"})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	// Without the helper nothing watches the screen: a fixed pause.
	s, err := in.Desktop().(sandbox.Settler).WaitSettled(ctx, sandbox.SettleOptions{})
	require.NoError(t, err)
	assert.False(t, s.Settled)
	assert.GreaterOrEqual(t, s.Waited, sandbox.FallbackPause)
}

func TestHelperDeathFallsBackToXdotool(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	in := create(t, newProvider(t, e.options()), nil)
	ctx := context.Background()
	require.Equal(t, "helper", in.Details()["input_path"])
	require.NoError(t, in.envd.signal(ctx, in.helper.stream.pid, "SIGNAL_SIGKILL"))
	require.Eventually(t, func() bool { return in.Details()["input_path"] == "xdotool" }, 60*time.Second, 50*time.Millisecond)
	require.NoError(t, in.Desktop().Click(ctx, &sandbox.Point{X: 33, Y: 44}, sandbox.ButtonLeft, 1, nil))
	pos, err := in.Desktop().CursorPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 33, Y: 44}, pos)
	require.NoError(t, in.Alive(ctx))
}

func TestSecureSandboxAndTimeout(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	o := e.options()
	o.NoHelper = true
	p := newProvider(t, o)
	in := create(t, p, nil)
	ctx := context.Background()

	// envd refuses calls without the sandbox's access token.
	d, err := p.api.get(ctx, in.ID())
	require.NoError(t, err)
	require.NotEmpty(t, d.EnvdAccessToken)
	anon := p.newInstance(in.ID(), in.domain, "", in.cfg).envd
	_, err = anon.stat(ctx, "/home/user")
	assert.Equal(t, sandbox.CodeAuthenticationFailed, sandbox.CodeOf(err))
	_, err = anon.download(ctx, "/etc/hostname", 0)
	assert.Equal(t, sandbox.CodePermissionDenied, sandbox.CodeOf(err))

	// SetTimeout moves E2B's own timer.
	before, err := p.api.get(ctx, in.ID())
	require.NoError(t, err)
	require.NoError(t, in.SetTimeout(ctx, 30*time.Second))
	after, err := p.api.get(ctx, in.ID())
	require.NoError(t, err)
	assert.True(t, after.EndAt.Before(before.EndAt), "the 10-minute expiry became 30 s")
	assert.WithinDuration(t, time.Now().Add(30*time.Second), after.EndAt, 5*time.Second)

	require.NoError(t, in.Destroy(ctx))
	_, err = p.api.get(ctx, in.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	require.NoError(t, in.Destroy(ctx), "Destroy is idempotent")
}

// A create whose answer is lost (E2B made the sandbox, the client saw a
// 503) leaves nothing behind: the sandboxes are found by label and killed.
func TestLostCreateAnswerLeavesNothing(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/sandboxes" {
				h.ServeHTTP(httptest.NewRecorder(), r)
				http.Error(w, `{"code":503,"message":"upstream timeout"}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	o := e.options()
	o.Attempts = 2
	p := newProvider(t, o)
	_, err := p.Create(context.Background(), testConfig(), map[string]string{LabelSandboxID: "sb_lost", LabelOwner: "x"})
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
	assert.Equal(t, 0, e.srv.Count())
}

// TestDesktopBringUp starts the desktop the way the desktop template
// expects (Xvfb at the configured resolution, then the xfce4 session) on a
// display the emulator's machine does not already have.
func TestDesktopBringUp(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	o := e.options()
	o.Display = ":7"
	p := newProvider(t, o)
	cfg := testConfig()
	cfg.Resolution = sandbox.Resolution{Width: 800, Height: 600}
	ctx := context.Background()
	inst, err := p.Create(ctx, cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Destroy(context.Background()) })
	in := inst.(*Instance)
	assert.Equal(t, "helper", in.Details()["input_path"])
	assert.Equal(t, ":7", in.Details()["display"])
	assert.False(t, in.foreignDisplay)

	size, err := in.Desktop().ScreenSize(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg.Resolution, size)
	require.Eventually(t, func() bool {
		r, err := in.Run(ctx, sandbox.CommandRequest{Command: "pgrep -x xfce4-session && pgrep -x xfwm4"})
		return err == nil && r.ExitCode == 0
	}, 60*time.Second, 250*time.Millisecond, "the xfce4 session runs")
	require.NoError(t, in.Desktop().Click(ctx, &sandbox.Point{X: 700, Y: 500}, sandbox.ButtonLeft, 1, nil))
	pos, err := in.Desktop().CursorPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 700, Y: 500}, pos)
	img, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
	require.NoError(t, err)
	assert.Equal(t, image.Pt(800, 600), img.Bounds().Size())

	// x11vnc may use MIT-SHM here: the X server is the sandbox's own.
	ep, err := in.StartVNC(ctx, sandbox.StreamOptions{ViewOnly: true})
	require.NoError(t, err)
	assert.Contains(t, ep.URL, "view_only=true")
	require.NoError(t, in.StopVNC(ctx))
}
