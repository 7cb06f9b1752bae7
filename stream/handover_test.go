package stream_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

func answer(t *testing.T, pageURL, key, outcome string) int {
	t.Helper()
	u := strings.SplitN(pageURL, "?", 2)[0] + "answer"
	if key != "" {
		u += "?key=" + url.QueryEscape(key)
	}
	resp, err := http.PostForm(u, url.Values{"outcome": {outcome}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A hand-over: a page with the agent's request, the live desktop (the
// stream's viewer, framed) and two buttons; the person's answer ends Wait.
func TestHandOverPageAndAnswers(t *testing.T) {
	m := newManager(t)
	svc := newService(t)
	sb := newSandbox(t, m)
	ctx := context.Background()

	_, err := svc.StartHandOver(sb.ID(), "log in")
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err), "no stream, no hand-over")

	info, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true})
	require.NoError(t, err)
	got, ok := svc.Get(sb.ID())
	require.True(t, ok)
	assert.Equal(t, info.URL, got.URL)

	h, err := svc.StartHandOver(sb.ID(), "Log in as <admin> & solve the captcha")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h.URL, "http://"+svc.Addr()+"/stream/handover/"+h.ID+"/?key="), h.URL)
	key, _ := url.ParseQuery(strings.SplitN(h.URL, "?", 2)[1])
	bareURL := strings.SplitN(h.URL, "?", 2)[0]

	resp, _ := get(t, bareURL)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, bareURL+"?key="+url.QueryEscape(info.AuthKey))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the stream's key is not the page's")
	resp, body := get(t, h.URL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Log in as &lt;admin&gt; &amp; solve the captcha", "the message is escaped")
	assert.Contains(t, body, `<iframe src="`+html.EscapeString(info.URL)+`"`, "the live desktop, in control")
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-src http://"+svc.Addr())
	assert.Contains(t, csp, "frame-ancestors 'none'", "nobody may frame the buttons")
	assert.Contains(t, csp, "default-src 'none'")

	assert.Equal(t, http.StatusUnauthorized, answer(t, h.URL, "", stream.OutcomeDone))
	assert.Equal(t, http.StatusForbidden, answer(t, h.URL, "wrong", stream.OutcomeDone))
	assert.Equal(t, http.StatusBadRequest, answer(t, h.URL, key.Get("key"), "maybe"))
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = h.Wait(wctx)
	cancel()
	assert.Equal(t, sandbox.CodeTimeout, sandbox.CodeOf(err), "no answer yet")

	assert.Equal(t, http.StatusOK, answer(t, h.URL, key.Get("key"), stream.OutcomeDone))
	out, err := h.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, stream.OutcomeDone, out)
	svc.EndHandOver(h.ID)
	resp, _ = get(t, h.URL)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "over: the page is gone")

	// Declined.
	h, err = svc.StartHandOver(sb.ID(), "confirm the payment")
	require.NoError(t, err)
	key, _ = url.ParseQuery(strings.SplitN(h.URL, "?", 2)[1])
	assert.Equal(t, http.StatusOK, answer(t, h.URL, key.Get("key"), stream.OutcomeDeclined))
	out, err = h.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, stream.OutcomeDeclined, out)

	// The stream stops under a pending hand-over: it ends, its page too.
	h, err = svc.StartHandOver(sb.ID(), "anything")
	require.NoError(t, err)
	require.NoError(t, svc.Stop(ctx, sb.ID()))
	out, err = h.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, stream.OutcomeStreamStopped, out)
	resp, _ = get(t, h.URL)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A view_only stream cannot be handed over.
	_, err = svc.Start(ctx, sb, stream.Options{RequireAuth: true, ViewOnly: true})
	require.NoError(t, err)
	_, err = svc.StartHandOver(sb.ID(), "anything")
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
}

// urlProvider's sandboxes serve their own viewer, as e2b's do.
type urlProvider struct{ deskProvider }

type urlInstance struct{ *deskInstance }

func (p *urlProvider) Create(ctx context.Context, cfg sandbox.Config, labels map[string]string) (sandbox.Instance, error) {
	in, err := p.deskProvider.Create(ctx, cfg, labels)
	if err != nil {
		return nil, err
	}
	return urlInstance{in.(*deskInstance)}, nil
}

func (urlInstance) StartVNC(context.Context, sandbox.StreamOptions) (*sandbox.StreamEndpoint, error) {
	return &sandbox.StreamEndpoint{URL: "https://6080-abc.e2b.example/vnc.html?autoconnect=true"}, nil
}

func (urlInstance) StopVNC(context.Context) error { return nil }

// On a backend with its own viewer the page frames that viewer with the
// stream's key as its VNC password: the person is not asked for it.
func TestHandOverFramesBackendViewer(t *testing.T) {
	m, err := sandbox.NewManager(&urlProvider{deskProvider{t: t}}, sandbox.Settings{}, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	sb, err := m.Create(context.Background(), sandbox.CreateRequest{Owner: "u1",
		Config: sandbox.Config{Resolution: sandbox.Resolution{Width: 640, Height: 480}}})
	require.NoError(t, err)
	svc := newService(t)
	info, err := svc.Start(context.Background(), sb, stream.Options{RequireAuth: true})
	require.NoError(t, err)
	h, err := svc.StartHandOver(sb.ID(), "confirm")
	require.NoError(t, err)
	resp, body := get(t, h.URL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `<iframe src="https://6080-abc.e2b.example/vnc.html?autoconnect=true&amp;password=`+url.QueryEscape(info.AuthKey)+`"`)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-src https://6080-abc.e2b.example;")
}
