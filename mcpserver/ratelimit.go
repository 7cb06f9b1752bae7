package mcpserver

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is the per-principal request rate on the HTTP transports (a
// token bucket per principal) and the number of its requests served at once:
// one tenant flooding the server, or holding many 64 MiB bodies in memory at
// the same time, cannot starve the others. Over a limit a request is answered
// 429 with Retry-After and {"error_code":"QUOTA_EXCEEDED"} before its body is
// read. Ending a session (DELETE) is never limited.
type RateLimit struct {
	// PerSecond is the sustained rate per principal; 0 disables the limits.
	PerSecond float64
	// Burst is how many requests may arrive at once (default
	// max(10, 2*PerSecond)).
	Burst int
	// MaxInFlight bounds a principal's requests in progress (long tool
	// calls and open SSE streams included; default 32).
	MaxInFlight int
}

type rateLimiter struct {
	rate, burst float64
	maxInFlight int
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket // principal -> bucket; principals come from the tokens file
}

type bucket struct {
	tokens   float64
	last     time.Time
	inFlight int
}

// newRateLimiter returns nil when the limit is off.
func newRateLimiter(c RateLimit) *rateLimiter {
	if c.PerSecond <= 0 {
		return nil
	}
	burst := float64(c.Burst)
	if burst <= 0 {
		burst = math.Max(10, 2*c.PerSecond)
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 32
	}
	return &rateLimiter{rate: c.PerSecond, burst: burst, maxInFlight: c.MaxInFlight, now: time.Now, buckets: map[string]*bucket{}}
}

// take spends one token of principal's bucket and counts the request in
// flight; when it may not start it says how long to wait.
func (l *rateLimiter) take(principal string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[principal]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[principal] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.inFlight >= l.maxInFlight {
		return false, time.Second
	}
	if b.tokens >= 1 {
		b.tokens--
		b.inFlight++
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// done ends a request that take let in.
func (l *rateLimiter) done(principal string) {
	l.mu.Lock()
	if b := l.buckets[principal]; b != nil && b.inFlight > 0 {
		b.inFlight--
	}
	l.mu.Unlock()
}

// admit answers 429 and returns ok=false when principal is over a limit;
// otherwise the caller must call release when the request is over.
func (l *rateLimiter) admit(w http.ResponseWriter, r *http.Request, principal string) (release func(), ok bool) {
	if l == nil || r.Method == http.MethodDelete {
		return func() {}, true
	}
	ok, wait := l.take(principal)
	if ok {
		return func() { l.done(principal) }, true
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	httpError(w, http.StatusTooManyRequests, "QUOTA_EXCEEDED",
		"too many requests: at most "+strconv.FormatFloat(l.rate, 'g', -1, 64)+" per second and "+strconv.Itoa(l.maxInFlight)+
			" at once per principal; retry after "+strconv.Itoa(secs)+" s")
	return nil, false
}
