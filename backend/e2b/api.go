package e2b

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
	"github.com/vmservice/vmservice/sandbox"
)

func itoa(n int) string { return strconv.Itoa(n) }

// apiClient is the control-plane REST client.
type apiClient struct {
	base     string
	key      string
	hc       *http.Client
	attempts int
}

// do sends one request and decodes a JSON answer into out (when non-nil).
// Transient failures are retried with back-off inside ctx's deadline.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return sandbox.AsError(err)
		}
	}
	_, err := c.doHeader(ctx, method, path, body, out)
	return err
}

// doHeader is do with the answer's headers (for pagination).
func (c *apiClient) doHeader(ctx context.Context, method, path string, body []byte, out any) (http.Header, error) {
	return sandbox.Retry(ctx, c.attempts, func(ctx context.Context) (http.Header, error) {
		return c.once(ctx, method, path, body, out)
	})
}

func (c *apiClient) once(ctx context.Context, method, path string, body []byte, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(wire.APIKeyHeader, c.key)
	req.Header.Set("User-Agent", "vmservice-e2b")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, "the E2B API", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, transportError(ctx, "the E2B API", err)
	}
	if resp.StatusCode >= 300 {
		return nil, apiError(resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the E2B API answered with a body that is not valid JSON").WithCause(err)
		}
	}
	return resp.Header, nil
}

// transportError turns a failed round trip into TIMEOUT (the caller's
// deadline) or BACKEND_UNAVAILABLE (network trouble, retried).
func transportError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return sandbox.AsError(ctx.Err())
	}
	return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s could not be reached; try again", what).WithCause(err)
}

// apiError maps a control-plane error answer to the project's codes.
func apiError(status int, body []byte) error {
	var e wire.HTTPError
	_ = json.Unmarshal(body, &e)
	msg := sanitize(e.Message)
	if msg == "" {
		msg = http.StatusText(status)
	}
	cause := fmt.Errorf("E2B API HTTP %d: %s", status, msg)
	low := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return sandbox.Errorf(sandbox.CodeAuthenticationFailed, "E2B refused the API key (HTTP %d); check E2B_API_KEY", status).WithCause(cause)
	case status == http.StatusNotFound:
		return sandbox.Errorf(sandbox.CodeNotFound, "E2B has no such sandbox: %s", msg).WithCause(cause)
	case status == http.StatusTooManyRequests || strings.Contains(low, "quota") || strings.Contains(low, "maximum number") || strings.Contains(low, "limit"):
		return sandbox.Errorf(sandbox.CodeQuotaExceeded, "E2B quota or rate limit reached: %s", msg).
			WithDetail("backend", "e2b").WithCause(cause)
	case status >= 500:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "E2B is unavailable (HTTP %d); try again", status).WithCause(cause)
	case status == http.StatusBadRequest || status == http.StatusConflict:
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "E2B rejected the request: %s", msg).WithCause(cause)
	}
	return sandbox.Errorf(sandbox.CodeBackendUnavailable, "E2B answered HTTP %d: %s", status, msg).WithCause(cause)
}

// sanitize keeps a remote message short and printable.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func (c *apiClient) create(ctx context.Context, req wire.NewSandbox) (*wire.Sandbox, error) {
	var out wire.Sandbox
	if err := c.do(ctx, http.MethodPost, "/sandboxes", req, &out); err != nil {
		return nil, err
	}
	if out.SandboxID == "" {
		return nil, sandbox.Errorf(sandbox.CodeCreationFailed, "E2B answered without a sandbox id")
	}
	return &out, nil
}

func (c *apiClient) get(ctx context.Context, id string) (*wire.SandboxDetail, error) {
	var out wire.SandboxDetail
	if err := c.do(ctx, http.MethodGet, "/sandboxes/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// list returns the running sandboxes whose metadata has every key/value of
// filter (GET /v2/sandboxes, following X-Next-Token pages).
func (c *apiClient) list(ctx context.Context, filter map[string]string) ([]wire.SandboxDetail, error) {
	q := url.Values{}
	if len(filter) > 0 {
		m := url.Values{}
		for k, v := range filter {
			m.Set(k, v)
		}
		q.Set("metadata", m.Encode())
	}
	q.Set("state", "running")
	q.Set("limit", "100")
	var all []wire.SandboxDetail
	for page := 0; page < 100; page++ {
		var out []wire.SandboxDetail
		next, err := c.listPage(ctx, "/v2/sandboxes?"+q.Encode(), &out)
		if err != nil {
			return nil, err
		}
		all = append(all, out...)
		if next == "" {
			break
		}
		q.Set("nextToken", next)
	}
	return all, nil
}

func (c *apiClient) listPage(ctx context.Context, path string, out *[]wire.SandboxDetail) (string, error) {
	h, err := c.doHeader(ctx, http.MethodGet, path, nil, out)
	if err != nil {
		return "", err
	}
	return h.Get("X-Next-Token"), nil
}

// kill deletes the sandbox; a sandbox that is already gone is not an error.
func (c *apiClient) kill(ctx context.Context, id string) error {
	err := c.do(ctx, http.MethodDelete, "/sandboxes/"+url.PathEscape(id), nil, nil)
	if sandbox.CodeOf(err) == sandbox.CodeNotFound {
		return nil
	}
	return err
}

func (c *apiClient) setTimeout(ctx context.Context, id string, d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	return c.do(ctx, http.MethodPost, "/sandboxes/"+url.PathEscape(id)+"/timeout", wire.TimeoutRequest{Timeout: secs}, nil)
}

// isCode reports whether err carries code.
func isCode(err error, code sandbox.Code) bool {
	var se *sandbox.Error
	return errors.As(err, &se) && se.Code == code
}
