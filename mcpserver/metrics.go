package mcpserver

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vmservice/vmservice/sandbox"
)

// Metrics are the Prometheus metrics of one server (own registry, so tests
// and several servers in one process do not collide).
type Metrics struct {
	Registry *prometheus.Registry
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the metrics; active sandboxes and users are read from
// m at scrape time.
func NewMetrics(m *sandbox.Manager) *Metrics {
	reg := prometheus.NewRegistry()
	x := &Metrics{
		Registry: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vmservice_tool_calls_total",
			Help: "Tool calls by tool."}, []string{"tool"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vmservice_tool_errors_total",
			Help: "Tool calls that returned an error result, by tool and error code."}, []string{"tool", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vmservice_tool_duration_seconds",
			Help:    "Tool call latency by tool.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"tool"}),
	}
	reg.MustRegister(x.calls, x.errors, x.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_active_sandboxes", Help: "Live sandboxes."},
				func() float64 { return float64(m.Stats("").TotalActiveSandboxes) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_active_users", Help: "Users with at least one live sandbox."},
				func() float64 { return float64(m.Stats("").TotalUsers) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_max_concurrent_sandboxes", Help: "Configured sandbox limit."},
				func() float64 { return float64(m.Settings().MaxConcurrentSandboxes) }),
		)
		if m.Stats("").WarmPool != nil {
			pool := func(f func(sandbox.PoolStats) int) func() float64 {
				return func() float64 {
					if ps := m.Stats("").WarmPool; ps != nil {
						return float64(f(*ps))
					}
					return 0
				}
			}
			reg.MustRegister(
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_warm_pool_size", Help: "Desktops the warm pool aims to keep booted (--warm-pool)."},
					pool(func(s sandbox.PoolStats) int { return s.Size })),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_warm_pool_ready", Help: "Booted, unowned desktops ready for create_sandbox."},
					pool(func(s sandbox.PoolStats) int { return s.Warm })),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_warm_pool_booting", Help: "Warm-pool desktops booting."},
					pool(func(s sandbox.PoolStats) int { return s.Booting })),
				prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vmservice_warm_pool_hits_total", Help: "Creates served from the warm pool."},
					pool(func(s sandbox.PoolStats) int { return s.Hits })),
				prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vmservice_warm_pool_misses_total", Help: "Creates booted cold while a warm pool exists."},
					pool(func(s sandbox.PoolStats) int { return s.Misses })),
				prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vmservice_warm_pool_discarded_total", Help: "Warm desktops destroyed unused (dead, not adoptable, evicted for room, shutdown)."},
					pool(func(s sandbox.PoolStats) int { return s.Discarded })),
			)
		}
	}
	return x
}

func (x *Metrics) observe(tool, errCode string, d time.Duration) {
	x.calls.WithLabelValues(tool).Inc()
	if errCode != "" {
		x.errors.WithLabelValues(tool, errCode).Inc()
	}
	x.latency.WithLabelValues(tool).Observe(d.Seconds())
}

// Handler serves /metrics.
func (x *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(x.Registry, promhttp.HandlerOpts{Registry: x.Registry})
}
