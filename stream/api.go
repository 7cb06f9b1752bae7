// Package stream serves live views of sandbox desktops to browsers: the
// noVNC web client plus a WebSocket-to-RFB proxy, one unguessable URL per
// stream, guarded by a per-stream auth key.
//
// URLs, under the service's base URL (Config.PublicURL):
//
//	/stream/<token>/             the viewer page (noVNC), needs the key
//	/stream/<token>/websockify   WebSocket carrying RFB, needs the key
//	/stream/novnc/...            noVNC's static files (public code, no secrets)
//	/stream/handover/<id>/       a person's hand-over page (handover.go), its own key
//
// The token is a random per-stream id, not the sandbox id. With auth on,
// Info.URL is ready to open: it carries the key as ?key=, and Info.AuthKey
// repeats it for programs (which may send it as "Authorization: Bearer").
// The key is checked before any VNC byte flows: missing is 401 (the page
// then shows a form asking for the key), wrong is 403, and once the stream
// stops its token is 404. The key is also the VNC password of the x11vnc
// behind the stream, so the RFB layer is protected too (VNC authentication
// uses only its first 8 bytes).
//
// Quality and frame rate (see driver/vnc for the x11vnc side):
//
//	quality  noVNC JPEG quality  noVNC compression   (sent as RFB pseudo-encodings;
//	low      3                   9                    x11vnc's Tight encoder obeys them)
//	medium   6                   6
//	high     9                   1
//	frame_rate f: x11vnc -wait 1000/f -defer 1000/f (poll and coalesce every 1/f s)
//
// Measured with e2e/stream/run.sh (1024x768; numbers vary with machine
// load): one full-screen noise image costs about 48 KB at low, 118 KB at
// medium and 750 KB at high; flipping such images 4 times a second streams
// about 0.1, 0.33 and 2.2 MB/s (medium at 5 fps: 0.23 MB/s). A scrolling
// terminal costs 30-50 KB/s at 30 fps and 5-10 KB/s at 5 fps. First frame
// on the canvas: 0.3-0.6 s after start_stream returns.
package stream

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/sandbox"
)

// DefaultListen is the stream listener's default address (loopback).
const DefaultListen = "127.0.0.1:6080"

// DefaultNoVNCDir is where Debian's novnc package puts the web client.
const DefaultNoVNCDir = "/usr/share/novnc"

// Config configures the stream service.
type Config struct {
	Listen    string // host:port for the stream HTTP listener; default "127.0.0.1:6080"; ":0" allowed in tests
	PublicURL string // base URL put in stream_url (e.g. https://desk.example.com); default http://<listen addr>
	Log       zerolog.Logger
	// NoVNCDir is the noVNC web client (default /usr/share/novnc).
	NoVNCDir string
}

// Options are what start_stream asks for.
type Options struct {
	WindowID    sandbox.WindowID // 0 = whole desktop
	RequireAuth bool             // default true at the tool layer
	Quality     string           // "low" | "medium" | "high" (default "medium")
	FrameRate   int              // 1-60, default 30
	ViewOnly    bool
}

// normalize fills defaults and validates; errors name the field.
func (o Options) normalize() (Options, error) {
	if o.Quality == "" {
		o.Quality = vnc.QualityMedium
	}
	if _, err := vnc.ClientLevels(o.Quality); err != nil {
		return o, err
	}
	if o.FrameRate == 0 {
		o.FrameRate = vnc.DefaultFrameRate
	}
	if o.FrameRate < vnc.MinFrameRate || o.FrameRate > vnc.MaxFrameRate {
		return o, sandbox.InvalidArgument("frame_rate", "frame_rate must be between %d and %d, got %d",
			vnc.MinFrameRate, vnc.MaxFrameRate, o.FrameRate).WithDetail("min", vnc.MinFrameRate).WithDetail("max", vnc.MaxFrameRate)
	}
	return o, nil
}

// Info describes a running stream (the start_stream result).
type Info struct {
	SandboxID string           `json:"sandbox_id"`
	URL       string           `json:"stream_url"`
	AuthKey   string           `json:"auth_key,omitempty"`
	Quality   string           `json:"quality"`
	FrameRate int              `json:"frame_rate"`
	ViewOnly  bool             `json:"view_only"`
	WindowID  sandbox.WindowID `json:"window_id,omitempty"`
	StartedAt time.Time        `json:"started_at"`
}

// Service owns every stream and the HTTP handler that serves them. It is
// safe for concurrent use.
type Service struct {
	cfg     Config
	log     zerolog.Logger
	public  *url.URL // nil: derive from the listener
	origins []string // extra WebSocket origins (the public host)

	mu        sync.Mutex
	bySandbox map[string]*entry
	byToken   map[string]*entry
	handovers map[string]*HandOver // by id (handover.go)
	closed    bool

	addr      atomic.Pointer[string] // set once listening
	listening chan struct{}
	lnOnce    sync.Once
	handler   http.Handler
}

// New validates cfg; it does not listen yet.
func New(cfg Config) (*Service, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, sandbox.InvalidArgument("stream_listen", "the stream listen address must be host:port, got %q", cfg.Listen)
	}
	if cfg.NoVNCDir == "" {
		cfg.NoVNCDir = DefaultNoVNCDir
	}
	s := &Service{cfg: cfg, log: cfg.Log,
		bySandbox: map[string]*entry{}, byToken: map[string]*entry{}, handovers: map[string]*HandOver{}, listening: make(chan struct{})}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, sandbox.InvalidArgument("stream_public_url", "the stream public URL must be an http(s) base URL such as https://desk.example.com, got %q", cfg.PublicURL)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		s.public = u
		s.origins = []string{u.Host}
	}
	h, err := s.newHandler()
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// BaseURL is what stream URLs start with (no trailing slash): the public
// URL when set, else the listener's address. Its origin is the only one the
// MCP App's CSP allows (mcpapp).
func (s *Service) BaseURL() string { return s.baseURL() }

// baseURL is what stream URLs start with (no trailing slash).
func (s *Service) baseURL() string {
	if s.public != nil {
		return s.public.String()
	}
	addr := s.Addr()
	if addr == "" {
		addr = s.cfg.Listen
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func randKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Start starts the stream of sb. A second Start on the same sandbox returns
// the running stream's Info (same URL and key) when the options are equal,
// and INVALID_ARGUMENT otherwise.
func (s *Service) Start(ctx context.Context, sb *sandbox.Sandbox, o Options) (*Info, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	id := sb.ID()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the server is shutting down")
		}
		e := s.bySandbox[id]
		if e == nil {
			e = &entry{sandboxID: id, opts: o, inst: sb.Instance(), ready: make(chan struct{})}
			s.bySandbox[id] = e
			s.mu.Unlock()
			return s.boot(ctx, e)
		}
		s.mu.Unlock()
		// Another Start is booting this sandbox's stream: wait for it.
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, sandbox.AsError(ctx.Err())
		}
		s.mu.Lock()
		current := s.bySandbox[id] == e
		s.mu.Unlock()
		if e.err != nil || !current {
			continue // it failed or was stopped meanwhile; look again
		}
		if !e.alive(ctx) {
			// x11vnc died (its window closed, its display went away):
			// replace the stream instead of handing out a dead URL.
			s.log.Info().Str("sandbox_id", id).Msg("stream's VNC server is gone; restarting it")
			_ = s.Stop(ctx, id)
			continue
		}
		if e.opts != o {
			return nil, sandbox.InvalidArgument("sandbox_id", "sandbox %s is already streaming with other options; stop_stream first", id).
				WithDetail("stream_url", e.info.URL)
		}
		info := e.info
		return &info, nil
	}
}

// boot runs the VNC server for a fresh entry and publishes it.
func (s *Service) boot(ctx context.Context, e *entry) (*Info, error) {
	o := e.opts
	key := ""
	if o.RequireAuth {
		key = randKey()
	}
	ep, err := e.inst.StartVNC(ctx, sandbox.StreamOptions{
		WindowID: o.WindowID, Password: key, Quality: o.Quality, FrameRate: o.FrameRate, ViewOnly: o.ViewOnly,
	})
	if err == nil && (ep == nil || (ep.Dial == nil && ep.URL == "")) {
		_ = e.inst.StopVNC(context.WithoutCancel(ctx))
		err = sandbox.Errorf(sandbox.CodeInternal, "the backend returned no stream endpoint")
	}
	s.mu.Lock()
	if err == nil && s.closed {
		err = sandbox.Errorf(sandbox.CodeBackendUnavailable, "the server is shutting down")
		defer func() { _ = e.inst.StopVNC(context.WithoutCancel(ctx)) }()
	}
	if err != nil {
		delete(s.bySandbox, e.sandboxID)
		s.mu.Unlock()
		e.err = err
		close(e.ready)
		s.log.Warn().Err(err).Str("sandbox_id", e.sandboxID).Msg("stream start failed")
		return nil, sandbox.AsError(err)
	}
	e.ep = ep
	e.token = randToken(20)
	e.key = key
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.info = Info{SandboxID: e.sandboxID, AuthKey: key, Quality: o.Quality, FrameRate: o.FrameRate,
		ViewOnly: o.ViewOnly, WindowID: o.WindowID, StartedAt: time.Now().UTC()}
	if ep.URL != "" {
		e.info.URL = ep.URL // the backend serves its own viewer (e2b)
	} else {
		e.info.URL = s.baseURL() + "/stream/" + e.token + "/"
		if key != "" {
			e.info.URL += "?key=" + url.QueryEscape(key)
		}
		s.byToken[e.token] = e
	}
	s.mu.Unlock()
	close(e.ready)
	s.log.Info().Str("sandbox_id", e.sandboxID).Str("quality", o.Quality).Int("frame_rate", o.FrameRate).
		Bool("view_only", o.ViewOnly).Bool("auth", o.RequireAuth).Msg("stream started")
	info := e.info
	return &info, nil
}

// Stop ends the stream of sandboxID: its URL and key stop working at once
// and open viewers are disconnected. No stream is SANDBOX_NOT_FOUND with a
// message that says so.
func (s *Service) Stop(ctx context.Context, sandboxID string) error {
	s.mu.Lock()
	e := s.bySandbox[sandboxID]
	if e != nil {
		s.mu.Unlock()
		<-e.ready // never tear down a half-started stream
		s.mu.Lock()
		if s.bySandbox[sandboxID] != e {
			e = nil // failed, or stopped by someone else meanwhile
		}
	}
	if e == nil {
		s.mu.Unlock()
		return sandbox.Errorf(sandbox.CodeNotFound, "no stream is running for sandbox %q", sandboxID).
			WithDetail("sandbox_id", sandboxID)
	}
	delete(s.bySandbox, sandboxID)
	delete(s.byToken, e.token)
	hs := s.dropHandOversLocked(sandboxID)
	s.mu.Unlock()
	for _, h := range hs {
		h.resolve(OutcomeStreamStopped)
	}
	return s.teardown(ctx, e)
}

func (s *Service) teardown(ctx context.Context, e *entry) error {
	e.cancel() // ends every viewer: no new ones, open ones are closed
	err := e.inst.StopVNC(context.WithoutCancel(ctx))
	s.log.Info().Str("sandbox_id", e.sandboxID).Msg("stream stopped")
	if err != nil {
		s.log.Warn().Err(err).Str("sandbox_id", e.sandboxID).Msg("stopping the VNC server reported an error")
		return sandbox.AsError(err)
	}
	return nil
}

// Get returns the running stream of sandboxID, if any.
func (s *Service) Get(sandboxID string) (*Info, bool) {
	s.mu.Lock()
	e := s.bySandbox[sandboxID]
	s.mu.Unlock()
	if e == nil {
		return nil, false
	}
	<-e.ready
	if e.err != nil {
		return nil, false
	}
	info := e.info
	return &info, true
}

// Active lists the running streams (keys included), oldest first.
func (s *Service) Active() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, e := range s.bySandbox {
		select {
		case <-e.ready:
			if e.err == nil {
				out = append(out, e.info)
			}
		default:
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].StartedAt.Before(out[j-1].StartedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Handler serves the viewer and its WebSocket under /stream/.
func (s *Service) Handler() http.Handler { return s.handler }

// ListenAndServe serves Handler on cfg.Listen until ctx is done. It returns
// at once when the address cannot be bound.
func (s *Service) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the stream listener could not bind %s", s.cfg.Listen).WithCause(err)
	}
	a := ln.Addr().String()
	s.addr.Store(&a)
	s.lnOnce.Do(func() { close(s.listening) })
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Str("base_url", s.baseURL()).Msg("stream listener up")
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the stream listener failed").WithCause(err)
	}
	return nil
}

// Listening is closed once ListenAndServe has bound its address.
func (s *Service) Listening() <-chan struct{} { return s.listening }

// Addr is the listening address once ListenAndServe has bound ("" before).
func (s *Service) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Close stops every stream and refuses new ones; no x11vnc is left.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	var es []*entry
	for id, e := range s.bySandbox {
		es = append(es, e)
		delete(s.bySandbox, id)
	}
	s.byToken = map[string]*entry{}
	hs := s.handovers
	s.handovers = map[string]*HandOver{}
	s.mu.Unlock()
	for _, h := range hs {
		h.resolve(OutcomeStreamStopped)
	}
	var wg sync.WaitGroup
	for _, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-e.ready
			if e.err == nil {
				_ = s.teardown(context.Background(), e)
				e.viewers.Wait() // no proxy goroutine outlives Close
			}
		}()
	}
	wg.Wait()
	return nil
}
