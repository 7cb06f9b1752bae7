package e2btest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// EnvdPort is where envd listens in every sandbox.
const EnvdPort = 49983

// maxUpload bounds a request the proxy forwards (a file upload).
const maxUpload = 256 << 20

// envdLink is the control plane's way into one sandbox, as E2B's proxy and
// orchestrator reach a VM: HTTP to any port inside it, through the
// machine. It initialises envd (/init) and forwards clients' requests.
type envdLink struct {
	m     Machine
	tr    *http.Transport
	hc    *http.Client
	proxy http.Handler
}

func newEnvdLink(m Machine) *envdLink {
	l := &envdLink{m: m}
	l.tr = &http.Transport{
		// The address is 127.0.0.1:PORT inside the sandbox.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			_, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			port, err := strconv.Atoi(p)
			if err != nil {
				return nil, err
			}
			return m.Dial(ctx, port)
		},
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // process streams answer when the process does
	}
	l.hc = &http.Client{Transport: l.tr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			port := EnvdPort
			if p, err := strconv.Atoi(pr.In.Header.Get(SandboxPortHeader)); err == nil && p > 0 && p < 65536 {
				port = p
			}
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "127.0.0.1:" + strconv.Itoa(port)
			pr.Out.Host = pr.In.Host
		},
		Transport: l.tr,
		// Process output is a stream: every write goes out at once.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// What E2B's proxy answers when nothing listens on the port.
			writeJSON(w, http.StatusBadGateway, map[string]any{"code": http.StatusBadGateway,
				"message": "The sandbox is running but port is not open", "sandboxId": r.Header.Get(SandboxIDHeader)})
		},
	}
	l.proxy = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request is read whole before it is forwarded: envd answers a
		// stream while the transport may still be copying the request, and
		// an HTTP/1 handler loses (or races on) its body once it writes.
		// Requests are small, files at most maxUpload.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"code": http.StatusRequestEntityTooLarge, "message": "request too large"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Transfer-Encoding")
		rp.ServeHTTP(w, r)
	})
	return l
}

func (l *envdLink) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(EnvdPort) + path
}

// waitHealthy polls envd's /health until it answers, it exits or ctx ends.
func (l *envdLink) waitHealthy(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.url("/health"), nil)
		resp, err := l.hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		if err := l.m.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("envd did not answer /health: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// initRequest is envd's POST /init body (envd.yaml), what E2B's
// orchestrator sends when a sandbox starts.
type initRequest struct {
	AccessToken    string            `json:"accessToken,omitempty"`
	DefaultUser    string            `json:"defaultUser,omitempty"`
	DefaultWorkdir string            `json:"defaultWorkdir,omitempty"`
	EnvVars        map[string]string `json:"envVars,omitempty"`
	Timestamp      time.Time         `json:"timestamp"`
}

// init hands envd the sandbox's environment, access token, default user
// and working directory.
func (l *envdLink) init(ctx context.Context, token string, env map[string]string) error {
	vars := map[string]string{}
	for k, v := range l.m.Env() {
		vars[k] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	body, _ := json.Marshal(initRequest{AccessToken: token, DefaultUser: "user", DefaultWorkdir: "/home/user",
		EnvVars: vars, Timestamp: time.Now().UTC()})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.url("/init"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.hc.Do(req)
	if err != nil {
		return fmt.Errorf("envd /init: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("envd /init: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

func (l *envdLink) close() { l.tr.CloseIdleConnections() }
