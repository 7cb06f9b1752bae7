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
	l := newRateLimiter(RateLimit{PerSecond: 2, Burst: 3})
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
	assert.False(t, l.admit(w, httptest.NewRequest("POST", "/mcp", nil), "alice"))
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), "QUOTA_EXCEEDED")
	assert.True(t, l.admit(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/mcp", nil), "alice"), "ending a session is never limited")
}
