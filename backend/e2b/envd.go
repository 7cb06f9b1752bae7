package e2b

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/sandbox"
)

// envdClient is one sandbox's envd (internal/envd, on connect-go) with its
// answers mapped to the project's error codes.
type envdClient struct {
	c *envd.Client
}

func newEnvdClient(o envd.Options) *envdClient { return &envdClient{c: envd.New(o)} }

// envdError maps an error of envd (a Connect error, an HTTP API error, E2B's
// proxy saying the sandbox is gone, a transport failure) to the project's
// codes. what names the operation for the message.
func envdError(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, envd.ErrGone) {
		return errGone()
	}
	var he *envd.HTTPError
	if errors.As(err, &he) {
		return httpError(what, he)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return transportError(ctx, "the sandbox", err)
	}
	msg := sanitize(ce.Message())
	switch ce.Code() {
	case connect.CodeNotFound:
		return sandbox.InvalidArgument("path", "%s: not found: %s", what, msg).WithCause(err)
	case connect.CodeInvalidArgument, connect.CodeAlreadyExists, connect.CodeFailedPrecondition:
		return sandbox.InvalidArgument("path", "%s: %s", what, msg).WithCause(err)
	case connect.CodePermissionDenied:
		return sandbox.Errorf(sandbox.CodePermissionDenied, "%s: permission denied: %s", what, msg).WithCause(err)
	case connect.CodeUnauthenticated:
		return sandbox.Errorf(sandbox.CodeAuthenticationFailed, "%s: envd refused the access token", what).WithCause(err)
	case connect.CodeDeadlineExceeded, connect.CodeCanceled:
		if ctx.Err() != nil {
			return sandbox.AsError(ctx.Err())
		}
		return sandbox.Errorf(sandbox.CodeTimeout, "%s did not finish in time", what).WithCause(err)
	case connect.CodeUnavailable, connect.CodeUnimplemented:
		if ctx.Err() != nil {
			return sandbox.AsError(ctx.Err())
		}
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s: the sandbox is not reachable (it may have expired)", what).WithCause(err)
	}
	return sandbox.Errorf(sandbox.CodeInternal, "%s failed inside the sandbox: %s", what, msg).WithCause(err)
}

// httpError maps an error answer of envd's HTTP API (files).
func httpError(what string, he *envd.HTTPError) error {
	msg := sanitize(he.Message)
	switch he.Status {
	case http.StatusNotFound:
		return sandbox.InvalidArgument("path", "%s: no such file", what).WithCause(he)
	case http.StatusBadRequest:
		return sandbox.InvalidArgument("path", "%s: %s", what, msg).WithCause(he)
	case http.StatusUnauthorized, http.StatusForbidden:
		return sandbox.Errorf(sandbox.CodePermissionDenied, "%s: permission denied", what).WithCause(he)
	case http.StatusInsufficientStorage:
		return sandbox.Errorf(sandbox.CodeQuotaExceeded, "%s: the sandbox's disk is full", what).WithCause(he)
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s: the sandbox is not reachable", what).WithCause(he)
	}
	return sandbox.Errorf(sandbox.CodeInternal, "%s failed inside the sandbox: %s", what, msg).WithCause(he)
}

// procStream is a running process's event stream.
type procStream struct {
	pid uint32
	s   *envd.Stream
	ctx context.Context
}

// next returns the next event; io.EOF after the stream ended cleanly, the
// stream's error (mapped) otherwise.
func (s *procStream) next() (*envd.ProcessEvent, error) {
	ev, err := s.s.Next()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		return nil, envdError(s.ctx, "the process's output", err)
	}
	return ev, nil
}

// close disconnects from the stream; the process keeps running.
func (s *procStream) close() { s.s.Close() }

// stop ends a next waiting in another goroutine.
func (s *procStream) stop() { s.s.Stop() }

// start starts a process and waits for its start event. The stream lives
// as long as ctx; cancel ctx (or close the stream) to disconnect. envd
// kills the process after timeout (> 0), never at ctx's deadline.
func (c *envdClient) start(ctx context.Context, sr envd.StartRequest, timeout time.Duration) (*procStream, error) {
	s, err := c.c.Start(ctx, sr, timeout)
	if err != nil {
		return nil, envdError(ctx, "starting a process", err)
	}
	return &procStream{pid: s.PID, s: s, ctx: ctx}, nil
}

func (c *envdClient) sendInput(ctx context.Context, pid uint32, data []byte) error {
	return envdError(ctx, "sending input", c.c.SendInput(ctx, pid, data))
}

func (c *envdClient) signal(ctx context.Context, pid uint32, sig envd.Signal) error {
	return envdError(ctx, "signalling a process", c.c.Signal(ctx, pid, sig))
}

func (c *envdClient) stat(ctx context.Context, path string) (*envd.EntryInfo, error) {
	e, err := c.c.Stat(ctx, path)
	return e, envdError(ctx, "stat "+path, err)
}

func (c *envdClient) listDir(ctx context.Context, path string) ([]envd.EntryInfo, error) {
	es, err := c.c.ListDir(ctx, path)
	return es, envdError(ctx, "listing "+path, err)
}

// makeDir creates path and its parents; an existing directory is fine.
func (c *envdClient) makeDir(ctx context.Context, path string) error {
	err := c.c.MakeDir(ctx, path)
	if connect.CodeOf(err) == connect.CodeAlreadyExists {
		return nil
	}
	return envdError(ctx, "creating "+path, err)
}

func (c *envdClient) remove(ctx context.Context, path string) error {
	return envdError(ctx, "removing "+path, c.c.Remove(ctx, path))
}

// download reads a file through GET /files; maxBytes <= 0 means no bound
// beyond envd.MaxMessage.
func (c *envdClient) download(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	b, err := c.c.Download(ctx, path, maxBytes)
	return b, envdError(ctx, "reading "+path, err)
}

// upload writes a file through POST /files (octet-stream, envd >= 0.5.7),
// creating parent directories.
func (c *envdClient) upload(ctx context.Context, path string, data []byte) error {
	return envdError(ctx, "writing "+path, c.c.Upload(ctx, path, data, false))
}

// uploadGzip is upload with the body gzip-compressed (Content-Encoding, as
// the SDKs send it): the helper binary shrinks from 4 to under 2 MB.
func (c *envdClient) uploadGzip(ctx context.Context, path string, data []byte) error {
	return envdError(ctx, "writing "+path, c.c.Upload(ctx, path, data, true))
}

// errGone carries no E2B id: the Manager names the sandbox by its own id.
func errGone() error {
	return sandbox.Errorf(sandbox.CodeNotFound, "the sandbox no longer exists on E2B (it was killed or expired)")
}

// health waits until envd answers GET /health, up to d.
func (c *envdClient) health(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		if c.c.Health(ctx) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox's envd did not become healthy in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
