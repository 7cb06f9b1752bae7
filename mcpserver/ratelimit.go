package mcpserver

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is the per-principal request rate on the HTTP transports (a
// token bucket per principal): one tenant flooding the server cannot starve
// the others. Over the limit a request is answered 429 with Retry-After and
// {"error_code":"QUOTA_EXCEEDED"} before it is decoded. Ending a session
// (DELETE) is never limited.
type RateLimit struct {
	// PerSecond is the sustained rate per principal; 0 disables the limit.
	PerSecond float64
	// Burst is how many requests may arrive at once (default
	// max(10, 2*PerSecond)).
	Burst int
}

type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket // principal -> bucket; principals come from the tokens file
}

type bucket struct {
	tokens float64
	last   time.Time
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
	return &rateLimiter{rate: c.PerSecond, burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// take spends one token of principal's bucket; when there is none it says
// how long until there is.
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
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// admit answers 429 and returns false when principal is over its rate.
func (l *rateLimiter) admit(w http.ResponseWriter, r *http.Request, principal string) bool {
	if l == nil || r.Method == http.MethodDelete {
		return true
	}
	ok, wait := l.take(principal)
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
	httpError(w, http.StatusTooManyRequests, "QUOTA_EXCEEDED",
		"too many requests: the limit is "+strconv.FormatFloat(l.rate, 'g', -1, 64)+" per second per principal; retry after "+strconv.Itoa(max(1, secs))+" s")
	return false
}
