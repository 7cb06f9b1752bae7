package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Adopter is implemented by instances that can be booted ahead of time and
// configured for their owner at hand-out (limits, environment, network,
// labels). Backends without it are never pooled.
type Adopter interface {
	Adopt(ctx context.Context, cfg Config, labels map[string]string) error
}

// PoolClass is one kind of warm desktop: requests with this template and
// resolution are served from it.
type PoolClass struct {
	Template   string
	Resolution Resolution
	Size       int
}

// PoolOptions configure a warm pool.
type PoolOptions struct {
	// Size is how many booted, unowned desktops of Template at Resolution
	// (defaults: DefaultTemplate, DefaultResolution) to keep ready.
	Size       int
	Template   string
	Resolution Resolution
	// Classes are further kinds of desktops to keep ready (per template /
	// resolution; see ParsePoolClasses).
	Classes []PoolClass
	// Base is the config warm instances are booted with (the most
	// permissive limits a hand-out may tighten: Adopt applies the real
	// ones); each class sets its template and resolution.
	Base Config
	Log  zerolog.Logger
}

// Pool is a Provider that keeps desktops booted and hands one out when a
// request fits (same template and resolution), refilling in the
// background. A pooled instance is handed out at most once: it never
// carries an earlier owner's state (its owner's Destroy ends it like any
// other sandbox).
//
// Machine budget: warm desktops count toward max_concurrent_sandboxes. A
// Manager over the pool tells it how many desktops may still exist besides
// the live and pending sandboxes (SetBudget); the pool keeps at most that
// many warm (booting ones included), and a cold create that finds the
// machine full first destroys a warm desktop to make room. So live + warm
// never exceeds the limit for long, and the pool never makes a create fail
// with QUOTA_EXCEEDED: it only fills headroom.
type Pool struct {
	inner Provider
	opts  PoolOptions

	ctx    context.Context // cancelled by Close: stops a boot in flight
	cancel context.CancelFunc

	mu      sync.Mutex
	classes []*poolClass
	closed  bool
	budget  func() int
	wake    chan struct{}
	wg      sync.WaitGroup

	misses, discarded int
}

type poolClass struct {
	PoolClass
	warm    []Instance
	booting int
	hits    int
}

// NewPool wraps inner with a warm pool and starts filling it.
func NewPool(inner Provider, opts PoolOptions) *Pool {
	p := &Pool{inner: inner, opts: opts, wake: make(chan struct{}, 1)}
	add := func(c PoolClass) {
		if c.Resolution.IsZero() {
			c.Resolution = DefaultResolution
		}
		if c.Template == "" {
			c.Template = DefaultTemplate
		}
		if c.Size <= 0 {
			return
		}
		for _, have := range p.classes {
			if have.Template == c.Template && have.Resolution == c.Resolution {
				have.Size += c.Size
				return
			}
		}
		p.classes = append(p.classes, &poolClass{PoolClass: c})
	}
	add(PoolClass{Template: opts.Template, Resolution: opts.Resolution, Size: opts.Size})
	for _, c := range opts.Classes {
		add(c)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.refill()
	p.kick()
	return p
}

// ParsePoolClasses parses a warm-pool specification: comma-separated
// items, each "N" (N desktops of defaultTemplate at the default
// resolution), "WxH=N" or "TEMPLATE@WxH=N".
func ParsePoolClasses(spec, defaultTemplate string) ([]PoolClass, error) {
	var out []PoolClass
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c := PoolClass{Template: defaultTemplate, Resolution: DefaultResolution}
		what, n, found := strings.Cut(item, "=")
		if !found {
			what, n = "", item
		}
		size, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || size < 0 || size > 64 {
			return nil, InvalidArgument("warm_pool", "warm pool item %q: the count must be 0 to 64", item)
		}
		c.Size = size
		if what != "" {
			if t, res, ok := strings.Cut(what, "@"); ok {
				c.Template, what = strings.TrimSpace(t), res
			}
			r, err := ParseResolution("warm_pool", what)
			if err != nil {
				return nil, InvalidArgument("warm_pool", "warm pool item %q: want N, WxH=N or TEMPLATE@WxH=N", item)
			}
			c.Resolution = r
		}
		if err := (Config{Template: c.Template, Resolution: c.Resolution, CPUCount: MinCPU, MemoryMB: MinMemoryMB,
			Timeout: MinTimeout, WorkingDirectory: DefaultWorkdir}).Validate(); err != nil {
			return nil, InvalidArgument("warm_pool", "warm pool item %q: %s", item, AsError(err).Message)
		}
		out = append(out, c)
	}
	return out, nil
}

// SetBudget makes warm desktops count against a machine-wide limit: f
// returns how many desktops may exist besides the live ones (the Manager
// passes max_concurrent_sandboxes minus live and pending sandboxes). It
// must not call into the pool.
func (p *Pool) SetBudget(f func() int) {
	p.mu.Lock()
	p.budget = f
	p.mu.Unlock()
	p.kick()
}

// Released tells the pool a sandbox is gone: room for a warm desktop.
func (p *Pool) Released() { p.kick() }

// Name is the inner backend's name.
func (p *Pool) Name() string { return p.inner.Name() }

// PoolStats describe the pool for get_stats and /metrics: totals, and per
// class.
type PoolStats struct {
	Size    int `json:"size"`
	Warm    int `json:"warm"`
	Booting int `json:"booting"`
	// Hits and Misses count creates served warm and cold; Discarded warm
	// desktops that were destroyed unused (not adoptable, dead, evicted to
	// stay within the machine budget, shutdown).
	Hits      int              `json:"hits"`
	Misses    int              `json:"misses"`
	Discarded int              `json:"discarded"`
	Classes   []PoolClassStats `json:"classes"`
}

// PoolClassStats is one class of a pool.
type PoolClassStats struct {
	Template   string `json:"template"`
	Resolution string `json:"resolution"`
	Size       int    `json:"size"`
	Warm       int    `json:"warm"`
	Booting    int    `json:"booting"`
	Hits       int    `json:"hits"`
}

// Stats reports the pool's state.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PoolStats{Misses: p.misses, Discarded: p.discarded, Classes: []PoolClassStats{}}
	for _, c := range p.classes {
		st.Size += c.Size
		st.Warm += len(c.warm)
		st.Booting += c.booting
		st.Hits += c.hits
		st.Classes = append(st.Classes, PoolClassStats{Template: c.Template, Resolution: c.Resolution.String(),
			Size: c.Size, Warm: len(c.warm), Booting: c.booting, Hits: c.hits})
	}
	return st
}

// classFor is the class serving cfg, or nil.
func (p *Pool) classFor(cfg Config) *poolClass {
	for _, c := range p.classes {
		if cfg.Template == c.Template && cfg.Resolution == c.Resolution {
			return c
		}
	}
	return nil
}

// target is how many desktops the pool may hold (warm + booting) now. It
// calls the budget function, so never with p.mu held.
func (p *Pool) target() int {
	p.mu.Lock()
	f := p.budget
	n := 0
	for _, c := range p.classes {
		n += c.Size
	}
	p.mu.Unlock()
	if f != nil {
		n = min(n, max(f(), 0))
	}
	return n
}

// heldLocked is every warm and booting desktop.
func (p *Pool) heldLocked() int {
	n := 0
	for _, c := range p.classes {
		n += len(c.warm) + c.booting
	}
	return n
}

// Create hands out a warm instance when cfg fits, else boots one cold.
func (p *Pool) Create(ctx context.Context, cfg Config, labels map[string]string) (Instance, error) {
	if c := p.classFor(cfg); c != nil {
		for {
			inst := p.take(c)
			if inst == nil {
				break
			}
			err := inst.Alive(ctx)
			if err == nil {
				err = inst.(Adopter).Adopt(ctx, cfg, labels)
			}
			if err == nil {
				p.mu.Lock()
				c.hits++
				p.mu.Unlock()
				return inst, nil
			}
			// A warm instance that is dead or cannot be adopted is
			// discarded, never reused.
			p.opts.Log.Warn().Err(err).Msg("warm sandbox could not be handed out; discarding it")
			p.mu.Lock()
			p.discarded++
			p.mu.Unlock()
			_ = inst.Destroy(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				return nil, AsError(ctx.Err())
			}
		}
	}
	p.mu.Lock()
	p.misses++
	p.mu.Unlock()
	p.trim()
	return p.inner.Create(ctx, cfg, labels)
}

func (p *Pool) take(c *poolClass) Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(c.warm) == 0 {
		return nil
	}
	inst := c.warm[0]
	c.warm = c.warm[1:]
	p.kick()
	return inst
}

// trim destroys warm desktops beyond the budget (a cold create is about to
// take the room they hold), in the background, from the fullest class.
func (p *Pool) trim() {
	t := p.target()
	p.mu.Lock()
	var extra []Instance
	for p.heldLocked() > t {
		var from *poolClass
		for _, c := range p.classes {
			if len(c.warm) > 0 && (from == nil || len(c.warm) > len(from.warm)) {
				from = c
			}
		}
		if from == nil {
			break // only booting ones: refill trims them when they are up
		}
		extra = append(extra, from.warm[len(from.warm)-1])
		from.warm = from.warm[:len(from.warm)-1]
		p.discarded++
	}
	p.wg.Add(len(extra)) // under mu: Close's Wait sees it
	p.mu.Unlock()
	for _, inst := range extra {
		go func() { defer p.wg.Done(); _ = inst.Destroy(context.Background()) }()
	}
}

// kick asks the refill loop to look again (after a take, or when the
// Manager freed room).
func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next picks the class to boot for (the largest shortfall) and counts the
// boot, or returns nil when the pool is full or over budget.
func (p *Pool) next() *poolClass {
	t := p.target()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.heldLocked() >= t {
		return nil
	}
	var best *poolClass
	for _, c := range p.classes {
		short := c.Size - len(c.warm) - c.booting
		if short > 0 && (best == nil || short > best.Size-len(best.warm)-best.booting) {
			best = c
		}
	}
	if best != nil {
		best.booting++
	}
	return best
}

// refill boots instances one at a time until the pool is full; one at a
// time keeps the pool from starving live sandboxes of CPU. It also looks
// every few seconds, in case room was freed without a kick.
func (p *Pool) refill() {
	defer p.wg.Done()
	failures := 0
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-tick.C:
		}
		for p.ctx.Err() == nil {
			c := p.next()
			if c == nil {
				break
			}
			base := p.opts.Base
			base.Template, base.Resolution = c.Template, c.Resolution
			ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
			inst, err := p.inner.Create(ctx, base, map[string]string{"vmservice.pool": "warm"})
			cancel()
			_, adoptable := inst.(Adopter)
			p.mu.Lock()
			c.booting--
			keep := err == nil && adoptable && !p.closed
			if keep {
				c.warm = append(c.warm, inst)
			}
			p.mu.Unlock()
			if err == nil && !keep {
				_ = inst.Destroy(context.Background())
				if !adoptable {
					p.opts.Log.Warn().Str("backend", p.inner.Name()).Msg("backend cannot adopt instances; warm pool disabled")
					return
				}
				continue // closed: the loop ends
			}
			if err != nil {
				if p.ctx.Err() != nil {
					return
				}
				failures++
				p.opts.Log.Error().Err(err).Str("template", c.Template).Str("resolution", c.Resolution.String()).
					Msg("warm pool could not boot a sandbox")
				backoff := time.Duration(min(failures, 6)) * time.Second
				select {
				case <-p.ctx.Done():
					return
				case <-time.After(backoff):
				}
				continue
			}
			failures = 0
			// The budget may have shrunk while booting (a cold create).
			p.trim()
		}
	}
}

// Close stops refilling (cancelling a boot in flight), destroys every warm
// instance, then closes inner. Afterwards the pool holds nothing.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var warm []Instance
	for _, c := range p.classes {
		warm = append(warm, c.warm...)
		c.warm = nil
	}
	p.discarded += len(warm)
	p.wg.Add(len(warm))
	p.mu.Unlock()
	p.cancel()
	for _, inst := range warm {
		go func() { defer p.wg.Done(); _ = inst.Destroy(context.Background()) }()
	}
	p.wg.Wait()
	return p.inner.Close()
}

// String describes the pool's classes ("2 x desktop@1024x768, ...").
func (p *Pool) String() string {
	var parts []string
	for _, c := range p.Stats().Classes {
		parts = append(parts, fmt.Sprintf("%d x %s@%s", c.Size, c.Template, c.Resolution))
	}
	return strings.Join(parts, ", ")
}
