package e2btest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
)

func start(t *testing.T, opts Options) (*Server, string) {
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	opts.APIKey, opts.Log = "k", log
	opts.NewMachine = LocalFactory(sharedLocal(t), log)
	s := New(opts)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		_ = s.Close()
		hs.Close()
	})
	return s, hs.URL
}

func do(t *testing.T, method, url string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The control plane makes, lists, times and kills sandboxes; requests that
// name a sandbox reach its envd (any port inside it), which checks the
// access token the control plane gave it.
func TestControlPlaneAndProxy(t *testing.T) {
	s, url := start(t, Options{MaxSandboxes: 1, EnvdVersion: "9.9.9"})
	key := map[string]string{"X-API-Key": "k"}
	resp, _ := do(t, http.MethodPost, url+"/v2/sandboxes", map[string]string{"X-API-Key": "bad"}, []byte(`{"templateID":"desktop"}`))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, body := do(t, http.MethodPost, url+"/sandboxes", key,
		[]byte(`{"templateID":"desktop","timeout":60,"secure":true,"metadata":{"owner":"a b"},"envVars":{"GREETING":"hi"}}`))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var sb wire.Sandbox
	require.NoError(t, json.Unmarshal(body, &sb))
	require.NotEmpty(t, sb.EnvdAccessToken)
	assert.Equal(t, "9.9.9", sb.EnvdVersion)

	resp, body = do(t, http.MethodPost, url+"/sandboxes", key, []byte(`{"templateID":"desktop"}`))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "E2B's concurrency limit: %s", body)

	resp, body = do(t, http.MethodGet, url+"/v2/sandboxes?metadata=owner%3Da%2520b", key, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), sb.SandboxID)
	assert.Equal(t, "1", resp.Header.Get("X-Total-Running"))
	_, body = do(t, http.MethodGet, url+"/v2/sandboxes?metadata=owner%3Dother", key, nil)
	assert.Equal(t, "[]", strings.TrimSpace(string(body)))

	// envd through the proxy: the sandbox's variables, its token.
	c := envd.New(envd.Options{Base: url, SandboxID: sb.SandboxID, AccessToken: sb.EnvdAccessToken, User: "user"})
	out, end := run(t, c, "echo $GREETING; exit 4", nil)
	assert.Equal(t, "hi\n", out)
	assert.EqualValues(t, 4, end.ExitCode)
	_, err := envd.New(envd.Options{Base: url, SandboxID: sb.SandboxID, User: "user"}).Stat(context.Background(), "/")
	assert.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))

	// Any other port, as E2B's proxy routes https://PORT-ID.DOMAIN.
	_, _ = run(t, c, "cd /tmp && echo served > page.txt && (python3 -m http.server 8123 --bind 127.0.0.1 >/dev/null 2>&1 &)", nil)
	require.Eventually(t, func() bool {
		resp, body := do(t, http.MethodGet, url+"/page.txt", map[string]string{SandboxIDHeader: sb.SandboxID, SandboxPortHeader: "8123"}, nil)
		return resp.StatusCode == http.StatusOK && string(body) == "served\n"
	}, 20*time.Second, 100*time.Millisecond)
	resp, _ = do(t, http.MethodGet, url+"/", map[string]string{SandboxIDHeader: sb.SandboxID, SandboxPortHeader: "8124"}, nil)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "nothing listens there")

	// The timer: now 1 s away, then the sandbox is gone, as on E2B.
	resp, _ = do(t, http.MethodPost, url+"/sandboxes/"+sb.SandboxID+"/timeout", key, []byte(`{"timeout":1}`))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Eventually(t, func() bool { return s.Count() == 0 }, 20*time.Second, 50*time.Millisecond)
	// An unknown (here: expired) sandbox is the proxy's 502, which the
	// client reads as gone.
	_, err = c.Stat(context.Background(), "/")
	assert.ErrorIs(t, err, envd.ErrGone)
	resp, _ = do(t, http.MethodDelete, url+"/sandboxes/"+sb.SandboxID, key, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// Debug mode: envd calls without a known sandbox go to one sandbox made on
// first use, as the SDKs' debug mode expects of localhost:49983.
func TestDebugSandbox(t *testing.T) {
	s, url := start(t, Options{Debug: true})
	c := envd.New(envd.Options{Base: url, SandboxID: DebugSandboxID, User: "user"})
	out, _ := run(t, c, "echo debug $DISPLAY", nil)
	assert.Equal(t, "debug :0\n", out, "as @e2b/desktop would have created it")
	assert.Equal(t, 1, s.Count())
	require.NoError(t, s.Close())
	assert.Equal(t, 0, s.Count())
}
