package e2btest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
	"github.com/vmservice/vmservice/backend/local"
)

var lp *local.Provider

func TestMain(m *testing.M) {
	var err error
	lp, err = local.New(local.Options{Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = lp.Close()
	os.Exit(code)
}

func start(t *testing.T, debug bool) (*Server, string) {
	s := New(Options{APIKey: "k", Debug: debug, NewMachine: LocalFactory(lp), Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)})
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

// startProc calls process.Start and returns every event and the end error.
func startProc(t *testing.T, url string, hdr map[string]string, cmd string) ([]wire.ProcessEvent, *wire.Error) {
	body, _ := json.Marshal(wire.StartRequest{Process: wire.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-c", cmd}}})
	var env bytes.Buffer
	require.NoError(t, wire.WriteEnvelope(&env, false, body))
	h := map[string]string{"Content-Type": wire.ContentTypeStream}
	for k, v := range hdr {
		h[k] = v
	}
	resp, data := do(t, http.MethodPost, url+wire.ProcStart, h, env.Bytes())
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	r := wire.NewEnvelopeReader(bytes.NewReader(data))
	var evs []wire.ProcessEvent
	for {
		p, end, err := r.Next()
		require.NoError(t, err)
		if end {
			var es wire.EndStream
			require.NoError(t, json.Unmarshal(p, &es))
			return evs, es.Error
		}
		var sr wire.StartResponse
		require.NoError(t, json.Unmarshal(p, &sr))
		evs = append(evs, sr.Event)
	}
}

func TestControlPlaneAndEnvd(t *testing.T) {
	s, url := start(t, false)
	resp, _ := do(t, http.MethodPost, url+"/v2/sandboxes", map[string]string{"X-API-Key": "bad"}, []byte(`{"templateID":"desktop"}`))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, body := do(t, http.MethodPost, url+"/sandboxes", map[string]string{"X-API-Key": "k"},
		[]byte(`{"templateID":"desktop","timeout":60,"secure":true,"metadata":{"owner":"a b"}}`))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var sb wire.Sandbox
	require.NoError(t, json.Unmarshal(body, &sb))
	require.NotEmpty(t, sb.EnvdAccessToken)

	resp, body = do(t, http.MethodGet, url+"/v2/sandboxes?metadata=owner%3Da%2520b", map[string]string{"X-API-Key": "k"}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), sb.SandboxID)
	assert.Equal(t, "1", resp.Header.Get("X-Total-Running"))
	_, body = do(t, http.MethodGet, url+"/v2/sandboxes?metadata=owner%3Dother", map[string]string{"X-API-Key": "k"}, nil)
	assert.Equal(t, "[]", strings.TrimSpace(string(body)))

	hdr := map[string]string{wire.SandboxIDHeader: sb.SandboxID, wire.AccessTokenHeader: sb.EnvdAccessToken}
	evs, werr := startProc(t, url, hdr, "echo out; echo err >&2; exit 4")
	require.Nil(t, werr)
	require.NotNil(t, evs[0].Start)
	var stdout, stderr string
	for _, ev := range evs {
		if ev.Data != nil {
			stdout += string(ev.Data.Stdout)
			stderr += string(ev.Data.Stderr)
		}
	}
	assert.Equal(t, "out\n", stdout)
	assert.Equal(t, "err\n", stderr)
	end := evs[len(evs)-1].End
	require.NotNil(t, end)
	assert.Equal(t, int32(4), end.ExitCode)
	assert.True(t, end.Exited)

	// Without the access token: unauthenticated.
	_, werr = func() ([]wire.ProcessEvent, *wire.Error) {
		resp, body := do(t, http.MethodPost, url+wire.FsStat, map[string]string{wire.SandboxIDHeader: sb.SandboxID, "Content-Type": "application/json"}, []byte(`{"path":"/"}`))
		return nil, wire.DecodeUnaryError(resp.StatusCode, body)
	}()
	assert.Equal(t, wire.CodeUnauthenticated, werr.Code)

	// The Connect timeout ends the call and kills the process, as envd does.
	hdr[wire.TimeoutHeader] = "300"
	t0 := time.Now()
	_, werr = startProc(t, url, hdr, "sleep 30")
	require.NotNil(t, werr)
	assert.Equal(t, wire.CodeDeadlineExceeded, werr.Code)
	assert.Less(t, time.Since(t0), 10*time.Second)
	delete(hdr, wire.TimeoutHeader)
	hdr["Content-Type"] = wire.ContentTypeUnary
	require.Eventually(t, func() bool {
		_, body := do(t, http.MethodPost, url+wire.ProcList, hdr, []byte(`{}`))
		return !strings.Contains(string(body), "sleep")
	}, 10*time.Second, 100*time.Millisecond)

	// An unknown sandbox is the proxy's 502.
	resp, _ = do(t, http.MethodPost, url+wire.FsStat, map[string]string{wire.SandboxIDHeader: "nope", "Content-Type": "application/json"}, []byte(`{"path":"/"}`))
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)

	resp, _ = do(t, http.MethodDelete, url+"/sandboxes/"+sb.SandboxID, map[string]string{"X-API-Key": "k"}, nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, 0, s.Count())
}

func TestDebugSandbox(t *testing.T) {
	s, url := start(t, true)
	evs, werr := startProc(t, url, map[string]string{wire.SandboxIDHeader: DebugSandboxID}, "echo debug")
	require.Nil(t, werr)
	assert.Equal(t, "debug\n", string(evs[1].Data.Stdout))
	assert.Equal(t, 1, s.Count())
	require.NoError(t, s.Close())
	assert.Equal(t, 0, s.Count())
}
