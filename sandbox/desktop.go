package sandbox

import (
	"context"
	"image"
	"time"
)

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

// PNGSource is a Desktop that may hold a screenshot already encoded as
// PNG (the e2b backend's helper encodes inside the sandbox, scrot writes a
// file): when PNG at the captured size is asked for, capture hands it on
// as it is instead of decoding it and encoding it again. ok is false when
// it has none for region (capture with Screenshot then).
type PNGSource interface {
	ScreenshotPNG(ctx context.Context, region image.Rectangle) (png []byte, ok bool, err error)
}

// WindowID is an X11 window id.
type WindowID uint32
