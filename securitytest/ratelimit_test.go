package securitytest

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/mcpserver"
)

// TestRateLimitPerPrincipal: a principal flooding the HTTP transport gets
// 429 + Retry-After while another principal's requests go through.
func TestRateLimitPerPrincipal(t *testing.T) {
	e, err := newEnv(func(c *mcpserver.Config) { c.RateLimit = mcpserver.RateLimit{PerSecond: 2, Burst: 5} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })

	var limited, passed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := modern(t, e.URL, aliceToken, "tools/list", i, nil)
			switch status {
			case 429:
				limited.Add(1)
				assert.Contains(t, body, "QUOTA_EXCEEDED")
			case 200:
				passed.Add(1)
			default:
				t.Errorf("status %d: %s", status, body)
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, passed.Load(), int64(8), "about the burst gets through")
	assert.GreaterOrEqual(t, limited.Load(), int64(30))
	status, body := modern(t, e.URL, aliceToken, "tools/list", 99, nil)
	if status == 429 {
		assert.Contains(t, body, "retry after")
	}
	// Bob is not affected by alice's flood.
	for i := 0; i < 4; i++ {
		status, body := modern(t, e.URL, bobToken, "tools/list", "b"+strconv.Itoa(i), nil)
		assert.Equal(t, 200, status, body)
	}
}

// TestInFlightPerPrincipal: a principal holding its allowance of requests
// open (here: SSE streams) gets 429 for more; others are not affected.
func TestInFlightPerPrincipal(t *testing.T) {
	e, err := newEnv(func(c *mcpserver.Config) { c.RateLimit = mcpserver.RateLimit{PerSecond: 100, MaxInFlight: 2} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("GET", e.URL+"/sse", nil)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		require.Equal(t, 200, resp.StatusCode)
	}
	status, body := modern(t, e.URL, aliceToken, "tools/list", 1, nil)
	assert.Equal(t, 429, status, body)
	assert.Contains(t, body, "at once")
	status, body = modern(t, e.URL, bobToken, "tools/list", 2, nil)
	assert.Equal(t, 200, status, body)
}
