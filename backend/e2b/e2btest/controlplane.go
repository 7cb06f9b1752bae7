// Package e2btest is a test-only stand-in for E2B: the control plane's REST
// API (openapi.yml: create, connect, list, get, kill, timeout) and E2B's
// proxy in front of each sandbox, over emulated sandboxes that run E2B's
// real envd (third_party/e2b-infra, built by Build). Each sandbox is a
// Machine, normally a local sandbox (bubblewrap + Xvfb + openbox) playing
// the Firecracker VM: the control plane starts it, waits for envd and
// initialises it (/init: environment, access token, default user) as E2B's
// orchestrator does, then forwards every envd request (routed by the
// E2b-Sandbox-Id and E2b-Sandbox-Port headers, as the SDKs send them) to
// the port inside the sandbox.
package e2btest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
)

// Headers of E2B's proxy: which sandbox, which port inside it.
const (
	SandboxIDHeader   = "E2b-Sandbox-Id"
	SandboxPortHeader = "E2b-Sandbox-Port"
)

// DebugSandboxID is the id the official SDKs use in debug mode, where they
// never call the control plane and talk to envd on localhost:49983 directly.
const DebugSandboxID = "debug_sandbox_id"

// Machine is what an emulated sandbox runs on: something with envd
// listening on EnvdPort inside.
type Machine interface {
	// Dial connects to port inside the machine (what E2B's proxy does).
	Dial(ctx context.Context, port int) (net.Conn, error)
	// Env is the template's environment, given to envd at /init.
	Env() map[string]string
	// Exited is non-nil once envd has exited.
	Exited() error
	Close(ctx context.Context) error
}

// CreateSpec is what the control plane asks a Factory for.
type CreateSpec struct {
	ID                  string
	Template            string
	AllowInternetAccess bool
}

// Factory makes the Machine behind a new sandbox, envd started.
type Factory func(ctx context.Context, spec CreateSpec) (Machine, error)

// Options configure a Server.
type Options struct {
	// APIKey, when set, is the only key the control plane accepts.
	APIKey string
	// Domain is reported to clients (default e2b.app).
	Domain string
	// MaxSandboxes bounds live sandboxes (default 20); beyond it create
	// answers 429 like E2B's concurrency limit.
	MaxSandboxes int
	// NewMachine makes the machine behind each sandbox.
	NewMachine Factory
	// EnvdVersion is reported as envdVersion (Binaries.Version).
	EnvdVersion string
	// Debug serves envd requests for an unknown sandbox id (the SDKs' debug
	// mode) from one sandbox made on first use.
	Debug bool
	Log   zerolog.Logger
}

// Server is the emulator. Its Handler serves the control plane and the
// proxy on one mux (a request naming a sandbox, or on a path the control
// plane does not have, goes to the sandbox); bind it to two listeners to
// look like debug mode's :3000 and :49983.
type Server struct {
	opts Options
	mu   sync.Mutex
	sbx  map[string]*sbx
	// debugMu serialises making the debug sandbox.
	debugMu sync.Mutex
	closed  bool
	mux     *http.ServeMux
}

type sbx struct {
	id, template, token string
	secure              bool
	allowInternet       bool
	metadata            map[string]string
	started             time.Time
	m                   Machine
	link                *envdLink

	mu    sync.Mutex
	end   time.Time
	timer *time.Timer
	gone  bool
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Domain == "" {
		opts.Domain = "e2b.app"
	}
	if opts.MaxSandboxes <= 0 {
		opts.MaxSandboxes = 20
	}
	s := &Server{opts: opts, sbx: map[string]*sbx{}, mux: http.NewServeMux()}
	s.routes()
	return s
}

// Handler serves the control plane and the sandboxes' ports.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(SandboxIDHeader) != "" {
			s.proxy(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	m.HandleFunc("POST /sandboxes", s.api(s.create))
	// The official SDKs (e2b 2.x) create and connect through /v2.
	m.HandleFunc("POST /v2/sandboxes", s.api(s.create))
	m.HandleFunc("POST /v2/sandboxes/{id}/connect", s.api(s.connect))
	m.HandleFunc("GET /sandboxes", s.api(s.listV1))
	m.HandleFunc("GET /v2/sandboxes", s.api(s.list))
	m.HandleFunc("GET /sandboxes/{id}", s.api(s.get))
	m.HandleFunc("DELETE /sandboxes/{id}", s.api(s.kill))
	m.HandleFunc("POST /sandboxes/{id}/timeout", s.api(s.timeout))
	m.HandleFunc("POST /sandboxes/{id}/connect", s.api(s.connect))
	// Anything else is envd's (debug mode sends no sandbox id).
	m.HandleFunc("/", s.proxy)
}

func newToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func apiErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wire.HTTPError{Code: status, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// api checks the API key before h.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(wire.APIKeyHeader)
		if key == "" || (s.opts.APIKey != "" && key != s.opts.APIKey) {
			apiErr(w, http.StatusUnauthorized, "Invalid API key")
			return
		}
		h(w, r)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req wire.NewSandbox
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		apiErr(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return
	}
	if req.TemplateID == "" {
		apiErr(w, http.StatusBadRequest, "templateID is required")
		return
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = 15
	}
	secure := req.Secure != nil && *req.Secure
	// E2B's default is online; the emulator's machines get a network only
	// when one is asked for explicitly (this machine has no internet).
	allow := req.AllowInternetAccess != nil && *req.AllowInternetAccess
	b, status, msg := s.newSandbox(r.Context(), "i"+newToken(10), req.TemplateID, req.EnvVars, req.Metadata, secure, allow, time.Duration(timeout)*time.Second)
	if b == nil {
		apiErr(w, status, msg)
		return
	}
	writeJSON(w, http.StatusCreated, s.sandboxJSON(b))
}

func (s *Server) newSandbox(ctx context.Context, id, template string, env, meta map[string]string, secure, allow bool, ttl time.Duration) (*sbx, int, string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, http.StatusServiceUnavailable, "the emulator is shutting down"
	}
	if len(s.sbx) >= s.opts.MaxSandboxes {
		s.mu.Unlock()
		return nil, http.StatusTooManyRequests, "You have reached the maximum number of concurrent E2B sandboxes (" + strconv.Itoa(s.opts.MaxSandboxes) + ")"
	}
	s.sbx[id] = nil // reserve the slot
	s.mu.Unlock()

	b := &sbx{id: id, template: template, secure: secure, allowInternet: allow, metadata: meta, started: time.Now().UTC()}
	if secure {
		b.token = newToken(16)
	}
	if err := s.boot(ctx, b, env); err != nil {
		s.mu.Lock()
		delete(s.sbx, id)
		s.mu.Unlock()
		s.opts.Log.Error().Err(err).Str("sandbox", id).Msg("e2btest: sandbox creation failed")
		return nil, http.StatusInternalServerError, "failed to create sandbox"
	}
	b.end = b.started.Add(ttl)
	if ttl > 0 {
		b.timer = time.AfterFunc(ttl, func() { s.remove(id) })
	}
	s.mu.Lock()
	s.sbx[id] = b
	s.mu.Unlock()
	s.opts.Log.Info().Str("sandbox", id).Str("template", template).Msg("e2btest: sandbox created")
	return b, 0, ""
}

// boot makes the machine and initialises its envd, as E2B's orchestrator
// does when a VM starts.
func (s *Server) boot(ctx context.Context, b *sbx, env map[string]string) error {
	m, err := s.opts.NewMachine(ctx, CreateSpec{ID: b.id, Template: b.template, AllowInternetAccess: b.allowInternet})
	if err != nil {
		return err
	}
	l := newEnvdLink(m)
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err = l.waitHealthy(ictx); err == nil {
		err = l.init(ictx, b.token, env)
	}
	if err != nil {
		l.close()
		_ = m.Close(context.WithoutCancel(ctx))
		return err
	}
	b.m, b.link = m, l
	return nil
}

func (s *Server) sandboxJSON(b *sbx) wire.Sandbox {
	d := s.opts.Domain
	return wire.Sandbox{TemplateID: b.template, SandboxID: b.id, Alias: b.template, ClientID: "emulator",
		EnvdVersion: s.opts.EnvdVersion, EnvdAccessToken: b.token, Domain: &d}
}

func (s *Server) detail(b *sbx) wire.SandboxDetail {
	b.mu.Lock()
	end := b.end
	b.mu.Unlock()
	d := s.opts.Domain
	allow := b.allowInternet
	return wire.SandboxDetail{TemplateID: b.template, Alias: b.template, SandboxID: b.id, ClientID: "emulator",
		StartedAt: b.started, EndAt: end, EnvdVersion: s.opts.EnvdVersion, EnvdAccessToken: b.token,
		AllowInternetAccess: &allow, Domain: &d, CPUCount: 2, MemoryMB: 2048, DiskSizeMB: 10240,
		Metadata: b.metadata, State: "running"}
}

func (s *Server) lookup(id string) *sbx {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sbx[id]
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	b := s.lookup(r.PathValue("id"))
	if b == nil {
		apiErr(w, http.StatusNotFound, "sandbox \""+r.PathValue("id")+"\" doesn't exist or you don't have access to it")
		return
	}
	writeJSON(w, http.StatusOK, s.detail(b))
}

// matches reports whether meta has every pair of the metadata query
// ("k=v&k2=v2", each key and value URL-encoded).
func matches(meta map[string]string, query string) bool {
	if query == "" {
		return true
	}
	want, err := url.ParseQuery(query)
	if err != nil {
		return false
	}
	for k, vs := range want {
		if len(vs) == 0 || meta[k] != vs[0] {
			return false
		}
	}
	return true
}

func (s *Server) listed(r *http.Request) []wire.SandboxDetail {
	q := r.URL.Query()
	s.mu.Lock()
	var bs []*sbx
	for _, b := range s.sbx {
		if b != nil && matches(b.metadata, q.Get("metadata")) {
			bs = append(bs, b)
		}
	}
	s.mu.Unlock()
	out := make([]wire.SandboxDetail, 0, len(bs))
	for _, b := range bs {
		d := s.detail(b)
		d.EnvdAccessToken, d.Domain, d.AllowInternetAccess = "", nil, nil
		out = append(out, d)
	}
	asc := q.Get("order") == "asc"
	sort.Slice(out, func(i, j int) bool {
		if asc {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].StartedAt.After(out[j].StartedAt)
	})
	return out
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	st := r.URL.Query().Get("state")
	out := s.listed(r)
	if st != "" && !strings.Contains(st, "running") {
		out = out[:0] // nothing is ever paused here
	}
	w.Header().Set("X-Total-Running", strconv.Itoa(len(out)))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listV1(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.listed(r))
}

func (s *Server) kill(w http.ResponseWriter, r *http.Request) {
	if !s.remove(r.PathValue("id")) {
		apiErr(w, http.StatusNotFound, "sandbox not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) timeout(w http.ResponseWriter, r *http.Request) {
	var req wire.TimeoutRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		apiErr(w, http.StatusBadRequest, "invalid body")
		return
	}
	b := s.lookup(r.PathValue("id"))
	if b == nil {
		apiErr(w, http.StatusNotFound, "sandbox not found")
		return
	}
	s.setTTL(b, time.Duration(req.Timeout)*time.Second, false)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	var req wire.TimeoutRequest
	_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req)
	b := s.lookup(r.PathValue("id"))
	if b == nil {
		apiErr(w, http.StatusNotFound, "sandbox not found")
		return
	}
	s.setTTL(b, time.Duration(req.Timeout)*time.Second, true)
	writeJSON(w, http.StatusOK, s.sandboxJSON(b))
}

// setTTL moves the sandbox's end to now+d (extendOnly: never earlier).
func (s *Server) setTTL(b *sbx, d time.Duration, extendOnly bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	end := time.Now().UTC().Add(d)
	if extendOnly && end.Before(b.end) {
		return
	}
	b.end = end
	if b.timer != nil {
		b.timer.Stop()
	}
	id := b.id
	b.timer = time.AfterFunc(d, func() { s.remove(id) })
}

// proxy forwards a request to the sandbox it names (E2b-Sandbox-Id), to
// the port it names (E2b-Sandbox-Port, default envd's), as E2B's proxy does.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(SandboxIDHeader)
	b := s.lookup(id)
	if b == nil && s.opts.Debug {
		var err error
		if b, err = s.debugSandbox(r.Context()); err != nil {
			http.Error(w, "the debug sandbox could not be made", http.StatusBadGateway)
			return
		}
	}
	if b == nil {
		// What E2B's proxy answers for an unknown or expired sandbox.
		writeJSON(w, http.StatusBadGateway, map[string]any{"code": http.StatusBadGateway,
			"message": "The sandbox was not found", "sandboxId": id})
		return
	}
	b.link.proxy.ServeHTTP(w, r)
}

func (s *Server) debugSandbox(ctx context.Context) (*sbx, error) {
	s.debugMu.Lock()
	defer s.debugMu.Unlock()
	if b := s.lookup(DebugSandboxID); b != nil {
		return b, nil
	}
	// Debug mode skips the create call in which @e2b/desktop sets the
	// sandbox's DISPLAY: the debug sandbox has it as if created so.
	b, _, msg := s.newSandbox(context.WithoutCancel(ctx), DebugSandboxID, "desktop",
		map[string]string{"DISPLAY": ":0"}, map[string]string{}, false, false, 0)
	if b == nil {
		return nil, errors.New(msg)
	}
	return b, nil
}

// remove kills a sandbox; false if there was none.
func (s *Server) remove(id string) bool {
	s.mu.Lock()
	b := s.sbx[id]
	if b == nil {
		s.mu.Unlock()
		return false
	}
	delete(s.sbx, id)
	s.mu.Unlock()
	b.destroy()
	s.opts.Log.Info().Str("sandbox", id).Msg("e2btest: sandbox killed")
	return true
}

func (b *sbx) destroy() {
	b.mu.Lock()
	if b.gone {
		b.mu.Unlock()
		return
	}
	b.gone = true
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.link.close()
	_ = b.m.Close(ctx)
}

// Count is the number of live sandboxes.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.sbx {
		if b != nil {
			n++
		}
	}
	return n
}

// Close kills every sandbox and refuses new ones.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var ids []string
	for id, b := range s.sbx {
		if b != nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); s.remove(id) }()
	}
	wg.Wait()
	return nil
}
