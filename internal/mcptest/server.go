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
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/wiring"
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

// Server is a server built as the binary builds it (internal/wiring) over
// a real local backend, with its stream service on a free loopback port.
type Server struct {
	*wiring.Server
	URL string // "http://127.0.0.1:port" when Options.HTTP

	http  *wiring.HTTP
	grace time.Duration
}

// Start builds and starts a server; Close ends it.
func Start(o Options) (_ *Server, err error) {
	cfg := o.Config
	if cfg.StdioPrincipal.ID == "" {
		cfg.StdioPrincipal = auth.Principal{ID: "local"}
	}
	if o.Tokens != "" {
		if cfg.Tokens, err = auth.ParseTokens(strings.NewReader(o.Tokens)); err != nil {
			return nil, err
		}
	}
	ws, err := wiring.Build(wiring.Options{Local: o.Local, Settings: o.Settings,
		Stream: stream.Config{Listen: "127.0.0.1:0"}, Tools: tools.Options{MaxSteps: o.MaxSteps},
		Server: cfg, Log: o.Log})
	if err != nil {
		return nil, err
	}
	s := &Server{Server: ws, grace: o.ShutdownTimeout}
	if s.grace == 0 {
		s.grace = 10 * time.Second
	}
	if !o.HTTP {
		return s, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.http = ws.ServeHTTP(ln)
	s.URL = s.http.URL
	return s, nil
}

// Close stops the HTTP server, destroys every sandbox (the Manager's
// error is returned) and stops the stream service.
// The HTTP side goes first (no call arrives at a closed Manager), the
// streams last (destroying a sandbox stops its stream).
func (s *Server) Close() error {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.grace)
		defer cancel()
		s.http.Shutdown(ctx)
	}
	return s.Server.Close()
}
