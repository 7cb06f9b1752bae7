// Package envd is the client of E2B's envd, the daemon inside every E2B
// sandbox: its process and filesystem services over Connect
// (connectrpc.com/connect with a JSON codec and the plain structs of
// messages.go; no generated code), and its HTTP API for file contents and
// health. Deadlines travel with the context, errors end streams, gzip is
// used both ways.
package envd

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

	"connectrpc.com/connect"
)

// Port is where envd listens in every sandbox.
const Port = 49983

// Headers E2B's proxy and envd read.
const (
	SandboxIDHeader   = "E2b-Sandbox-Id"
	SandboxPortHeader = "E2b-Sandbox-Port"
	AccessTokenHeader = "X-Access-Token"
)

// MaxMessage bounds one message or file read (a screenshot in base64 fits).
const MaxMessage = 64 << 20

// ErrGone is E2B's proxy answering that the sandbox does not exist (it was
// killed, or expired).
var ErrGone = errors.New("envd: the sandbox no longer exists")

// Options say which sandbox's envd to call.
type Options struct {
	// Base is envd's URL (https://49983-ID.DOMAIN, or one address for all
	// sandboxes, which routes by SandboxIDHeader).
	Base        string
	SandboxID   string
	AccessToken string
	// User is the account envd runs things as (Basic auth, as the SDKs
	// send it).
	User       string
	HTTPClient *http.Client
}

// Client calls one sandbox's envd.
type Client struct {
	o  Options
	hc *http.Client

	start      *connect.Client[StartRequest, StartResponse]
	sendInput  *connect.Client[SendInputRequest, empty]
	sendSignal *connect.Client[SendSignalRequest, empty]
	stat       *connect.Client[PathRequest, EntryResponse]
	makeDir    *connect.Client[PathRequest, EntryResponse]
	remove     *connect.Client[PathRequest, empty]
	listDir    *connect.Client[ListDirRequest, ListDirResponse]
}

// New returns a Client.
func New(o Options) *Client {
	base := o.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc := *base
	hc.Transport = proxyTransport{rt}
	c := &Client{o: o, hc: &hc}
	opts := connect.WithClientOptions(
		connect.WithCodec(jsonCodec{}),
		connect.WithSendGzip(),
		connect.WithReadMaxBytes(MaxMessage),
		connect.WithInterceptors(headers{c.setHeaders}),
	)
	u := strings.TrimRight(o.Base, "/")
	c.start = connect.NewClient[StartRequest, StartResponse](c.hc, u+"/process.Process/Start", opts)
	c.sendInput = connect.NewClient[SendInputRequest, empty](c.hc, u+"/process.Process/SendInput", opts)
	c.sendSignal = connect.NewClient[SendSignalRequest, empty](c.hc, u+"/process.Process/SendSignal", opts)
	c.stat = connect.NewClient[PathRequest, EntryResponse](c.hc, u+"/filesystem.Filesystem/Stat", opts)
	c.makeDir = connect.NewClient[PathRequest, EntryResponse](c.hc, u+"/filesystem.Filesystem/MakeDir", opts)
	c.remove = connect.NewClient[PathRequest, empty](c.hc, u+"/filesystem.Filesystem/Remove", opts)
	c.listDir = connect.NewClient[ListDirRequest, ListDirResponse](c.hc, u+"/filesystem.Filesystem/ListDir", opts)
	return c
}

func (c *Client) setHeaders(h http.Header) {
	h.Set(SandboxIDHeader, c.o.SandboxID)
	h.Set(SandboxPortHeader, strconv.Itoa(Port))
	if c.o.AccessToken != "" {
		h.Set(AccessTokenHeader, c.o.AccessToken)
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.o.User+":")))
	h.Set("User-Agent", "vmservice-e2b")
}

// jsonCodec is Connect's "json" codec over encoding/json, for plain structs.
type jsonCodec struct{}

func (jsonCodec) Name() string                  { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error {
	return json.Unmarshal(b, v)
}

// headers adds the sandbox's headers to every call.
type headers struct{ set func(http.Header) }

func (h headers) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		h.set(req.Header())
		return next(ctx, req)
	}
}

func (h headers) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		h.set(conn.RequestHeader())
		return conn
	}
}

func (h headers) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// proxyTransport turns E2B's proxy's answer for a sandbox that does not
// exist (502 with a JSON body naming it) into ErrGone.
type proxyTransport struct{ rt http.RoundTripper }

func (t proxyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var e HTTPError
	_ = json.Unmarshal(body, &e)
	m := strings.ToLower(e.Message)
	if strings.Contains(m, "sandbox") && strings.Contains(m, "not found") {
		return nil, ErrGone
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// --- processes ---

// Stream is a started process's event stream.
type Stream struct {
	PID uint32
	s   *connect.ServerStreamForClient[StartResponse]
	end func()
}

// Start starts a process and returns once envd reports its pid. The
// stream lives as long as ctx (cancel it, or Close, to disconnect: the
// process keeps running). ctx's deadline is not sent: envd would kill the
// process at it; timeout > 0 is sent instead, and envd kills the process
// after that long, as the SDKs' timeoutMs does.
func (c *Client) Start(ctx context.Context, sr StartRequest, timeout time.Duration) (*Stream, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	end := func() { stop(); cancel() }
	if timeout > 0 {
		var tcancel context.CancelFunc
		sctx, tcancel = context.WithTimeout(sctx, timeout)
		end = func() { stop(); tcancel(); cancel() }
	}
	req := connect.NewRequest(&sr)
	// envd sends keepalives this often when the process is quiet, so
	// proxies keep the stream open.
	req.Header().Set("Keepalive-Ping-Interval", "50")
	s, err := c.start.CallServerStream(sctx, req)
	if err != nil {
		end()
		return nil, err
	}
	st := &Stream{s: s, end: end}
	ev, err := st.Next()
	if err == io.EOF {
		err = errors.New("envd: the stream ended before the process started")
	}
	if err == nil && ev.Start == nil {
		err = errors.New("envd: the stream did not begin with the process start")
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	st.PID = ev.Start.PID
	return st, nil
}

// Next returns the next event (keepalives skipped): io.EOF once the stream
// ended cleanly, the Connect error it ended with otherwise.
func (s *Stream) Next() (*ProcessEvent, error) {
	for s.s.Receive() {
		ev := s.s.Msg().Event
		if ev.Keepalive != nil {
			continue
		}
		return &ev, nil
	}
	if err := s.s.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// Close disconnects; the process keeps running.
func (s *Stream) Close() {
	_ = s.s.Close()
	s.end()
}

// Stop ends a Next waiting in another goroutine (it returns the context's
// error); Close still follows.
func (s *Stream) Stop() { s.end() }

// SendInput writes data to a process's stdin.
func (c *Client) SendInput(ctx context.Context, pid uint32, data []byte) error {
	_, err := c.sendInput.CallUnary(ctx, connect.NewRequest(&SendInputRequest{Process: SelectPID(pid), Input: ProcessInput{Stdin: data}}))
	return err
}

// Signal sends a signal to a process.
func (c *Client) Signal(ctx context.Context, pid uint32, sig Signal) error {
	_, err := c.sendSignal.CallUnary(ctx, connect.NewRequest(&SendSignalRequest{Process: SelectPID(pid), Signal: sig}))
	return err
}

// --- filesystem ---

// Stat describes path.
func (c *Client) Stat(ctx context.Context, path string) (*EntryInfo, error) {
	r, err := c.stat.CallUnary(ctx, connect.NewRequest(&PathRequest{Path: path}))
	if err != nil {
		return nil, err
	}
	if r.Msg.Entry == nil {
		return nil, errors.New("envd: stat answered without an entry")
	}
	return r.Msg.Entry, nil
}

// ListDir lists a directory (one level).
func (c *Client) ListDir(ctx context.Context, path string) ([]EntryInfo, error) {
	r, err := c.listDir.CallUnary(ctx, connect.NewRequest(&ListDirRequest{Path: path, Depth: 1}))
	if err != nil {
		return nil, err
	}
	return r.Msg.Entries, nil
}

// MakeDir creates path and its parents (AlreadyExists if it exists).
func (c *Client) MakeDir(ctx context.Context, path string) error {
	_, err := c.makeDir.CallUnary(ctx, connect.NewRequest(&PathRequest{Path: path}))
	return err
}

// Remove removes a file or a directory tree.
func (c *Client) Remove(ctx context.Context, path string) error {
	_, err := c.remove.CallUnary(ctx, connect.NewRequest(&PathRequest{Path: path}))
	return err
}

// --- the HTTP API (envd.yaml) ---

// HTTPError is an error answer of envd's HTTP API (and of E2B's proxy).
type HTTPError struct {
	Status  int    `json:"code"`
	Message string `json:"message"`
}

func (e *HTTPError) Error() string { return fmt.Sprintf("envd HTTP %d: %s", e.Status, e.Message) }

func (c *Client) do(req *http.Request) (*http.Response, error) {
	c.setHeaders(req.Header)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &HTTPError{}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
		}
		e.Status = resp.StatusCode
		return nil, e
	}
	return resp, nil
}

func (c *Client) filesURL(path string) string {
	return strings.TrimRight(c.o.Base, "/") + "/files?" + url.Values{"path": {path}, "username": {c.o.User}}.Encode()
}

// Download reads a file of at most limit bytes (<= 0: MaxMessage).
func (c *Client) Download(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.filesURL(path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if limit <= 0 || limit > MaxMessage {
		limit = MaxMessage
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// Upload writes a file (envd creates the parent directories); gz
// compresses the body (Content-Encoding: gzip, as the SDKs send it).
func (c *Client) Upload(ctx context.Context, path string, data []byte, gz bool) error {
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = b.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.filesURL(path), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// Health asks envd whether it is up.
func (c *Client) Health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.o.Base, "/")+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
