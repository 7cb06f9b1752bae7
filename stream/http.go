package stream

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/sandbox"
)

// entry is one stream.
type entry struct {
	sandboxID string
	opts      Options
	inst      sandbox.Instance

	ready chan struct{} // closed when boot finished (err or ep set)
	err   error

	ep     *sandbox.StreamEndpoint
	token  string
	key    string
	info   Info
	ctx    context.Context // cancelled by Stop: ends every viewer
	cancel context.CancelFunc

	mu      sync.Mutex
	open    int            // viewers connected now (limits.go)
	viewers sync.WaitGroup // handlers still running (Close waits for them)
	bytes   atomic.Int64   // RFB bytes sent to viewers, all viewers together
}

// alive reports whether the stream's VNC server still answers.
func (e *entry) alive(ctx context.Context) bool {
	if e.ep.Dial == nil {
		return true // served by the backend (e2b); it answers for itself
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := e.ep.Dial(ctx)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// join registers a viewer unless the stream is stopping.
func (e *entry) join() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.viewers.Add(1)
	return true
}

const (
	staticPrefix   = "novnc/"
	handOverPrefix = "handover/"
)

func (s *Service) newHandler() (http.Handler, error) {
	root, err := os.OpenRoot(s.cfg.NoVNCDir)
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the noVNC web client is not installed (package novnc)").WithCause(err)
	}
	if _, err := root.Stat("core/rfb.js"); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the noVNC web client is incomplete (core/rfb.js missing)").WithCause(err)
	}
	static := root.FS() // os.Root: no path or symlink leaves the directory
	mux := http.NewServeMux()
	mux.HandleFunc("/stream/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		rest := strings.TrimPrefix(r.URL.Path, "/stream/")
		if strings.HasPrefix(rest, staticPrefix) {
			serveStatic(w, r, static, strings.TrimPrefix(rest, staticPrefix))
			return
		}
		if id, ok := strings.CutPrefix(rest, handOverPrefix); ok {
			id, sub, hasSlash := strings.Cut(id, "/")
			if !validToken(id) || !hasSlash {
				http.NotFound(w, r)
				return
			}
			s.serveHandOver(w, r, id, sub)
			return
		}
		token, sub, hasSlash := strings.Cut(rest, "/")
		if !validToken(token) {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		e := s.byToken[token]
		s.mu.Unlock()
		if e == nil {
			http.Error(w, "no such stream (it may have been stopped)", http.StatusNotFound)
			return
		}
		switch {
		case !hasSlash && sub == "":
			// Relative, so it works under any proxy prefix; keeps ?key=.
			target := token + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
		case sub == "":
			s.servePage(w, r, e)
		case sub == "websockify":
			s.serveWS(w, r, e)
		default:
			http.NotFound(w, r)
		}
	})
	return mux, nil
}

func validToken(t string) bool {
	if len(t) != 32 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// allow answers 405 (with Allow) and returns false unless r's method is
// one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// serveStatic serves one regular file of noVNC: no directory listings, no
// dot files, nothing outside the directory.
func serveStatic(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if name == "" || !fs.ValidPath(name) || strings.Contains(name, "\\") || path.Clean(name) != name {
		http.NotFound(w, r)
		return
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", st.ModTime(), rs)
}

// keyOf is the key a request presents: ?key= or Authorization: Bearer.
func keyOf(r *http.Request) string {
	if k := r.URL.Query().Get("key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// authorize answers 401 (no key) or 403 (wrong key) and returns false, or
// returns true when the stream needs no key or the right one was given.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, e *entry, page bool) bool {
	if e.key == "" {
		return true
	}
	k := keyOf(r)
	if k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(e.key)) == 1 {
		return true
	}
	status, msg := http.StatusForbidden, "wrong stream key"
	if k == "" {
		status, msg = http.StatusUnauthorized, "This stream needs its auth key"
		w.Header().Set("WWW-Authenticate", `Bearer realm="vmservice stream"`)
	}
	s.log.Info().Str("sandbox_id", e.sandboxID).Int("status", status).Bool("page", page).Msg("stream access refused")
	w.Header().Set("Cache-Control", "no-store")
	if page {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'")
		w.WriteHeader(status)
		_ = keyPage.Execute(w, msg)
		return false
	}
	http.Error(w, msg, status)
	return false
}

var keyPage = template.Must(template.New("key").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox desktop: key needed</title>
<style>body{font:15px sans-serif;margin:3em;color:#222}input{font:inherit;padding:.3em;width:24em}</style></head>
<body><h1>{{.}}</h1><p>Enter the <code>auth_key</code> that start_stream returned.</p>
<form method="get"><input name="key" type="password" autocomplete="off" autofocus> <button>Open</button></form>
</body></html>
`))

type pageConfig struct {
	ViewOnly    bool `json:"view_only"`
	JPEGQuality int  `json:"jpeg_quality"`
	Compression int  `json:"compression"`
	NeedsKey    bool `json:"needs_key"`
}

var viewerPage = template.Must(template.New("viewer").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox desktop</title>
<style>
html,body{margin:0;height:100%;background:#1e1e1e;overflow:hidden}
#screen{position:absolute;inset:0}
#status{position:fixed;top:0;left:0;right:0;padding:4px 8px;font:12px sans-serif;color:#fff;background:#335;z-index:10;text-align:center}
#status.ok{display:none}
</style></head>
<body data-config="{{.Config}}">
<div id="status">Connecting…</div>
<div id="screen"></div>
<script type="module" nonce="{{.Nonce}}">
import RFB from '../novnc/core/rfb.js';
const cfg = JSON.parse(document.body.dataset.config);
const key = new URLSearchParams(location.search).get('key') || '';
const ws = new URL('websockify', location.href);
ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
ws.search = key ? '?key=' + encodeURIComponent(key) : '';
const status = document.getElementById('status');
const state = window.vmstream = { state: 'connecting', connectedAt: 0, startedAt: performance.now() };
function show(text, ok) { status.textContent = text; status.className = ok ? 'ok' : ''; }
const rfb = new RFB(document.getElementById('screen'), ws.href,
                    { credentials: { password: key }, wsProtocols: ['binary'] });
state.rfb = rfb;
rfb.viewOnly = cfg.view_only;
rfb.scaleViewport = true;
rfb.qualityLevel = cfg.jpeg_quality;
rfb.compressionLevel = cfg.compression;
rfb.addEventListener('connect', () => { state.state = 'connected'; state.connectedAt = performance.now(); show('Connected', true); });
rfb.addEventListener('disconnect', (e) => { state.state = 'disconnected'; show(e.detail.clean ? 'Disconnected' : 'The stream was closed or is not reachable', false); });
rfb.addEventListener('credentialsrequired', () => rfb.sendCredentials({ password: key }));
rfb.addEventListener('securityfailure', () => show('The stream refused the key', false));
</script>
</body></html>
`))

func (s *Service) servePage(w http.ResponseWriter, r *http.Request, e *entry) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if !s.authorize(w, r, e, true) {
		return
	}
	lv, _ := vnc.ClientLevels(e.opts.Quality)
	cfg, _ := json.Marshal(pageConfig{ViewOnly: e.opts.ViewOnly, JPEGQuality: lv.JPEGQuality, Compression: lv.Compression, NeedsKey: e.key != ""})
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := base64.StdEncoding.EncodeToString(nb[:])
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'nonce-"+nonce+"'; connect-src 'self'; "+
		"img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'")
	_ = viewerPage.Execute(w, struct{ Config, Nonce string }{string(cfg), nonce})
}

// serveWS checks the key, dials the VNC server and only then upgrades:
// nothing of RFB reaches a caller that has not shown the key.
func (s *Service) serveWS(w http.ResponseWriter, r *http.Request, e *entry) {
	if !s.authorize(w, r, e, false) {
		return
	}
	if !e.admit() {
		http.Error(w, "too many viewers on this stream", http.StatusTooManyRequests)
		return
	}
	defer e.leave()
	if !e.join() {
		http.Error(w, "no such stream (it may have been stopped)", http.StatusNotFound)
		return
	}
	defer e.viewers.Done()
	dctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	vc, err := e.ep.Dial(dctx)
	cancel()
	if err != nil {
		s.log.Warn().Err(err).Str("sandbox_id", e.sandboxID).Msg("stream: VNC server not reachable")
		http.Error(w, "the sandbox's VNC server is not reachable", http.StatusBadGateway)
		return
	}
	defer vc.Close()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{"binary"},
		OriginPatterns: s.origins,
		// With a key, any origin: the key (checked above) is the credential
		// and travels in the URL, never in a cookie, so a page of another
		// origin holding it can do nothing a non-browser client could not.
		// The live view inside MCP hosts (mcpapp) runs on the host's own
		// sandbox origins, which nobody can list in advance. Keyless
		// streams keep the same-origin rule.
		InsecureSkipVerify: e.key != "",
		CompressionMode:    websocket.CompressionDisabled, // RFB is already compressed (Tight/zlib)
	})
	if err != nil {
		return // Accept has answered the client
	}
	c.SetReadLimit(8 << 20) // clipboard text can be large
	nc := websocket.NetConn(e.ctx, c, websocket.MessageBinary)
	defer nc.Close()
	start := time.Now()
	s.log.Info().Str("sandbox_id", e.sandboxID).Str("remote", r.RemoteAddr).Msg("stream viewer connected")

	done := make(chan struct{}, 2)
	var sent int64
	go func() {
		sent, _ = io.CopyBuffer(countWriter{nc, &e.bytes}, vc, make([]byte, 64<<10))
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.CopyBuffer(vc, nc, make([]byte, 16<<10))
		done <- struct{}{}
	}()
	pending := 2
	select {
	case <-done:
		pending--
	case <-e.ctx.Done():
		// Tell the viewer why, without waiting for its reply.
		go func() { _ = c.Close(websocket.StatusGoingAway, "stream stopped") }()
	}
	// Either side ended (or Stop): close both so the other copy returns.
	_ = vc.Close()
	_ = nc.Close()
	for ; pending > 0; pending-- {
		<-done
	}
	s.log.Info().Str("sandbox_id", e.sandboxID).Int64("bytes_sent", sent).Dur("duration", time.Since(start)).
		Msg("stream viewer disconnected")
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// BytesSent is how many RFB bytes the stream of sandboxID has sent to its
// viewers so far (for measurements and stats).
func (s *Service) BytesSent(sandboxID string) (int64, error) {
	s.mu.Lock()
	e := s.bySandbox[sandboxID]
	s.mu.Unlock()
	if e == nil {
		return 0, sandbox.Errorf(sandbox.CodeNotFound, "no stream is running for sandbox %q", sandboxID)
	}
	return e.bytes.Load(), nil
}
