package sandbox

import (
	"context"
	"image"
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

	Desktop
	Files
	Commands
	Apps
	Streams
}

// Button is a mouse button.
type Button string

const (
	ButtonLeft   Button = "left"
	ButtonRight  Button = "right"
	ButtonMiddle Button = "middle"
)

// ScrollDirection is where the content moves under the wheel.
type ScrollDirection string

const (
	ScrollUp    ScrollDirection = "up"
	ScrollDown  ScrollDirection = "down"
	ScrollLeft  ScrollDirection = "left"
	ScrollRight ScrollDirection = "right"
)

// Point is a screen position in pixels.
type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// Desktop is the X11 desktop of a sandbox. Coordinates are screen pixels.
type Desktop interface {
	MoveMouse(ctx context.Context, p Point) error
	// Click moves to p (when non-nil) and clicks count times (1 single,
	// 2 double, 3 triple) while the modifier keys are held.
	Click(ctx context.Context, p *Point, b Button, count int, modifiers []string) error
	MouseDown(ctx context.Context, b Button) error
	MouseUp(ctx context.Context, b Button) error
	Drag(ctx context.Context, from, to Point, b Button) error
	// Scroll turns the wheel amount notches at p (when non-nil) with the
	// modifier keys held.
	Scroll(ctx context.Context, p *Point, dir ScrollDirection, amount int, modifiers []string) error
	// TypeText types text (any Unicode) in chunks of chunkSize runes with
	// delay between chunks; it returns the number of runes typed.
	TypeText(ctx context.Context, text string, chunkSize int, delay time.Duration) (int, error)
	// PressKeys presses the keys together (in order) and releases them in
	// reverse order: one key is a plain press, ["ctrl","c"] a combination.
	// A key may itself be a combination ("ctrl+c", "ctrl++"), split the
	// way x11.ParseKey does, so callers pass agents' key strings through.
	PressKeys(ctx context.Context, keys []string) error
	// KeyDown / KeyUp hold and release one key or combination (hold_key).
	KeyDown(ctx context.Context, key string) error
	KeyUp(ctx context.Context, key string) error
	CursorPosition(ctx context.Context) (Point, error)
	ScreenSize(ctx context.Context) (Resolution, error)
	// Screenshot captures region (the whole screen when empty). The image
	// is only valid until the next Screenshot call on the same instance
	// (buffers are reused).
	Screenshot(ctx context.Context, region image.Rectangle) (*image.RGBA, error)
	CurrentWindow(ctx context.Context) (WindowID, error)
	// ApplicationWindows lists the top-level windows whose WM_CLASS
	// (instance or class) or title matches app, case-insensitively.
	ApplicationWindows(ctx context.Context, app string) ([]WindowID, error)
	WindowTitle(ctx context.Context, id WindowID) (string, error)
}

// WindowID is an X11 window id.
type WindowID uint32

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
