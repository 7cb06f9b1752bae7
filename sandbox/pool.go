package sandbox

import (
	"context"
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

// PoolOptions configure a warm pool.
type PoolOptions struct {
	// Size is how many booted, unowned desktops to keep ready.
	Size int
	// Template and Resolution a request must match to be served warm.
	Template   string
	Resolution Resolution
	// Base is the config warm instances are booted with (the most
	// permissive limits a hand-out may tighten: Adopt applies the real ones).
	Base Config
	Log  zerolog.Logger
}

// Pool is a Provider that keeps Size desktops booted and hands one out when
// a request fits, refilling in the background. A pooled instance is handed
// out at most once: it never carries an earlier owner's state (its owner's
// Destroy ends it like any other sandbox).
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
	warm    []Instance
	booting int
	closed  bool
	budget  func() int
	wake    chan struct{}
	wg      sync.WaitGroup

	hits, misses, discarded int
}

// NewPool wraps inner with a warm pool and starts filling it.
func NewPool(inner Provider, opts PoolOptions) *Pool {
	if opts.Resolution.IsZero() {
		opts.Resolution = DefaultResolution
	}
	if opts.Template == "" {
		opts.Template = DefaultTemplate
	}
	opts.Base.Template, opts.Base.Resolution = opts.Template, opts.Resolution
	p := &Pool{inner: inner, opts: opts, wake: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.refill()
	p.kick()
	return p
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

// Name is the inner backend's name.
func (p *Pool) Name() string { return p.inner.Name() }

// PoolStats describe the pool for get_stats and /metrics.
type PoolStats struct {
	Size       int    `json:"size"`
	Template   string `json:"template"`
	Resolution string `json:"resolution"`
	Warm       int    `json:"warm"`
	Booting    int    `json:"booting"`
	// Hits and Misses count creates served warm and cold; Discarded warm
	// desktops that were destroyed unused (not adoptable, dead, evicted to
	// stay within the machine budget).
	Hits      int `json:"hits"`
	Misses    int `json:"misses"`
	Discarded int `json:"discarded"`
}

// Stats reports the pool's state.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Size: p.opts.Size, Template: p.opts.Template, Resolution: p.opts.Resolution.String(),
		Warm: len(p.warm), Booting: p.booting, Hits: p.hits, Misses: p.misses, Discarded: p.discarded}
}

func (p *Pool) fits(cfg Config) bool {
	return cfg.Template == p.opts.Template && cfg.Resolution == p.opts.Resolution
}

// target is how many desktops the pool may hold (warm + booting) now. It
// calls the budget function, so never with p.mu held.
func (p *Pool) target() int {
	p.mu.Lock()
	f := p.budget
	p.mu.Unlock()
	n := p.opts.Size
	if f != nil {
		n = min(n, max(f(), 0))
	}
	return n
}

// Create hands out a warm instance when cfg fits, else boots one cold.
func (p *Pool) Create(ctx context.Context, cfg Config, labels map[string]string) (Instance, error) {
	if p.fits(cfg) {
		for {
			inst := p.take()
			if inst == nil {
				break
			}
			err := inst.Alive(ctx)
			if err == nil {
				err = inst.(Adopter).Adopt(ctx, cfg, labels)
			}
			if err == nil {
				p.count(&p.hits)
				return inst, nil
			}
			// A warm instance that is dead or cannot be adopted is
			// discarded, never reused.
			p.opts.Log.Warn().Err(err).Msg("warm sandbox could not be handed out; discarding it")
			p.count(&p.discarded)
			_ = inst.Destroy(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				return nil, AsError(ctx.Err())
			}
		}
	}
	p.count(&p.misses)
	p.trim()
	return p.inner.Create(ctx, cfg, labels)
}

func (p *Pool) count(c *int) {
	p.mu.Lock()
	*c++
	p.mu.Unlock()
}

func (p *Pool) take() Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.warm) == 0 {
		return nil
	}
	inst := p.warm[0]
	p.warm = p.warm[1:]
	p.kick()
	return inst
}

// trim destroys warm desktops beyond the budget (a cold create is about to
// take the room they hold), in the background.
func (p *Pool) trim() {
	t := p.target()
	p.mu.Lock()
	var extra []Instance
	for len(p.warm) > 0 && len(p.warm)+p.booting > t {
		extra = append(extra, p.warm[len(p.warm)-1])
		p.warm = p.warm[:len(p.warm)-1]
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
			t := p.target()
			p.mu.Lock()
			need := !p.closed && len(p.warm)+p.booting < t
			if need {
				p.booting++
			}
			p.mu.Unlock()
			if !need {
				break
			}
			ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
			inst, err := p.inner.Create(ctx, p.opts.Base, map[string]string{"vmservice.pool": "warm"})
			cancel()
			_, adoptable := inst.(Adopter)
			p.mu.Lock()
			p.booting--
			keep := err == nil && adoptable && !p.closed
			if keep {
				p.warm = append(p.warm, inst)
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
				p.opts.Log.Error().Err(err).Msg("warm pool could not boot a sandbox")
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
	warm := p.warm
	p.warm = nil
	p.discarded += len(warm)
	p.mu.Unlock()
	p.cancel()
	for _, inst := range warm {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); _ = inst.Destroy(context.Background()) }()
	}
	p.wg.Wait()
	return p.inner.Close()
}
