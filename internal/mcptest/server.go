// Package mcptest is the harness shared by the MCP server's tests, the
// security tests, the soak and the benchmarks: a real server (in process or
// the built binary), mcp-go clients of a principal, tool calls decoded to
// their structured content, and counts of what a sandbox leaves on the
// host. The parts a command (soak, bench) needs return errors; the thin
// wrappers taking a testing.TB are for tests.
package mcptest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools"
)

// Options says how to build an in-process server.
type Options struct {
	Log      zerolog.Logger
	Local    local.Options // Log is set from Log
	Settings sandbox.Settings
	// Config of the MCP server; Log is set from Log, StdioPrincipal
	// defaults to "local".
	Config mcpserver.Config
	// Tokens, when set, are parsed as a --tokens-file into Config.Tokens.
	Tokens   string
	MaxSteps int // tools.Options.MaxSteps
	// HTTP serves the MCP server's HTTP transport on a loopback port (URL).
	HTTP bool
	// ShutdownTimeout bounds the HTTP shutdown in Close (10 s when 0).
	ShutdownTimeout time.Duration
}

// Server is a Manager over a real local backend, its stream service and
// the MCP server over them.
type Server struct {
	Provider *local.Provider
	Manager  *sandbox.Manager
	Streams  *stream.Service
	MCP      *mcpserver.Server
	URL      string // "http://127.0.0.1:port" when Options.HTTP

	stopHTTP, stopStreams func()
}

// Start builds and starts a server; Close ends it.
func Start(o Options) (_ *Server, err error) {
	s := &Server{}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	lo := o.Local
	lo.Log = o.Log
	if s.Provider, err = local.New(lo); err != nil {
		return nil, err
	}
	if s.Manager, err = sandbox.NewManager(s.Provider, o.Settings, o.Log); err != nil {
		return nil, err
	}
	if s.Streams, err = stream.New(stream.Config{Listen: "127.0.0.1:0", Log: o.Log}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = s.Streams.ListenAndServe(ctx) }()
	s.stopStreams = func() { cancel(); _ = s.Streams.Close() }
	s.Manager.OnDestroy = func(i sandbox.Info) { _ = s.Streams.Stop(context.Background(), i.SandboxID) }
	cfg := o.Config
	cfg.Log = o.Log
	if cfg.StdioPrincipal.ID == "" {
		cfg.StdioPrincipal = auth.Principal{ID: "local"}
	}
	if o.Tokens != "" {
		if cfg.Tokens, err = auth.ParseTokens(strings.NewReader(o.Tokens)); err != nil {
			return nil, err
		}
	}
	tb := tools.New(tools.Options{Manager: s.Manager, Streams: s.Streams, Log: o.Log, MaxSteps: o.MaxSteps})
	s.MCP = mcpserver.New(cfg, tb)
	if !o.HTTP {
		return s, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := s.MCP.NewHTTP()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	s.URL = "http://" + ln.Addr().String()
	grace := o.ShutdownTimeout
	if grace == 0 {
		grace = 10 * time.Second
	}
	s.stopHTTP = func() {
		sctx, scancel := context.WithTimeout(context.Background(), grace)
		defer scancel()
		h.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}
	return s, nil
}

// Close stops the HTTP server, destroys every sandbox (the Manager's
// error is returned) and stops the stream service.
// The HTTP side goes first (no call arrives at a closed Manager), the
// streams last (destroying a sandbox stops its stream).
func (s *Server) Close() error {
	if s.stopHTTP != nil {
		s.stopHTTP()
	}
	var err error
	if s.Manager != nil {
		err = s.Manager.Close()
	}
	if s.stopStreams != nil {
		s.stopStreams()
	}
	return err
}
