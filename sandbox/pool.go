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
// out at most once: it never carries an earlier owner's state.
type Pool struct {
	inner Provider
	opts  PoolOptions

	mu      sync.Mutex
	warm    []Instance
	booting int
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	hits, misses int
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
	p := &Pool{inner: inner, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.wg.Add(1)
	go p.refill()
	p.kick()
	return p
}

// Name is the inner backend's name.
func (p *Pool) Name() string { return p.inner.Name() }

// PoolStats describe the pool for get_stats and /metrics.
type PoolStats struct {
	Size    int `json:"size"`
	Warm    int `json:"warm"`
	Booting int `json:"booting"`
	Hits    int `json:"hits"`
	Misses  int `json:"misses"`
}

// Stats reports the pool's state.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Size: p.opts.Size, Warm: len(p.warm), Booting: p.booting, Hits: p.hits, Misses: p.misses}
}

func (p *Pool) fits(cfg Config) bool {
	return cfg.Template == p.opts.Template && cfg.Resolution == p.opts.Resolution
}

// Create hands out a warm instance when cfg fits, else boots one cold.
func (p *Pool) Create(ctx context.Context, cfg Config, labels map[string]string) (Instance, error) {
	if p.fits(cfg) {
		for {
			inst := p.take()
			if inst == nil {
				break
			}
			err := inst.(Adopter).Adopt(ctx, cfg, labels)
			if err == nil {
				p.count(true)
				return inst, nil
			}
			// A warm instance that cannot be adopted is discarded, never reused.
			p.opts.Log.Warn().Err(err).Msg("warm sandbox could not be adopted; discarding it")
			_ = inst.Destroy(context.WithoutCancel(ctx))
		}
	}
	p.count(false)
	return p.inner.Create(ctx, cfg, labels)
}

func (p *Pool) count(hit bool) {
	p.mu.Lock()
	if hit {
		p.hits++
	} else {
		p.misses++
	}
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

func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// refill boots instances one at a time until the pool is full; one at a
// time keeps the pool from starving live sandboxes of CPU.
func (p *Pool) refill() {
	defer p.wg.Done()
	failures := 0
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			need := !p.closed && len(p.warm)+p.booting < p.opts.Size
			if need {
				p.booting++
			}
			p.mu.Unlock()
			if !need {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			inst, err := p.inner.Create(ctx, p.opts.Base, map[string]string{"vmservice.pool": "warm"})
			cancel()
			p.mu.Lock()
			p.booting--
			closed := p.closed
			if err == nil && !closed {
				if _, ok := inst.(Adopter); ok {
					p.warm = append(p.warm, inst)
					inst = nil
				}
			}
			p.mu.Unlock()
			if inst != nil { // closed meanwhile, or not adoptable
				_ = inst.Destroy(context.Background())
				if !closed && err == nil {
					p.opts.Log.Warn().Str("backend", p.inner.Name()).Msg("backend cannot adopt instances; warm pool disabled")
					return
				}
			}
			if err != nil {
				failures++
				p.opts.Log.Error().Err(err).Msg("warm pool could not boot a sandbox")
				backoff := time.Duration(min(failures, 6)) * time.Second
				select {
				case <-p.done:
					return
				case <-time.After(backoff):
				}
				continue
			}
			failures = 0
		}
	}
}

// Close stops refilling, destroys every warm instance, then closes inner.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	warm := p.warm
	p.warm = nil
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	var wg sync.WaitGroup
	for _, inst := range warm {
		wg.Add(1)
		go func() { defer wg.Done(); _ = inst.Destroy(context.Background()) }()
	}
	wg.Wait()
	return p.inner.Close()
}
