package mcpserver

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateLimiterBuckets(t *testing.T) {
	assert.Nil(t, newRateLimiter(RateLimit{}))
	now := time.Unix(1000, 0)
	l := newRateLimiter(RateLimit{PerSecond: 2, Burst: 3, MaxInFlight: 100})
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		ok, _ := l.take("alice")
		assert.True(t, ok, "burst %d", i)
	}
	ok, wait := l.take("alice")
	assert.False(t, ok)
	assert.InDelta(t, 500*time.Millisecond, wait, float64(time.Millisecond))
	ok, _ = l.take("bob") // buckets are per principal
	assert.True(t, ok)
	now = now.Add(500 * time.Millisecond)
	ok, _ = l.take("alice")
	assert.True(t, ok, "refilled at the rate")
	now = now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		ok, _ := l.take("alice")
		assert.True(t, ok)
	}
	ok, _ = l.take("alice")
	assert.False(t, ok, "never more than the burst")

	w := httptest.NewRecorder()
	_, ok = l.admit(w, httptest.NewRequest("POST", "/mcp", nil), "alice")
	assert.False(t, ok)
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), "QUOTA_EXCEEDED")
	_, ok = l.admit(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/mcp", nil), "alice")
	assert.True(t, ok, "ending a session is never limited")
}

func TestRateLimiterInFlight(t *testing.T) {
	l := newRateLimiter(RateLimit{PerSecond: 1000, Burst: 1000, MaxInFlight: 2})
	r1, ok1 := l.admit(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil), "alice")
	_, ok2 := l.admit(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil), "alice")
	w := httptest.NewRecorder()
	_, ok3 := l.admit(w, httptest.NewRequest("POST", "/mcp", nil), "alice")
	assert.True(t, ok1 && ok2)
	assert.False(t, ok3, "a third request at once is refused")
	assert.Equal(t, 429, w.Code)
	_, okBob := l.admit(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil), "bob")
	assert.True(t, okBob)
	r1()
	_, ok4 := l.admit(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil), "alice")
	assert.True(t, ok4, "a finished request frees its place")
}
