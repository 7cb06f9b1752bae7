// Package stream serves live views of sandbox desktops to browsers: the
// noVNC web client plus a WebSocket-to-RFB proxy, one unguessable URL per
// stream, guarded by a per-stream auth key.
package stream

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/sandbox"
)

// Config configures the stream service.
type Config struct {
	Listen    string // host:port for the stream HTTP listener; default "127.0.0.1:6080"; ":0" allowed in tests
	PublicURL string // base URL put in stream_url (e.g. https://desk.example.com); default http://<listen addr>
	Log       zerolog.Logger
}

// Options are what start_stream asks for.
type Options struct {
	WindowID    sandbox.WindowID // 0 = whole desktop
	RequireAuth bool             // default true at the tool layer
	Quality     string           // "low" | "medium" | "high" (default "medium")
	FrameRate   int              // 1-60, default 30
	ViewOnly    bool
}

// Info describes a running stream (the start_stream result).
type Info struct {
	SandboxID string           `json:"sandbox_id"`
	URL       string           `json:"stream_url"`
	AuthKey   string           `json:"auth_key,omitempty"`
	Quality   string           `json:"quality"`
	FrameRate int              `json:"frame_rate"`
	ViewOnly  bool             `json:"view_only"`
	WindowID  sandbox.WindowID `json:"window_id,omitempty"`
	StartedAt time.Time        `json:"started_at"`
}

// Service owns every stream and the HTTP handler that serves them.
type Service struct {
	cfg Config
}

// New validates cfg; it does not listen yet.
func New(cfg Config) (*Service, error) { return &Service{cfg: cfg}, nil }

// Start starts (or returns the existing) stream of sb.
func (s *Service) Start(ctx context.Context, sb *sandbox.Sandbox, o Options) (*Info, error) {
	return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "streaming is not implemented yet")
}

// Stop ends the stream of sandboxID.
func (s *Service) Stop(ctx context.Context, sandboxID string) error {
	return sandbox.Errorf(sandbox.CodeNotFound, "no stream is running for sandbox %q", sandboxID)
}

// Handler serves the viewer and its WebSocket under /stream/.
func (s *Service) Handler() http.Handler { return http.NotFoundHandler() }

// ListenAndServe serves Handler on cfg.Listen until ctx is done.
func (s *Service) ListenAndServe(ctx context.Context) error { <-ctx.Done(); return nil }

// Addr is the listening address once ListenAndServe has bound.
func (s *Service) Addr() string { return "" }

// Close stops every stream.
func (s *Service) Close() error { return nil }
