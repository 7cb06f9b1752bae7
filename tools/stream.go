package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetStream: live views of a sandbox's desktop in a browser.
const SetStream = "stream"

var _ = register(SetStream, startStream, stopStream)

// StartStreamArgs are start_stream's arguments.
type StartStreamArgs struct {
	SandboxRef
	WindowID    uint32 `json:"window_id,omitempty" jsonschema_description:"Only this window (default: the whole desktop)."`
	RequireAuth *bool  `json:"require_auth,omitempty" jsonschema:"default=true" jsonschema_description:"Viewers need auth_key."`
	Quality     string `json:"quality,omitempty" jsonschema:"enum=low,enum=medium,enum=high,default=medium" jsonschema_description:"low saves bandwidth, high is sharpest."`
	FrameRate   int    `json:"frame_rate,omitempty" jsonschema:"minimum=1,maximum=60,default=30" jsonschema_description:"Maximum frames per second."`
	ViewOnly    bool   `json:"view_only,omitempty" jsonschema_description:"Viewers can watch but not control the desktop."`
}

// StreamResult describes a running stream.
type StreamResult struct {
	SandboxID string    `json:"sandbox_id"`
	StreamURL string    `json:"stream_url" jsonschema_description:"Open in a browser to watch (and drive) the desktop live."`
	AuthKey   string    `json:"auth_key,omitempty" jsonschema_description:"Key the viewer needs when require_auth is true (already part of stream_url)."`
	Quality   string    `json:"quality"`
	FrameRate int       `json:"frame_rate"`
	ViewOnly  bool      `json:"view_only"`
	WindowID  uint32    `json:"window_id,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// Text is the short text block.
func (r StreamResult) Text() string { return fmt.Sprintf("stream of %s: %s", r.SandboxID, r.StreamURL) }

func (tb *Toolbox) streams() (Streams, error) {
	if tb.opts.Streams == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "live streaming is not available on this server (started with --no-stream, or its stream listener could not start; see the server log)")
	}
	return tb.opts.Streams, nil
}

func startStream(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "start_stream", Title: "Start live stream",
		Description: "Start (or return the running) live view of the sandbox desktop: a URL a person opens in a browser to watch and, unless view_only, drive it. " +
			"With require_auth the viewer needs auth_key.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: true, OpenWorld: true},
		Meta:  mcpapp.ToolMeta()},
		func(ctx context.Context, a *StartStreamArgs) (StreamResult, error) {
			ss, err := tb.streams()
			if err != nil {
				return StreamResult{}, err
			}
			sb, err := tb.Sandbox(ctx, a.SandboxID)
			if err != nil {
				return StreamResult{}, err
			}
			o := stream.Options{WindowID: sandbox.WindowID(a.WindowID), RequireAuth: a.RequireAuth == nil || *a.RequireAuth,
				Quality: a.Quality, FrameRate: a.FrameRate, ViewOnly: a.ViewOnly}
			if o.Quality == "" {
				o.Quality = "medium"
			}
			if o.FrameRate == 0 {
				o.FrameRate = 30
			}
			info, err := ss.Start(ctx, sb, o)
			if err != nil {
				return StreamResult{}, err
			}
			return StreamResult{SandboxID: info.SandboxID, StreamURL: info.URL, AuthKey: info.AuthKey, Quality: info.Quality,
				FrameRate: info.FrameRate, ViewOnly: info.ViewOnly, WindowID: uint32(info.WindowID), StartedAt: info.StartedAt}, nil
		})
}

func stopStream(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "stop_stream", Title: "Stop live stream",
		Description: "Stop the live view of a sandbox; its URL and key stop working.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, a *SandboxRef) (OK, error) {
			ss, err := tb.streams()
			if err != nil {
				return OK{}, err
			}
			sb, err := tb.Sandbox(ctx, a.SandboxID)
			if err != nil {
				return OK{}, err
			}
			return OK{OK: true}, ss.Stop(ctx, sb.ID())
		})
}
