package securitytest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/stream"
)

// TestStreamAccess: a live stream opens only with its key (unless started
// with require_auth false), the websocket too, and nothing of it survives
// stop_stream or the sandbox.
func TestStreamAccess(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(nil)
	st := alice.OK("start_stream", map[string]any{"sandbox_id": id})
	key := st["auth_key"].(string)
	require.NotEmpty(t, key)
	u, err := url.Parse(st["stream_url"].(string))
	require.NoError(t, err)
	u.RawQuery = ""
	page := u.String()
	if !strings.HasSuffix(page, "/") {
		page += "/"
	}
	get := func(target string, hdr map[string]string) int {
		req, _ := http.NewRequest("GET", target, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	ws := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
	assert.Equal(t, 401, get(page, nil), "no key")
	assert.Equal(t, 403, get(page+"?key=wrong", nil), "wrong key")
	assert.Equal(t, 403, get(page+"?key="+key[:len(key)-1], nil), "truncated key")
	assert.Equal(t, 403, get(page, map[string]string{"Authorization": "Bearer " + bobToken}), "an MCP token is not a stream key")
	assert.Equal(t, 200, get(page+"?key="+url.QueryEscape(key), nil), "the right key")
	assert.Contains(t, []int{401, 403}, get(page+"websockify", ws), "websocket without key")
	assert.Contains(t, []int{401, 403}, get(page+"websockify?key=wrong", ws), "websocket with a wrong key")
	// Another path token (someone else's stream, guessed) is not found.
	other := strings.Replace(page, u.Path, "/stream/"+strings.Repeat("a", 32)+"/", 1)
	assert.Equal(t, 404, get(other+"?key="+url.QueryEscape(key), nil))
	// Stopped: the URL is dead, key or not.
	alice.OK("stop_stream", map[string]any{"sandbox_id": id})
	assert.Equal(t, 404, get(page+"?key="+url.QueryEscape(key), nil))
	// Without auth, by choice: the URL alone opens it; destroyed: gone.
	open := alice.OK("start_stream", map[string]any{"sandbox_id": id, "require_auth": false, "view_only": true})
	assert.Empty(t, open["auth_key"])
	assert.Equal(t, 200, get(open["stream_url"].(string), nil))
	alice.OK("destroy_sandbox", map[string]any{"sandbox_id": id})
	assert.Equal(t, 404, get(open["stream_url"].(string), nil))
}

// TestStreamViewerFlood: whoever holds a stream's URL and key cannot open
// viewers without bound (each holds server connections and goroutines);
// beyond the cap they are refused with 429, and viewers of other streams
// are unaffected.
func TestStreamViewerFlood(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	bob := connectHTTP(t, e.URL, bobToken)
	id := alice.create(nil)
	st := alice.OK("start_stream", map[string]any{"sandbox_id": id})
	ws, _, err := mcptest.ViewerURL(st["stream_url"].(string))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opened, refused := 0, 0
	for i := 0; i < stream.MaxViewers+8; i++ {
		c, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"binary"}})
		if err != nil {
			require.NotNil(t, resp, "dial: %v", err)
			assert.Equal(t, 429, resp.StatusCode)
			refused++
			continue
		}
		opened++
		t.Cleanup(func() { c.CloseNow() })
	}
	assert.Equal(t, stream.MaxViewers, opened)
	assert.Equal(t, 8, refused)
	// Another tenant's stream still serves a viewer.
	b := bob.create(nil)
	watchStream(t, bob, b)
}
