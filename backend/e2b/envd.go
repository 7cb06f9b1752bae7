package e2b

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
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

// envdClient talks to one sandbox's envd.
type envdClient struct {
	base        string
	sandboxID   string
	accessToken string
	user        string
	hc          *http.Client
}

func (c *envdClient) setHeaders(h http.Header) {
	h.Set(wire.SandboxIDHeader, c.sandboxID)
	h.Set(wire.SandboxPortHeader, strconv.Itoa(wire.EnvdPort))
	if c.accessToken != "" {
		h.Set(wire.AccessTokenHeader, c.accessToken)
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":")))
	h.Set("User-Agent", "vmservice-e2b")
}

// rpcError maps a Connect error from envd to the project's codes. what names
// the operation for the message.
func rpcError(what string, e *wire.Error) error {
	cause := errors.New(e.Error())
	msg := sanitize(e.Message)
	switch e.Code {
	case wire.CodeNotFound:
		return sandbox.InvalidArgument("path", "%s: not found: %s", what, msg).WithCause(cause)
	case wire.CodeInvalidArgument, wire.CodeAlreadyExists, wire.CodeFailedPrecondition:
		return sandbox.InvalidArgument("path", "%s: %s", what, msg).WithCause(cause)
	case wire.CodePermissionDenied:
		return sandbox.Errorf(sandbox.CodePermissionDenied, "%s: permission denied: %s", what, msg).WithCause(cause)
	case wire.CodeUnauthenticated:
		return sandbox.Errorf(sandbox.CodeAuthenticationFailed, "%s: envd refused the access token", what).WithCause(cause)
	case wire.CodeDeadlineExceeded, wire.CodeCanceled:
		return sandbox.Errorf(sandbox.CodeTimeout, "%s did not finish in time", what).WithCause(cause)
	case wire.CodeUnavailable, wire.CodeUnimplemented:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s: the sandbox is not reachable (it may have expired)", what).WithCause(cause)
	}
	return sandbox.Errorf(sandbox.CodeInternal, "%s failed inside the sandbox: %s", what, msg).WithCause(cause)
}

// unary makes one unary Connect call.
func (c *envdClient) unary(ctx context.Context, proc, what string, in, out any) error {
	err := c.call(ctx, proc, what, in, out)
	var we *wire.Error
	if errors.As(err, &we) {
		return rpcError(what, we)
	}
	return err
}

// call is unary without the error mapping: a Connect error comes back as
// *wire.Error.
func (c *envdClient) call(ctx context.Context, proc, what string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return sandbox.AsError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+proc, bytes.NewReader(body))
	if err != nil {
		return sandbox.AsError(err)
	}
	c.setHeaders(req.Header)
	req.Header.Set("Content-Type", wire.ContentTypeUnary)
	req.Header.Set(wire.ProtocolVersionHeader, "1")
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(ctx, "the sandbox", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxMessage))
	if err != nil {
		return transportError(ctx, "the sandbox", err)
	}
	if resp.StatusCode != http.StatusOK {
		if gone(resp.StatusCode, data) {
			return errGone()
		}
		return wire.DecodeUnaryError(resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s: envd answered with invalid JSON", what).WithCause(err)
		}
	}
	return nil
}

// procStream is a running process's event stream (process.Start).
type procStream struct {
	pid  uint32
	body io.ReadCloser
	er   *wire.EnvelopeReader
}

// next returns the next event; io.EOF after the stream ended cleanly.
func (s *procStream) next() (*wire.ProcessEvent, error) {
	for {
		payload, end, err := s.er.Next()
		if err != nil {
			return nil, err
		}
		if end {
			var es wire.EndStream
			if json.Unmarshal(payload, &es) == nil && es.Error != nil {
				return nil, es.Error
			}
			return nil, io.EOF
		}
		var r wire.StartResponse
		if err := json.Unmarshal(payload, &r); err != nil {
			return nil, fmt.Errorf("envd: bad event: %w", err)
		}
		if r.Event.Keepalive != nil {
			continue
		}
		return &r.Event, nil
	}
}

// close disconnects from the stream; the process keeps running.
func (s *procStream) close() { _ = s.body.Close() }

// start starts a process and waits for its start event. The stream lives as
// long as ctx; cancel ctx (or close the stream) to disconnect.
func (c *envdClient) start(ctx context.Context, sr wire.StartRequest) (*procStream, error) {
	body, err := json.Marshal(sr)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	var env bytes.Buffer
	_ = wire.WriteEnvelope(&env, false, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+wire.ProcStart, &env)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	c.setHeaders(req.Header)
	req.Header.Set("Content-Type", wire.ContentTypeStream)
	req.Header.Set(wire.ProtocolVersionHeader, "1")
	req.Header.Set("Keepalive-Ping-Interval", "50")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, "the sandbox", err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if gone(resp.StatusCode, data) {
			return nil, errGone()
		}
		return nil, rpcError("starting a process", wire.DecodeUnaryError(resp.StatusCode, data))
	}
	s := &procStream{body: resp.Body, er: wire.NewEnvelopeReader(resp.Body)}
	ev, err := s.next()
	if err != nil {
		s.close()
		var we *wire.Error
		if errors.As(err, &we) {
			return nil, rpcError("starting a process", we)
		}
		return nil, transportError(ctx, "the sandbox", err)
	}
	if ev.Start == nil {
		s.close()
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "envd did not report the process start")
	}
	s.pid = ev.Start.PID
	return s, nil
}

func (c *envdClient) sendInput(ctx context.Context, pid uint32, data []byte) error {
	return c.unary(ctx, wire.ProcSendInput, "sending input", wire.SendInputRequest{
		Process: wire.SelectPID(pid), Input: wire.ProcessInput{Stdin: data}}, nil)
}

func (c *envdClient) signal(ctx context.Context, pid uint32, sig string) error {
	raw, _ := json.Marshal(sig)
	return c.unary(ctx, wire.ProcSendSignal, "signalling a process", wire.SendSignalRequest{
		Process: wire.SelectPID(pid), Signal: raw}, nil)
}

func (c *envdClient) stat(ctx context.Context, path string) (*wire.EntryInfo, error) {
	var r wire.EntryResponse
	if err := c.unary(ctx, wire.FsStat, "stat "+path, wire.PathRequest{Path: path}, &r); err != nil {
		return nil, err
	}
	if r.Entry == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "envd answered stat without an entry")
	}
	return r.Entry, nil
}

func (c *envdClient) listDir(ctx context.Context, path string) ([]wire.EntryInfo, error) {
	var r wire.ListDirResponse
	err := c.unary(ctx, wire.FsListDir, "listing "+path, wire.ListDirRequest{Path: path, Depth: 1}, &r)
	return r.Entries, err
}

// makeDir creates path and its parents; an existing directory is fine.
func (c *envdClient) makeDir(ctx context.Context, path string) error {
	what := "creating " + path
	err := c.call(ctx, wire.FsMakeDir, what, wire.PathRequest{Path: path}, &wire.EntryResponse{})
	var we *wire.Error
	if errors.As(err, &we) {
		if we.Code == wire.CodeAlreadyExists {
			return nil
		}
		return rpcError(what, we)
	}
	return err
}

func (c *envdClient) remove(ctx context.Context, path string) error {
	return c.unary(ctx, wire.FsRemove, "removing "+path, wire.PathRequest{Path: path}, &struct{}{})
}

// download reads a file through GET /files; maxBytes <= 0 means no bound
// beyond wire.MaxMessage.
func (c *envdClient) download(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	q := url.Values{"path": {path}, "username": {c.user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/files?"+q.Encode(), nil)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	c.setHeaders(req.Header)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, "the sandbox", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, filesError("reading "+path, resp)
	}
	limit := int64(wire.MaxMessage)
	if maxBytes > 0 && maxBytes < limit {
		limit = maxBytes
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, transportError(ctx, "the sandbox", err)
	}
	return data, nil
}

// upload writes a file through POST /files (octet-stream, envd >= 0.5.7),
// creating parent directories.
func (c *envdClient) upload(ctx context.Context, path string, data []byte) error {
	return c.uploadEncoded(ctx, path, data, false)
}

// uploadGzip is upload with the body gzip-compressed (Content-Encoding, as
// the SDKs send it): the helper binary shrinks from 4 to under 2 MB.
func (c *envdClient) uploadGzip(ctx context.Context, path string, data []byte) error {
	return c.uploadEncoded(ctx, path, data, true)
}

func (c *envdClient) uploadEncoded(ctx context.Context, path string, data []byte, gz bool) error {
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = b.Bytes()
	}
	q := url.Values{"path": {path}, "username": {c.user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/files?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		return sandbox.AsError(err)
	}
	c.setHeaders(req.Header)
	req.Header.Set("Content-Type", "application/octet-stream")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(ctx, "the sandbox", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return filesError("writing "+path, resp)
	}
	return nil
}

// gone reports the E2B proxy's answer for a sandbox that no longer exists
// (killed, or expired on E2B's own timer).
func gone(status int, body []byte) bool {
	if status != http.StatusBadGateway {
		return false
	}
	var e wire.HTTPError
	_ = json.Unmarshal(body, &e)
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "sandbox") && strings.Contains(m, "not found")
}

// errGone carries no E2B id: the Manager names the sandbox by its own id.
func errGone() error {
	return sandbox.Errorf(sandbox.CodeNotFound, "the sandbox no longer exists on E2B (it was killed or expired)")
}

func filesError(what string, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if gone(resp.StatusCode, data) {
		return errGone()
	}
	var e wire.HTTPError
	_ = json.Unmarshal(data, &e)
	msg := sanitize(e.Message)
	cause := fmt.Errorf("envd HTTP %d: %s", resp.StatusCode, msg)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return sandbox.InvalidArgument("path", "%s: no such file", what).WithCause(cause)
	case http.StatusBadRequest:
		return sandbox.InvalidArgument("path", "%s: %s", what, msg).WithCause(cause)
	case http.StatusUnauthorized, http.StatusForbidden:
		return sandbox.Errorf(sandbox.CodePermissionDenied, "%s: permission denied", what).WithCause(cause)
	case http.StatusInsufficientStorage:
		return sandbox.Errorf(sandbox.CodeQuotaExceeded, "%s: the sandbox's disk is full", what).WithCause(cause)
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s: the sandbox is not reachable", what).WithCause(cause)
	}
	return sandbox.Errorf(sandbox.CodeInternal, "%s failed inside the sandbox: %s", what, msg).WithCause(cause)
}

// health waits until envd answers GET /health, up to d.
func (c *envdClient) health(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/health", nil)
		c.setHeaders(req.Header)
		resp, err := c.hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox's envd did not become healthy in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
