package sandbox

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// Shared mode: several servers (replicas behind a load balancer) share one
// backend account and serve any sandbox of a principal, whichever replica
// a request reaches. Nothing a replica alone knows decides anything: who
// owns a sandbox, which sandboxes exist and how many a principal has come
// from the backend's own records (e2b: the labels in E2B's metadata), and
// a sandbox's lifetime is the backend's timer. A replica keeps handles to
// the sandboxes it has served as a cache, checked again against the
// directory at most every sharedRecheck.

// Labels the Manager gives every sandbox (the backend stores them where it
// can: E2B metadata).
const (
	LabelSandboxID = "vmservice.sandbox_id"
	LabelOwner     = "vmservice.owner"
	LabelSession   = "vmservice.session"
	// LabelConfig is the sandbox's configuration (JSON, without its
	// environment), so any replica can describe it.
	LabelConfig = "vmservice.config"
)

// sharedRecheck is how long a replica trusts a cached handle before asking
// the directory again whether the sandbox still exists (another replica
// may have destroyed it; a call to it fails with SANDBOX_NOT_FOUND at once
// anyway).
const sharedRecheck = time.Second

// Directory is a Provider whose sandboxes any server sharing its account
// can find: what shared mode needs.
type Directory interface {
	// Records lists the live sandboxes of owner ("" = everyone's) that
	// this deployment made, from the backend's records.
	Records(ctx context.Context, owner string) ([]Record, error)
	// Find reconnects to the live sandbox the Manager labelled id; nil and
	// no error when there is none.
	Find(ctx context.Context, id string) (*Found, error)
}

// Record is a sandbox as the directory knows it.
type Record struct {
	ID, Owner, Session string
	Config             Config
	CreatedAt          time.Time
	ExpiresAt          time.Time
}

// Found is a sandbox found in the directory, with an instance to drive it.
type Found struct {
	Record
	Instance Instance
}

// RecordOf reads the Manager's labels back (ok is false for a sandbox the
// Manager did not label).
func RecordOf(labels map[string]string, created, expires time.Time) (Record, bool) {
	r := Record{ID: labels[LabelSandboxID], Owner: labels[LabelOwner], Session: labels[LabelSession],
		CreatedAt: created, ExpiresAt: expires}
	if r.ID == "" || r.Owner == "" {
		return r, false
	}
	_ = json.Unmarshal([]byte(labels[LabelConfig]), &r.Config)
	return r, true
}

// configLabel is cfg for LabelConfig: no environment (it may hold
// secrets; the sandbox has it already).
func configLabel(cfg Config) string {
	cfg.Environment = nil
	b, _ := json.Marshal(cfg)
	return string(b)
}

func (m *Manager) directory() Directory {
	if !m.settings.Shared {
		return nil
	}
	d, _ := m.provider.(Directory)
	return d
}

// sharedQuota checks the quotas against the deployment's sandboxes (the
// directory) plus this replica's other creations in flight (not listed
// yet); the caller's own creation is counted in m.pending already.
func (m *Manager) sharedQuota(ctx context.Context, d Directory, owner string) error {
	rs, err := d.Records(ctx, "")
	if err != nil {
		return err
	}
	m.mu.Lock()
	total, mine := 0, m.pending[owner]-1
	for _, n := range m.pending {
		total += n
	}
	m.mu.Unlock()
	total--
	for _, r := range rs {
		total++
		if r.Owner == owner {
			mine++
		}
	}
	if total >= m.settings.MaxConcurrentSandboxes {
		return QuotaExceeded("max_concurrent_sandboxes", total, m.settings.MaxConcurrentSandboxes)
	}
	if mine >= m.settings.MaxSandboxesPerUser {
		return QuotaExceeded("max_sandboxes_per_user", mine, m.settings.MaxSandboxesPerUser)
	}
	return nil
}

// overQuota settles a race between replicas that created at once: with id
// made, the deployment's sandboxes are ordered by creation; if id is past a
// limit, it must go.
func (m *Manager) overQuota(ctx context.Context, d Directory, owner, id string) error {
	rs, err := d.Records(ctx, "")
	if err != nil {
		return err
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].CreatedAt.Equal(rs[j].CreatedAt) {
			return rs[i].ID < rs[j].ID
		}
		return rs[i].CreatedAt.Before(rs[j].CreatedAt)
	})
	total, mine := 0, 0
	for _, r := range rs {
		total++
		if r.Owner == owner {
			mine++
		}
		if r.ID != id {
			continue
		}
		if total > m.settings.MaxConcurrentSandboxes {
			return QuotaExceeded("max_concurrent_sandboxes", total-1, m.settings.MaxConcurrentSandboxes)
		}
		if mine > m.settings.MaxSandboxesPerUser {
			return QuotaExceeded("max_sandboxes_per_user", mine-1, m.settings.MaxSandboxesPerUser)
		}
		return nil
	}
	return nil
}

// Lookup returns owner's sandbox id, like Get; in shared mode one this
// replica has not served yet is found in the directory, and a cached one
// is checked again when its last check is older than sharedRecheck.
func (m *Manager) Lookup(ctx context.Context, owner, id string) (*Sandbox, error) {
	s, err := m.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.owner != owner {
		return nil, NotFound(id)
	}
	return s, nil
}

// LookupAny is Lookup whoever owns the sandbox (for administrators).
func (m *Manager) LookupAny(ctx context.Context, id string) (*Sandbox, error) {
	return m.lookup(ctx, id)
}

func (m *Manager) lookup(ctx context.Context, id string) (*Sandbox, error) {
	m.mu.Lock()
	s := m.sandboxes[id]
	m.mu.Unlock()
	d := m.directory()
	if d == nil || (s != nil && !s.destroyed() && time.Since(s.lastCheck()) < sharedRecheck) {
		if s == nil || s.destroyed() {
			return nil, NotFound(id)
		}
		return s, nil
	}
	f, err := d.Find(ctx, id)
	if err != nil {
		return nil, AsError(err)
	}
	if f == nil {
		if s != nil { // destroyed through another replica, or expired
			m.forget(s)
		}
		return nil, NotFound(id)
	}
	now := time.Now()
	if s != nil && !s.destroyed() && s.inst == f.Instance {
		s.mu.Lock()
		s.expires, s.checked = f.ExpiresAt, now
		s.mu.Unlock()
		return s, nil
	}
	n := &Sandbox{id: f.ID, owner: f.Owner, session: f.Session, cfg: f.Config, created: f.CreatedAt,
		inst: f.Instance, m: m, input: make(chan struct{}, 1), expires: f.ExpiresAt, checked: now}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.sandboxes[id]; cur != nil && !cur.destroyed() && cur.inst == f.Instance {
		return cur, nil // a concurrent lookup adopted it first
	}
	m.sandboxes[id] = n
	m.log.Info().Str("sandbox_id", id).Str("owner", f.Owner).Msg("sandbox adopted from the directory")
	return n, nil
}

// forget drops a cached sandbox that no longer exists.
func (m *Manager) forget(s *Sandbox) {
	s.mu.Lock()
	s.gone = true
	s.mu.Unlock()
	m.mu.Lock()
	if m.sandboxes[s.id] == s {
		delete(m.sandboxes, s.id)
	}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.inst.Destroy(ctx) // releases this replica's hold (the sandbox is gone already)
}

// sharedRecords is the directory's list, bounded in time (List and Stats
// have no context of their own).
func (m *Manager) sharedRecords(d Directory, owner string) ([]Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Records(ctx, owner)
}

// infoOf describes a sandbox known from the directory: this replica's
// handle when it has one (its details), the record otherwise.
func (m *Manager) infoOf(r Record) Info {
	m.mu.Lock()
	s := m.sandboxes[r.ID]
	m.mu.Unlock()
	if s != nil && !s.destroyed() {
		i := s.Info()
		i.ExpiresAt = r.ExpiresAt
		return i
	}
	c := r.Config
	return Info{SandboxID: r.ID, SessionID: r.Session, UserID: r.Owner, Template: c.Template, State: StateRunning,
		Backend: m.provider.Name(), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, CPUCount: c.CPUCount,
		MemoryMB: c.MemoryMB, Resolution: c.Resolution.String(), AllowInternetAccess: c.AllowInternetAccess,
		WorkingDirectory: c.WorkingDirectory}
}

// adoptAll brings owner's sandboxes ("" = all) known to the directory into
// this replica's hands, so a clean-up reaches the ones other replicas made.
func (m *Manager) adoptAll(ctx context.Context, owner string) {
	d := m.directory()
	if d == nil {
		return
	}
	rs, err := d.Records(ctx, owner)
	if err != nil {
		m.log.Warn().Err(err).Msg("the directory could not be listed; cleaning up this server's sandboxes")
		return
	}
	for _, r := range rs {
		_, _ = m.lookup(ctx, r.ID)
	}
}
