// Package mcpserver assembles vmservice's MCP server: the tools, resources
// and prompts over one sandbox Manager, the tenancy wiring (principal from
// the transport, sandboxes bound to the session that made them), metrics,
// and the stdio / SSE / streamable HTTP transports.
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/prompts"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/resources"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// Config configures the MCP layer.
type Config struct {
	// Toolsets to expose (tools.AllToolsets when empty).
	Toolsets []string
	// ReadOnly exposes only tools that change nothing.
	ReadOnly bool
	// StdioPrincipal is who a stdio client is.
	StdioPrincipal auth.Principal
	// Tokens maps HTTP/SSE bearer tokens to principals.
	Tokens *auth.Tokens
	// Anonymous, when its ID is set, is the principal of HTTP requests
	// without a token (only allowed on loopback listeners; see main).
	Anonymous auth.Principal
	// SessionIdleTimeout ends session-based streamable HTTP sessions (and
	// destroys their sandboxes) after this long without a request.
	SessionIdleTimeout time.Duration
	// RateLimit bounds each principal's HTTP request rate (ratelimit.go).
	RateLimit RateLimit
	// Unavailable, when set, is why the backend could not start: the
	// server still answers initialize and tools/list, and every tool call
	// gets this error (what is missing and the fix).
	Unavailable *sandbox.Error
	// Recordings, when set, gets every tool call on a sandbox it is
	// recording (the trajectory) and serves the recordings resources.
	Recordings *recording.Service
	// AppOrigins are the origins the MCP App may reach (mcpapp.ResourceMeta),
	// asked at every read of its resource; nil: none.
	AppOrigins func() []string
	Version    string
	Log        zerolog.Logger
}

// Server is the assembled MCP server.
type Server struct {
	MCP     *server.MCPServer
	Tools   *tools.Toolbox
	Metrics *Metrics
	cfg     Config
	log     zerolog.Logger

	// sessions maps each lasting MCP session (stdio, SSE, session-based
	// streamable HTTP) to the principal that opened it.
	sessions sync.Map
}

// Instructions is what the server tells clients at initialize / discover,
// including the one error shape of every tool.
var Instructions = "vmservice gives you isolated Linux desktops. Call create_sandbox first and pass its sandbox_id to every other tool. " +
	"Drive the desktop with the computer tool (each action answers with a screenshot once the screen is still), " +
	"start programs with launch_application or run_command, and destroy_sandbox when done. The computer_use prompt explains the workflow. " +
	"A failed call is an isError result whose structuredContent is {error_code, message, details}; error_code is one of " +
	codes() + " (output schemas describe successful results)."

func codes() string {
	var s []string
	for _, c := range toolkit.ErrorCodes {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}

// New assembles the server over tb.
func New(cfg Config, tb *tools.Toolbox) *Server {
	if len(cfg.Toolsets) == 0 {
		cfg.Toolsets = tools.AllToolsets
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{Tools: tb, cfg: cfg, log: cfg.Log, Metrics: NewMetrics(tb.Manager)}
	s.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vmservice_sessions",
		Help: "Open MCP sessions (stdio, SSE, session-based HTTP) whose end destroys their sandboxes."},
		func() float64 {
			n := 0
			s.sessions.Range(func(any, any) bool { n++; return true })
			return float64(n)
		}))

	hooks := &server.Hooks{}
	hooks.AddOnRegisterSession(func(ctx context.Context, sess server.ClientSession) {
		p, _ := auth.FromContext(ctx)
		s.sessions.Store(sess.SessionID(), p.ID)
		s.log.Debug().Str("session", sess.SessionID()).Str("principal", p.ID).Msg("session started")
	})
	hooks.AddOnUnregisterSession(func(ctx context.Context, sess server.ClientSession) {
		s.endSession(sess.SessionID())
	})

	s.MCP = server.NewMCPServer("vmservice", cfg.Version,
		server.WithTitle("vmservice: isolated Linux desktops for AI agents"),
		server.WithInstructions(Instructions),
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(completer{tb}),
		server.WithResourceCompletionProvider(completer{tb}),
		// mcp-go traces every request at info; keep those for --log-level debug.
		server.WithLogger(slog.New(zerolog.NewSlogHandler(quieter(cfg.Log)))),
		server.WithHooks(hooks),
		server.WithExtensions(map[string]any{mcpapp.Extension: mcpapp.ExtensionSettings()}),
		server.WithToolHandlerMiddleware(s.toolMiddleware),
		// Administrator tools are invisible (and uncallable) for others.
		server.WithToolFilter(func(ctx context.Context, ts []mcp.Tool) []mcp.Tool {
			p, _ := auth.FromContext(ctx)
			if p.Admin {
				return ts
			}
			out := ts[:0:0]
			for _, t := range ts {
				if d := tb.Get(t.Name); d == nil || !d.AdminOnly {
					out = append(out, t)
				}
			}
			return out
		}),
	)
	for _, t := range tb.Select(cfg.Toolsets, cfg.ReadOnly) {
		s.MCP.AddTool(t.MCP(), t.Handler())
	}
	resources.Register(s.MCP, tb.Env)
	if cfg.Recordings != nil {
		resources.RegisterRecordings(s.MCP, tb.Env, cfg.Recordings)
	}
	mcpapp.Register(s.MCP, cfg.AppOrigins)
	prompts.Register(s.MCP)
	return s
}

// quieter raises l to warn unless it logs debug.
func quieter(l zerolog.Logger) zerolog.Logger {
	if l.GetLevel() <= zerolog.DebugLevel {
		return l
	}
	return l.Level(max(l.GetLevel(), zerolog.WarnLevel))
}

// endSession destroys the sandboxes created in a session that ended.
func (s *Server) endSession(id string) {
	s.sessions.Delete(id)
	n := s.Tools.Manager.CleanupSession(context.Background(), id)
	ev := s.log.Debug()
	if n > 0 {
		ev = s.log.Info()
	}
	ev.Str("session", id).Int("destroyed", n).Msg("session ended")
}

// SessionOwner is the principal that opened a lasting session.
func (s *Server) SessionOwner(id string) (string, bool) {
	v, ok := s.sessions.Load(id)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// toolMiddleware binds the call to its lasting session (if any), records
// metrics and turns panics into INTERNAL results.
func (s *Server) toolMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		p, _ := auth.FromContext(ctx)
		if sess := server.ClientSessionFromContext(ctx); sess != nil && sess.SessionID() != "" {
			if owner, ok := s.SessionOwner(sess.SessionID()); ok && owner == p.ID {
				ctx = toolkit.WithSession(ctx, sess.SessionID())
			}
		}
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error().Str("tool", req.Params.Name).Interface("panic", r).Bytes("stack", debug.Stack()).Msg("tool panicked")
				res, err = errorResult(sandbox.Errorf(sandbox.CodeInternal, "internal error; see the server log")), nil
			}
			code := ""
			if res != nil && res.IsError {
				if m, ok := res.StructuredContent.(map[string]any); ok {
					code, _ = m["error_code"].(string)
				}
			}
			s.Metrics.observe(req.Params.Name, code, time.Since(start))
			s.trajectory(ctx, req, res, code, start)
			s.log.Debug().Str("tool", req.Params.Name).Str("principal", p.ID).Str("error_code", code).
				Dur("took", time.Since(start)).Msg("tool call")
		}()
		if s.cfg.Unavailable != nil {
			return errorResult(s.cfg.Unavailable), nil
		}
		return next(ctx, req)
	}
}

// errorResult is a tool's isError result for se, as the tools make theirs.
func errorResult(se *sandbox.Error) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, StructuredContent: se.ToDict(),
		Content: []mcp.Content{mcp.NewTextContent(fmt.Sprintf("%s: %s", se.Code, se.Message))}}
}

// trajectory adds a finished call to the recording of the sandbox it names
// (recording.Service.Record ignores sandboxes not being recorded), when that
// sandbox is the caller's: nobody writes into another tenant's trajectory.
// A round that only asks the client for input is not a call yet.
func (s *Server) trajectory(ctx context.Context, req mcp.CallToolRequest, res *mcp.CallToolResult, code string, start time.Time) {
	if s.cfg.Recordings == nil || res == nil || res.NeedsInput() {
		return
	}
	raw := req.Params.RawArguments
	if len(raw) == 0 && req.Params.Arguments != nil {
		raw, _ = json.Marshal(req.Params.Arguments)
	}
	var ref toolkit.SandboxRef
	if json.Unmarshal(raw, &ref) != nil || ref.SandboxID == "" {
		return
	}
	if _, err := s.Tools.Sandbox(ctx, ref.SandboxID); err != nil {
		return
	}
	var summary []byte
	if res.StructuredContent != nil {
		summary, _ = json.Marshal(res.StructuredContent)
	} else {
		for _, c := range res.Content {
			if t, ok := c.(mcp.TextContent); ok {
				summary, _ = json.Marshal(t.Text)
				break
			}
		}
	}
	s.cfg.Recordings.Record(ref.SandboxID, recording.Call{Tool: req.Params.Name, Arguments: raw, Start: start,
		Duration: time.Since(start), IsError: res.IsError, ErrorCode: code, Result: summary})
}
