package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
)

// ServeStdio serves one client on in/out until in closes or ctx ends. The
// stdio session ends then, and the sandboxes created in it are destroyed.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	st := server.NewStdioServer(s.MCP)
	st.SetErrorLogger(log.New(zerologWriter{s.log}, "", 0))
	err := st.Listen(auth.WithPrincipal(ctx, s.cfg.StdioPrincipal), in, out)
	if errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

type zerologWriter struct{ l zerolog.Logger }

func (w zerologWriter) Write(p []byte) (int, error) {
	w.l.Warn().Str("component", "stdio").Msg(string(p))
	return len(p), nil
}

// HTTP is the HTTP face of the server: streamable HTTP at /mcp, SSE at /sse
// (+ /message), /healthz and /metrics.
type HTTP struct {
	s          *Server
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	mux        *http.ServeMux
	limit      *rateLimiter
}

// NewHTTP builds the HTTP handler.
func (s *Server) NewHTTP() *HTTP {
	sl := slog.New(zerolog.NewSlogHandler(s.log))
	h := &HTTP{s: s, mux: http.NewServeMux(), limit: newRateLimiter(s.cfg.RateLimit)}
	h.streamable = server.NewStreamableHTTPServer(s.MCP,
		server.WithEndpointPath("/mcp"),
		server.WithSessionIdleTTL(s.cfg.SessionIdleTimeout),
		server.WithStreamableHTTPLogger(sl),
	)
	h.sse = server.NewSSEServer(s.MCP,
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		// A relative endpoint keeps working behind a reverse proxy.
		server.WithUseFullURLForMessageEndpoint(false),
		server.WithKeepAlive(true),
	)
	h.mux.Handle("/mcp", h.authenticate(h.streamable, func(r *http.Request) string { return r.Header.Get(server.HeaderKeySessionID) }))
	h.mux.Handle("/sse", h.authenticate(h.sse, nil))
	h.mux.Handle("/message", h.authenticate(h.sse, func(r *http.Request) string { return r.URL.Query().Get("sessionId") }))
	h.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		h := map[string]any{"status": "ok", "backend": s.Tools.Manager.Backend(), "version": s.cfg.Version}
		if u := s.cfg.Unavailable; u != nil {
			// Up but unable to make sandboxes: not healthy for a load balancer.
			h["status"], h["error"] = "backend_unavailable", u.Message
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	h.mux.Handle("/metrics", s.Metrics.Handler())
	return h
}

// ServeHTTP implements http.Handler.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Shutdown ends every HTTP/SSE session (destroying their sandboxes).
func (h *HTTP) Shutdown(ctx context.Context) {
	_ = h.streamable.Shutdown(ctx)
	_ = h.sse.Shutdown(ctx)
}

// authenticate maps the bearer token to a principal (401 without a valid
// one, unless anonymous access is configured) and refuses to let one
// principal use another's session (404, as for an unknown session).
func (h *HTTP) authenticate(next http.Handler, sessionOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		tok := auth.BearerToken(r)
		var owner string
		ending := false
		if r.Method == http.MethodDelete && sessionOf != nil {
			owner, ending = h.s.SessionOwner(sessionOf(r))
		}
		switch {
		case tok != "":
			var ok bool
			if p, ok = h.s.cfg.Tokens.Lookup(tok); !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vmservice", error="invalid_token"`)
				httpError(w, http.StatusUnauthorized, "AUTHENTICATION_FAILED", "the bearer token is not valid")
				return
			}
		case ending:
			// Ending a session needs only its (unguessable) id: some
			// clients, mcp-go's among them, send DELETE without their
			// Authorization header.
			p = auth.Principal{ID: owner}
		case h.s.cfg.Anonymous.ID != "":
			p = h.s.cfg.Anonymous
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="vmservice"`)
			httpError(w, http.StatusUnauthorized, "AUTHENTICATION_FAILED", "send Authorization: Bearer <token>")
			return
		}
		if sessionOf != nil {
			if sid := sessionOf(r); sid != "" {
				if owner, ok := h.s.SessionOwner(sid); ok && owner != p.ID {
					httpError(w, http.StatusNotFound, "SESSION_NOT_FOUND", "session not found")
					return
				}
			}
		}
		release, ok := h.limit.admit(w, r, p.ID)
		if !ok {
			return
		}
		defer release()
		// Bound request bodies (write_file content travels base64-encoded).
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// maxBody bounds one HTTP request body.
const maxBody = 64 << 20

func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg})
}
