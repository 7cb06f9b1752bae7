package stream_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

func get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// bare is the stream URL without its key.
func bare(info *stream.Info) string { return strings.SplitN(info.URL, "?", 2)[0] }

func wsURL(info *stream.Info, key string) string {
	u := strings.Replace(bare(info), "http://", "ws://", 1) + "websockify"
	if key != "" {
		u += "?key=" + url.QueryEscape(key)
	}
	return u
}

// dialWS opens the stream's WebSocket; on refusal it returns the status.
func dialWS(t testing.TB, info *stream.Info, key string) (net.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(info, key), &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		require.NotNil(t, resp, "dial failed without an HTTP answer: %v", err)
		b, _ := io.ReadAll(resp.Body)
		assert.NotContains(t, string(b), "RFB", "no RFB byte may reach a refused viewer")
		return nil, resp.StatusCode
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	t.Cleanup(func() { _ = nc.Close() })
	return nc, http.StatusSwitchingProtocols
}

func TestAuthKeyGuardsPageAndSocket(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	sb := newSandbox(t, m)
	d := sb.Instance().(*deskInstance)
	x11test.Run(t, d.display, d.auth, "xsetroot", "-solid", "#12ab34")

	info, err := svc.Start(context.Background(), sb, stream.Options{RequireAuth: true})
	require.NoError(t, err)
	assert.Equal(t, sb.ID(), info.SandboxID)
	assert.NotEmpty(t, info.AuthKey)
	assert.NotContains(t, info.URL, sb.ID(), "the URL token is not the sandbox id")
	assert.Equal(t, bare(info)+"?key="+info.AuthKey, info.URL, "stream_url opens with the key")
	assert.True(t, strings.HasPrefix(info.URL, "http://"+svc.Addr()+"/stream/"), info.URL)
	assert.Equal(t, "medium", info.Quality)
	assert.Equal(t, 30, info.FrameRate)
	assert.Equal(t, 1, x11vncOn(d.display))

	// The page.
	resp, body := get(t, bare(info))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "auth key")
	resp, _ = get(t, bare(info)+"?key=nope")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, body = get(t, info.URL)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, "../novnc/core/rfb.js")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self' 'nonce-")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	// The socket: refused before any RFB byte.
	_, st := dialWS(t, info, "")
	assert.Equal(t, http.StatusUnauthorized, st)
	_, st = dialWS(t, info, "wrong-key")
	assert.Equal(t, http.StatusForbidden, st)

	// The right key: the RFB banner, then VNC auth with the same key, and
	// the desktop's colour.
	nc, st := dialWS(t, info, info.AuthKey)
	require.Equal(t, http.StatusSwitchingProtocols, st)
	cl, types, err := vnctest.Handshake(nc, info.AuthKey)
	require.NoError(t, err)
	assert.Equal(t, []byte{vnctest.SecVNC}, types, "the key is the VNC password too")
	assert.Equal(t, 640, cl.Width)
	px, err := cl.WaitPixel(5, 5, 0x12ab34, 60*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x12ab34), px)

	// Several viewers share the stream.
	nc2, st := dialWS(t, info, info.AuthKey)
	require.Equal(t, http.StatusSwitchingProtocols, st)
	banner, err := vnctest.ReadBanner(nc2)
	require.NoError(t, err)
	assert.Equal(t, "RFB 003.008\n", banner)

	// Authorization: Bearer works too (for programs).
	req, _ := http.NewRequest("GET", bare(info), nil)
	req.Header.Set("Authorization", "Bearer "+info.AuthKey)
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, http.StatusOK, r2.StatusCode)

	// Stop: viewers are cut, the URL and key are dead, x11vnc is gone.
	require.NoError(t, svc.Stop(context.Background(), sb.ID()))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(nc)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "viewer not disconnected by Stop")
	resp, _ = get(t, info.URL)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, st = dialWS(t, info, info.AuthKey)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, 0, x11vncOn(d.display))

	err = svc.Stop(context.Background(), sb.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	assert.Contains(t, err.Error(), "no stream")
}

func TestNoAuthStream(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	sb := newSandbox(t, m)
	info, err := svc.Start(context.Background(), sb, stream.Options{RequireAuth: false, Quality: "low", FrameRate: 5, ViewOnly: true})
	require.NoError(t, err)
	assert.Empty(t, info.AuthKey)
	assert.NotContains(t, info.URL, "?")
	resp, body := get(t, info.URL)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `&#34;view_only&#34;:true`)
	nc, st := dialWS(t, info, "")
	require.Equal(t, http.StatusSwitchingProtocols, st)
	_, types, err := vnctest.Handshake(nc, "")
	require.NoError(t, err)
	assert.Equal(t, []byte{vnctest.SecNone}, types)
}

func TestSecondStartAndValidation(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	sb := newSandbox(t, m)
	ctx := context.Background()

	for _, tc := range []struct {
		field string
		o     stream.Options
	}{
		{"quality", stream.Options{Quality: "ultra"}},
		{"frame_rate", stream.Options{FrameRate: 61}},
		{"frame_rate", stream.Options{FrameRate: -3}},
	} {
		_, err := svc.Start(ctx, sb, tc.o)
		se := sandbox.AsError(err)
		require.Equal(t, sandbox.CodeInvalidArgument, se.Code, tc.field)
		assert.Equal(t, tc.field, se.Details["field"])
	}

	a, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "high"})
	require.NoError(t, err)
	b, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "high", FrameRate: 30})
	require.NoError(t, err)
	assert.Equal(t, a, b, "same options: the same stream, URL and key")
	_, err = svc.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "low"})
	se := sandbox.AsError(err)
	require.Equal(t, sandbox.CodeInvalidArgument, se.Code)
	assert.Contains(t, se.Message, "stop_stream first")
	d := sb.Instance().(*deskInstance)
	assert.Equal(t, 1, x11vncOn(d.display))

	// After a stop a new start gets a new URL and key.
	require.NoError(t, svc.Stop(ctx, sb.ID()))
	c, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "low"})
	require.NoError(t, err)
	assert.NotEqual(t, a.URL, c.URL)
	assert.NotEqual(t, a.AuthKey, c.AuthKey)
	assert.Len(t, svc.Active(), 1)
}

func TestCloseLeavesNothingAndDestroyEndsStream(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	ctx := context.Background()
	sb1, sb2, sb3 := newSandbox(t, m), newSandbox(t, m), newSandbox(t, m)
	var infos []*stream.Info
	for _, sb := range []*sandbox.Sandbox{sb1, sb2, sb3} {
		info, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true})
		require.NoError(t, err)
		infos = append(infos, info)
	}
	nc, st := dialWS(t, infos[0], infos[0].AuthKey)
	require.Equal(t, http.StatusSwitchingProtocols, st)
	_, err := vnctest.ReadBanner(nc)
	require.NoError(t, err)

	// Destroying a sandbox kills its x11vnc (the backend's Destroy); the
	// service forgets the stream when told (Manager.OnDestroy in main).
	d3 := sb3.Instance().(*deskInstance)
	require.NoError(t, m.Destroy(ctx, sb3))
	assert.Equal(t, 0, x11vncOn(d3.display))
	_ = svc.Stop(ctx, sb3.ID())
	resp, _ := get(t, infos[2].URL)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.NoError(t, svc.Close())
	for _, sb := range []*sandbox.Sandbox{sb1, sb2} {
		assert.Equal(t, 0, x11vncOn(sb.Instance().(*deskInstance).display))
	}
	_, st = dialWS(t, infos[1], infos[1].AuthKey)
	assert.Equal(t, http.StatusNotFound, st)
	_, err = svc.Start(ctx, sb1, stream.Options{})
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}

func TestStaticFilesAndTraversal(t *testing.T) {
	svc := newService(t)
	base := "http://" + svc.Addr()
	resp, body := get(t, base+"/stream/novnc/core/rfb.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, "export default class RFB")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	for _, p := range []string{
		"/stream/novnc/", "/stream/novnc/core/", "/stream/novnc/core",
		"/stream/novnc/../../../etc/passwd", "/stream/novnc/%2e%2e/%2e%2e/etc/passwd",
		"/stream/novnc/core/..%2f..%2f..%2fetc%2fpasswd", "/stream/novnc/.hidden",
		"/stream/", "/stream/abc/", "/stream/" + strings.Repeat("a", 32) + "/",
		"/stream/" + strings.Repeat("a", 32) + "/websockify", "/", "/etc/passwd",
	} {
		// Raw request line: no client-side path cleaning.
		c, err := net.Dial("tcp", svc.Addr())
		require.NoError(t, err)
		_, _ = io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		c.Close()
		head := strings.SplitN(string(b), "\r\n", 2)[0]
		assert.NotContains(t, head, " 200 ", p)
		assert.NotContains(t, string(b), "root:x:0:0", p)
		assert.NotContains(t, string(b), "<pre>", p+": a directory listing")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []stream.Config{
		{Listen: "nocolon"},
		{PublicURL: "ftp://x"},
		{PublicURL: "https://x.example/?a=b"},
		{NoVNCDir: "/nonexistent"},
	} {
		_, err := stream.New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	s, err := stream.New(stream.Config{PublicURL: "https://desk.example.com/base/"})
	require.NoError(t, err)
	_ = s
}

// Behind a reverse proxy: stream_url uses the public base URL. With a key,
// the WebSocket accepts any origin (the key is the credential; the MCP App
// runs on its host's origins); without one, only the public origin (and the
// service's own).
func TestPublicURLAndOrigins(t *testing.T) {
	m := newManager(t)
	sb := newSandbox(t, m)
	s, err := stream.New(stream.Config{Listen: "127.0.0.1:0", PublicURL: "https://desk.example.com/base/", Log: zerolog.New(zerolog.NewTestWriter(t))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	<-s.Listening()
	t.Cleanup(func() { _ = s.Close(); cancel(); <-done })

	assert.Equal(t, "https://desk.example.com/base", s.BaseURL())
	info, err := s.Start(ctx, sb, stream.Options{RequireAuth: true})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(info.URL, "https://desk.example.com/base/stream/"), info.URL)
	path := strings.TrimPrefix(bare(info), "https://desk.example.com/base")
	keyed := "ws://" + s.Addr() + path + "websockify?key=" + url.QueryEscape(info.AuthKey)
	dial := func(u, origin string, want int) {
		t.Helper()
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"binary"}})
		dcancel()
		if want == http.StatusSwitchingProtocols {
			require.NoError(t, err, origin)
			_ = c.CloseNow()
		} else {
			require.Error(t, err, origin)
			require.NotNil(t, resp, origin)
			assert.Equal(t, want, resp.StatusCode, origin)
		}
	}
	for origin, want := range map[string]int{
		"https://desk.example.com":          http.StatusSwitchingProtocols,
		"https://a1b2.claudemcpcontent.com": http.StatusSwitchingProtocols, // an MCP host's app sandbox
		"null":                              http.StatusSwitchingProtocols, // a sandboxed iframe
		"":                                  http.StatusSwitchingProtocols, // not a browser
	} {
		dial(keyed, origin, want)
	}
	dial("ws://"+s.Addr()+path+"websockify?key=wrong", "https://evil.example", http.StatusForbidden)
	dial("ws://"+s.Addr()+path+"websockify", "https://evil.example", http.StatusUnauthorized)

	require.NoError(t, s.Stop(ctx, sb.ID()))
	info, err = s.Start(ctx, sb, stream.Options{RequireAuth: false})
	require.NoError(t, err)
	keyless := "ws://" + s.Addr() + strings.TrimPrefix(bare(info), "https://desk.example.com/base") + "websockify"
	for origin, want := range map[string]int{
		"https://desk.example.com": http.StatusSwitchingProtocols,
		"https://evil.example":     http.StatusForbidden,
		"":                         http.StatusSwitchingProtocols, // not a browser
	} {
		dial(keyless, origin, want)
	}
}

// Concurrent starts on one sandbox share one stream (one x11vnc).
func TestConcurrentStarts(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	sb := newSandbox(t, m)
	const n = 6
	infos := make(chan *stream.Info, n)
	for i := 0; i < n; i++ {
		go func() {
			info, err := svc.Start(context.Background(), sb, stream.Options{RequireAuth: true})
			assert.NoError(t, err)
			infos <- info
		}()
	}
	first := <-infos
	for i := 1; i < n; i++ {
		assert.Equal(t, first, <-infos)
	}
	assert.Equal(t, 1, x11vncOn(sb.Instance().(*deskInstance).display))
}
