package sandbox

import (
	"context"
	"net"
	"time"
)

// Provider is a backend: something that can boot desktops. It never sees user
// ids; the Manager owns tenancy.
type Provider interface {
	// Name is the backend's name ("local", "e2b").
	Name() string
	// Create boots a sandbox for a validated, defaulted config. On error
	// nothing may be left behind. Labels are opaque key/values the backend
	// stores with the sandbox where it can (e2b metadata), so a restarted
	// server can find what it made.
	Create(ctx context.Context, cfg Config, labels map[string]string) (Instance, error)
	// Close releases backend-wide resources; instances are destroyed first
	// by the Manager.
	Close() error
}

// Instance is one live sandbox as a backend sees it. Methods are safe for
// concurrent use; input events from concurrent calls are delivered in the
// order the calls acquire the instance (the Manager serialises input).
type Instance interface {
	// ID is the backend's own identifier (not the public sandbox_id).
	ID() string
	// Details is extra, backend-specific info for get_sandbox_info (display,
	// input path, ...). It never contains host paths or secrets.
	Details() map[string]any
	// Alive reports whether the sandbox is still usable (e.g. its X server
	// is running); a non-nil error explains what broke.
	Alive(ctx context.Context) error
	// SetTimeout tells the backend the new expiry (e2b keeps its own timer).
	SetTimeout(ctx context.Context, d time.Duration) error
	// Destroy releases everything: processes, mounts, cgroups, directories.
	// It is idempotent.
	Destroy(ctx context.Context) error
	// Desktop is the sandbox's screen, mouse and keyboard. Callers go
	// through Sandbox.Input, which keeps concurrent input in order.
	Desktop() Desktop

	Files
	Commands
	Apps
	Streams
}

// FileEntry is one directory entry.
type FileEntry struct {
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	Type       string    `json:"type"` // "file", "dir", "symlink", "other"
	Size       int64     `json:"size"`
	ModifiedAt time.Time `json:"modified_at"`
}

// Files is the sandbox's own file system. Paths are sandbox paths; relative
// paths are relative to the working directory. A path that escapes the
// sandbox (.., symlinks to host files) is refused with PERMISSION_DENIED.
type Files interface {
	ReadFile(ctx context.Context, path string, maxBytes int64) ([]byte, error)
	WriteFile(ctx context.Context, path string, data []byte) error
	ListFiles(ctx context.Context, path string) ([]FileEntry, error)
	// OpenFile opens the file with its default desktop application.
	OpenFile(ctx context.Context, path string) error
}

// CommandRequest is one shell command, run with bash -c inside the sandbox.
type CommandRequest struct {
	Command     string
	Cwd         string
	Environment map[string]string
	Timeout     time.Duration
	Background  bool
	// MaxOutput bounds each of stdout and stderr; the rest is dropped and
	// Truncated set.
	MaxOutput int
	// Stdout / Stderr, when set, receive output as it arrives (progress).
	OnOutput func(stream string, chunk []byte)
}

// CommandResult is what a command left.
type CommandResult struct {
	ExitCode  int    `json:"exit_code"`
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	Truncated bool   `json:"truncated"`
	TimedOut  bool   `json:"timed_out"`
	PID       int    `json:"pid,omitempty"`
}

// Commands runs shell commands inside the sandbox.
type Commands interface {
	Run(ctx context.Context, req CommandRequest) (*CommandResult, error)
}

// LaunchResult says what was started for an application name.
type LaunchResult struct {
	Command string `json:"command"`
	PID     int    `json:"pid,omitempty"`
}

// Apps launches desktop applications by common name ("firefox",
// "google-chrome", "vscode", "terminal", "text-editor", "file-manager").
type Apps interface {
	Launch(ctx context.Context, app string, uri string) (*LaunchResult, error)
	// Applications lists the names Launch accepts on this sandbox.
	Applications(ctx context.Context) ([]string, error)
}

// StreamOptions configure a live view of the desktop.
type StreamOptions struct {
	WindowID  WindowID // 0 = whole desktop
	Password  string   // VNC password ("" = none)
	Quality   string   // low | medium | high
	FrameRate int
	ViewOnly  bool
}

// StreamEndpoint is where the VNC server of a stream can be reached.
// Exactly one of Dial (the server proxies RFB itself, local backend) and URL
// (the backend serves the viewer itself, e2b) is set.
type StreamEndpoint struct {
	Dial func(ctx context.Context) (net.Conn, error)
	URL  string
}

// Streams runs the VNC server behind a live stream.
type Streams interface {
	StartVNC(ctx context.Context, opts StreamOptions) (*StreamEndpoint, error)
	StopVNC(ctx context.Context) error
}
