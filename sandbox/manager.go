package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"math"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Sandbox states.
const (
	StateRunning   = "running"
	StateDestroyed = "destroyed"
)

// Info is what callers learn about a sandbox (the VM Service SDK's SandboxInfo plus
// the fields a serious client needs).
type Info struct {
	SandboxID           string         `json:"sandbox_id"`
	SessionID           string         `json:"session_id"`
	UserID              string         `json:"user_id"`
	Template            string         `json:"template"`
	State               string         `json:"state"`
	Backend             string         `json:"backend"`
	CreatedAt           time.Time      `json:"created_at"`
	ExpiresAt           time.Time      `json:"expires_at"`
	CPUCount            int            `json:"cpu_count"`
	MemoryMB            int            `json:"memory_mb"`
	Resolution          string         `json:"resolution"`
	AllowInternetAccess bool           `json:"allow_internet_access"`
	WorkingDirectory    string         `json:"working_directory"`
	Details             map[string]any `json:"details,omitempty"`
}

// Sandbox is a live sandbox handle held by the Manager.
type Sandbox struct {
	id, owner, session string
	cfg                Config
	created            time.Time
	inst               Instance
	m                  *Manager

	input chan struct{} // one token: input calls run one at a time, in order

	mu      sync.Mutex
	expires time.Time
	timer   *time.Timer
	gone    bool
	checked time.Time // shared mode: last seen in the directory
}

func (s *Sandbox) lastCheck() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checked
}

// ID is the public, opaque sandbox id.
func (s *Sandbox) ID() string { return s.id }

// Owner is the user id that owns the sandbox.
func (s *Sandbox) Owner() string { return s.owner }

// Instance is the backend instance (files, commands, apps, streams). For
// desktop input use Input, which keeps concurrent callers in order.
func (s *Sandbox) Instance() Instance { return s.inst }

// Info describes the sandbox.
func (s *Sandbox) Info() Info {
	s.mu.Lock()
	exp, gone := s.expires, s.gone
	s.mu.Unlock()
	state := StateRunning
	if gone {
		state = StateDestroyed
	}
	return Info{
		SandboxID: s.id, SessionID: s.session, UserID: s.owner,
		Template: s.cfg.Template, State: state, Backend: s.m.provider.Name(),
		CreatedAt: s.created, ExpiresAt: exp,
		CPUCount: s.cfg.CPUCount, MemoryMB: s.cfg.MemoryMB,
		Resolution: s.cfg.Resolution.String(), AllowInternetAccess: s.cfg.AllowInternetAccess,
		WorkingDirectory: s.cfg.WorkingDirectory, Details: s.inst.Details(),
	}
}

// Config is the sandbox's effective configuration.
func (s *Sandbox) Config() Config { return s.cfg }

// Input runs fn with exclusive use of the desktop: input from concurrent
// calls never interleaves (a typed chunk, then a click, in call order).
func (s *Sandbox) Input(ctx context.Context, fn func(Desktop) error) error {
	select {
	case s.input <- struct{}{}:
	case <-ctx.Done():
		return AsError(ctx.Err())
	}
	defer func() { <-s.input }()
	if s.destroyed() {
		return NotFound(s.id)
	}
	return fn(s.inst.Desktop())
}

func (s *Sandbox) destroyed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

// CreateRequest asks the Manager for a sandbox.
type CreateRequest struct {
	Owner   string
	Session string // MCP session it belongs to ("" = none)
	Config  Config
	// Labels are stored with the sandbox by backends that can.
	Labels map[string]string
}

// Stats is the VM Service SDK's get_stats answer.
type Stats struct {
	TotalActiveSandboxes int            `json:"total_active_sandboxes"`
	TotalUsers           int            `json:"total_users"`
	SandboxesByUser      map[string]int `json:"sandboxes_by_user"`
	MaxConcurrent        int            `json:"max_concurrent_sandboxes"`
	Backend              string         `json:"backend"`
	WarmPool             *PoolStats     `json:"warm_pool,omitempty"`
}

// WarmPool is a Provider that keeps desktops booted ahead of requests
// (Pool). The Manager looks for it once, in NewManager.
type WarmPool interface {
	// SetBudget gives the pool f: how many desktops it may hold besides
	// the live sandboxes (warm ones count toward max_concurrent_sandboxes).
	SetBudget(f func() int)
	// Released says a sandbox is gone: room for a warm desktop.
	Released()
	Stats() PoolStats
}

// Manager owns every sandbox: who owns it, quotas, expiry, stats, clean-up.
// It is safe for concurrent use.
type Manager struct {
	provider Provider
	warm     WarmPool // the provider, when it keeps desktops of its own
	settings Settings
	log      zerolog.Logger

	mu        sync.Mutex
	sandboxes map[string]*Sandbox
	pending   map[string]int // owner -> creations in flight (count against quotas)
	closed    bool

	// OnDestroy, when set, is called after a sandbox is destroyed (stream
	// clean-up, metrics). It must not call back into the Manager's lock.
	OnDestroy func(Info)
}

// NewManager validates settings and returns a Manager over provider.
func NewManager(p Provider, s Settings, log zerolog.Logger) (*Manager, error) {
	s, err := s.Normalize()
	if err != nil {
		return nil, err
	}
	if _, ok := p.(Directory); s.Shared && !ok {
		return nil, InvalidArgument("shared", "the %s backend cannot share its sandboxes between servers", p.Name())
	}
	m := &Manager{provider: p, settings: s, log: log,
		sandboxes: map[string]*Sandbox{}, pending: map[string]int{}}
	if w, ok := p.(WarmPool); ok { // warm desktops count toward max_concurrent_sandboxes
		m.warm = w
		w.SetBudget(func() int {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.closed { // shutting down: boot nothing more
				return 0
			}
			total, _ := m.countLocked("")
			return m.settings.MaxConcurrentSandboxes - total
		})
	}
	return m, nil
}

// Settings returns the effective settings.
func (m *Manager) Settings() Settings { return m.settings }

// Backend is the provider's name.
func (m *Manager) Backend() string { return m.provider.Name() }

func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (m *Manager) countLocked(owner string) (total, mine int) {
	for _, s := range m.sandboxes {
		total++
		if s.owner == owner {
			mine++
		}
	}
	for o, n := range m.pending {
		total += n
		if o == owner {
			mine += n
		}
	}
	return
}

// Create boots a sandbox for req.Owner, enforcing the global and per-user
// quotas. Transient backend failures are retried with exponential back-off.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*Sandbox, error) {
	if req.Owner == "" {
		return nil, InvalidArgument("user_id", "a user id is required")
	}
	cfg := req.Config.WithDefaults(m.settings)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout > m.settings.MaxTimeout {
		return nil, InvalidArgument("timeout_seconds", "timeout_seconds must be at most %d", int(m.settings.MaxTimeout.Seconds()))
	}

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, Errorf(CodeBackendUnavailable, "the server is shutting down")
	}
	total, mine := m.countLocked(req.Owner)
	if total >= m.settings.MaxConcurrentSandboxes {
		m.mu.Unlock()
		return nil, QuotaExceeded("max_concurrent_sandboxes", total, m.settings.MaxConcurrentSandboxes)
	}
	if mine >= m.settings.MaxSandboxesPerUser {
		m.mu.Unlock()
		return nil, QuotaExceeded("max_sandboxes_per_user", mine, m.settings.MaxSandboxesPerUser)
	}
	m.pending[req.Owner]++
	m.mu.Unlock()
	d := m.directory()
	if d != nil {
		// The deployment's sandboxes, not this replica's, count.
		if err := m.sharedQuota(ctx, d, req.Owner); err != nil {
			m.mu.Lock()
			if m.pending[req.Owner]--; m.pending[req.Owner] <= 0 {
				delete(m.pending, req.Owner)
			}
			m.mu.Unlock()
			return nil, AsError(err)
		}
	}
	release := func() {
		m.mu.Lock()
		if m.pending[req.Owner]--; m.pending[req.Owner] <= 0 {
			delete(m.pending, req.Owner)
		}
		m.mu.Unlock()
	}

	id := newID("sb_")
	session := req.Session
	if session == "" {
		session = newID("ses_")
	}
	labels := map[string]string{LabelSandboxID: id, LabelOwner: req.Owner, LabelSession: session, LabelConfig: configLabel(cfg)}
	for k, v := range req.Labels {
		labels[k] = v
	}
	inst, err := Retry(ctx, 3, func(ctx context.Context) (Instance, error) {
		return m.provider.Create(ctx, cfg, labels)
	})
	if err != nil {
		release()
		se := AsError(err)
		if se.Code == CodeInternal {
			se = Errorf(CodeCreationFailed, "the %s backend could not create the sandbox", m.provider.Name()).WithCause(err)
		}
		m.log.Error().Err(err).Str("owner", req.Owner).Msg("sandbox creation failed")
		return nil, se
	}

	if d != nil {
		// Replicas creating at once may have passed the check together.
		if err := m.overQuota(ctx, d, req.Owner, id); err != nil {
			release()
			_ = inst.Destroy(context.WithoutCancel(ctx))
			return nil, AsError(err)
		}
	}
	now := time.Now().UTC()
	s := &Sandbox{id: id, owner: req.Owner, session: session, cfg: cfg, created: now,
		inst: inst, m: m, input: make(chan struct{}, 1), expires: now.Add(cfg.Timeout)}

	m.mu.Lock()
	m.pending[req.Owner]--
	if m.pending[req.Owner] <= 0 {
		delete(m.pending, req.Owner)
	}
	if m.closed {
		m.mu.Unlock()
		_ = inst.Destroy(context.Background())
		return nil, Errorf(CodeBackendUnavailable, "the server is shutting down")
	}
	m.sandboxes[id] = s
	if d == nil { // shared: the backend's timer, which any replica moves
		s.timer = time.AfterFunc(cfg.Timeout, func() { m.expire(id) })
	}
	s.checked = now
	m.mu.Unlock()

	m.log.Info().Str("sandbox_id", id).Str("owner", req.Owner).Str("backend", m.provider.Name()).
		Dur("timeout", cfg.Timeout).Msg("sandbox created")
	return s, nil
}

func (m *Manager) expire(id string) {
	m.mu.Lock()
	s := m.sandboxes[id]
	m.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	due := !s.expires.After(time.Now())
	s.mu.Unlock()
	if !due { // extended meanwhile; the timer was reset
		return
	}
	m.log.Info().Str("sandbox_id", id).Msg("sandbox expired")
	_ = m.destroy(context.Background(), s)
}

// Get returns the sandbox if owner owns it. Any other case, including a
// sandbox of another user, is SANDBOX_NOT_FOUND.
func (m *Manager) Get(owner, id string) (*Sandbox, error) {
	m.mu.Lock()
	s := m.sandboxes[id]
	m.mu.Unlock()
	if s == nil || s.owner != owner || s.destroyed() {
		return nil, NotFound(id)
	}
	return s, nil
}

// GetAny returns a sandbox whoever owns it (for administrators).
func (m *Manager) GetAny(id string) (*Sandbox, error) {
	m.mu.Lock()
	s := m.sandboxes[id]
	m.mu.Unlock()
	if s == nil || s.destroyed() {
		return nil, NotFound(id)
	}
	return s, nil
}

// List returns owner's sandboxes, oldest first ("" = everyone's).
func (m *Manager) List(owner string) []Info {
	if d := m.directory(); d != nil {
		rs, err := m.sharedRecords(d, owner)
		if err == nil {
			out := make([]Info, 0, len(rs))
			for _, r := range rs {
				out = append(out, m.infoOf(r))
			}
			sortInfos(out)
			return out
		}
		m.log.Warn().Err(err).Msg("the directory could not be listed; listing this server's sandboxes")
	}
	m.mu.Lock()
	var ss []*Sandbox
	for _, s := range m.sandboxes {
		if owner == "" || s.owner == owner {
			ss = append(ss, s)
		}
	}
	m.mu.Unlock()
	out := make([]Info, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Info())
	}
	sortInfos(out)
	return out
}

// sortInfos orders sandboxes oldest first.
func sortInfos(out []Info) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].SandboxID < out[j].SandboxID
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
}

// SetTimeout moves the sandbox's expiry to now + d.
func (m *Manager) SetTimeout(ctx context.Context, s *Sandbox, d time.Duration) (time.Time, error) {
	if d < MinTimeout || d > m.settings.MaxTimeout {
		return time.Time{}, InvalidArgument("timeout_seconds", "timeout_seconds must be between %d and %d",
			int(MinTimeout.Seconds()), int(m.settings.MaxTimeout.Seconds()))
	}
	if err := s.inst.SetTimeout(ctx, d); err != nil {
		return time.Time{}, AsError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return time.Time{}, NotFound(s.id)
	}
	s.expires = time.Now().UTC().Add(d)
	if s.timer != nil {
		s.timer.Reset(d)
	}
	return s.expires, nil
}

// Destroy destroys the sandbox. Destroying twice is SANDBOX_NOT_FOUND.
func (m *Manager) Destroy(ctx context.Context, s *Sandbox) error {
	return m.destroy(ctx, s)
}

func (m *Manager) destroy(ctx context.Context, s *Sandbox) error {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return NotFound(s.id)
	}
	s.gone = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()

	// Destroy even when the caller's context is already cancelled: a
	// half-destroyed sandbox is a leak.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := s.inst.Destroy(dctx)

	m.mu.Lock()
	delete(m.sandboxes, s.id)
	m.mu.Unlock()
	if m.warm != nil {
		m.warm.Released()
	}
	if err != nil {
		m.log.Error().Err(err).Str("sandbox_id", s.id).Msg("sandbox destroy reported an error")
	} else {
		m.log.Info().Str("sandbox_id", s.id).Str("owner", s.owner).Msg("sandbox destroyed")
	}
	if m.OnDestroy != nil {
		m.OnDestroy(s.Info())
	}
	if err != nil {
		return AsError(err)
	}
	return nil
}

// destroyWhere destroys every sandbox matching keep, concurrently, and
// returns how many were destroyed.
func (m *Manager) destroyWhere(ctx context.Context, match func(*Sandbox) bool) int {
	m.mu.Lock()
	var ss []*Sandbox
	for _, s := range m.sandboxes {
		if match(s) {
			ss = append(ss, s)
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Count every sandbox this call took down; NOT_FOUND means a
			// concurrent caller got there first.
			if CodeOf(m.destroy(ctx, s)) != CodeNotFound {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// CleanupUser destroys all of owner's sandboxes.
func (m *Manager) CleanupUser(ctx context.Context, owner string) int {
	m.adoptAll(ctx, owner)
	return m.destroyWhere(ctx, func(s *Sandbox) bool { return s.owner == owner })
}

// CleanupSession destroys the sandboxes created in an MCP session.
func (m *Manager) CleanupSession(ctx context.Context, session string) int {
	if session == "" {
		return 0
	}
	return m.destroyWhere(ctx, func(s *Sandbox) bool { return s.session == session })
}

// CleanupAll destroys every sandbox.
func (m *Manager) CleanupAll(ctx context.Context) int {
	m.adoptAll(ctx, "")
	return m.destroyWhere(ctx, func(*Sandbox) bool { return true })
}

// Stats counts live sandboxes; owner "" means everyone.
func (m *Manager) Stats(owner string) Stats {
	st := Stats{SandboxesByUser: map[string]int{}, MaxConcurrent: m.settings.MaxConcurrentSandboxes, Backend: m.provider.Name()}
	var owners []string
	if d := m.directory(); d != nil {
		if rs, err := m.sharedRecords(d, owner); err == nil {
			for _, r := range rs {
				owners = append(owners, r.Owner)
			}
		} else {
			m.log.Warn().Err(err).Msg("the directory could not be listed; counting this server's sandboxes")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if owners == nil {
		for _, s := range m.sandboxes {
			if owner == "" || s.owner == owner {
				owners = append(owners, s.owner)
			}
		}
	}
	for _, o := range owners {
		st.TotalActiveSandboxes++
		st.SandboxesByUser[o]++
	}
	st.TotalUsers = len(st.SandboxesByUser)
	if m.warm != nil {
		ps := m.warm.Stats()
		st.WarmPool = &ps
	}
	return st
}

// Close destroys every sandbox and closes the backend. New creations are
// refused from the moment Close starts.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	if m.settings.Shared {
		// The sandboxes are the deployment's: other replicas serve them,
		// the backend's timer ends them.
		m.log.Info().Msg("manager closed; shared sandboxes left running")
		return m.provider.Close()
	}
	n := m.CleanupAll(context.Background())
	m.log.Info().Int("destroyed", n).Msg("manager closed")
	return m.provider.Close()
}

// Retry calls fn up to attempts times while it fails with
// BACKEND_UNAVAILABLE, sleeping with exponential back-off and full jitter,
// and never past ctx's deadline.
func Retry[T any](ctx context.Context, attempts int, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	var err error
	for i := 0; i < attempts; i++ {
		var v T
		v, err = fn(ctx)
		if err == nil {
			return v, nil
		}
		if CodeOf(err) != CodeBackendUnavailable || i == attempts-1 {
			break
		}
		backoff := time.Duration(float64(200*time.Millisecond) * math.Pow(2, float64(i)))
		sleep := time.Duration(mrand.Int64N(int64(backoff)) + 1)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < sleep {
			break
		}
		if err := Sleep(ctx, sleep); err != nil {
			return zero, err
		}
	}
	return zero, err
}
