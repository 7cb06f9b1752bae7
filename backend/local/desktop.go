package local

import (
	"context"
	"image"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

// The desktop is driven over the X protocol by one x11.Conn per sandbox
// (driver/x11); these forward to it.

func (in *Instance) MoveMouse(ctx context.Context, p sandbox.Point) error {
	return in.desk.MoveMouse(ctx, p)
}

func (in *Instance) Click(ctx context.Context, p *sandbox.Point, b sandbox.Button, count int, modifiers []string) error {
	return in.desk.Click(ctx, p, b, count, modifiers)
}

func (in *Instance) MouseDown(ctx context.Context, b sandbox.Button) error {
	return in.desk.MouseDown(ctx, b)
}

func (in *Instance) MouseUp(ctx context.Context, b sandbox.Button) error {
	return in.desk.MouseUp(ctx, b)
}

func (in *Instance) Drag(ctx context.Context, from, to sandbox.Point, b sandbox.Button) error {
	return in.desk.Drag(ctx, from, to, b)
}

func (in *Instance) Scroll(ctx context.Context, p *sandbox.Point, dir sandbox.ScrollDirection, amount int, modifiers []string) error {
	return in.desk.Scroll(ctx, p, dir, amount, modifiers)
}

func (in *Instance) TypeText(ctx context.Context, text string, chunkSize int, delay time.Duration) (int, error) {
	return in.desk.TypeText(ctx, text, chunkSize, delay)
}

func (in *Instance) PressKeys(ctx context.Context, keys []string) error {
	return in.desk.PressKeys(ctx, keys)
}

func (in *Instance) KeyDown(ctx context.Context, key string) error { return in.desk.KeyDown(ctx, key) }

func (in *Instance) KeyUp(ctx context.Context, key string) error { return in.desk.KeyUp(ctx, key) }

func (in *Instance) CursorPosition(ctx context.Context) (sandbox.Point, error) {
	return in.desk.CursorPosition(ctx)
}

func (in *Instance) ScreenSize(ctx context.Context) (sandbox.Resolution, error) {
	return in.desk.ScreenSize(ctx)
}

func (in *Instance) Screenshot(ctx context.Context, region image.Rectangle) (*image.RGBA, error) {
	return in.desk.Screenshot(ctx, region)
}

func (in *Instance) CurrentWindow(ctx context.Context) (sandbox.WindowID, error) {
	return in.desk.CurrentWindow(ctx)
}

func (in *Instance) ApplicationWindows(ctx context.Context, app string) ([]sandbox.WindowID, error) {
	return in.desk.ApplicationWindows(ctx, app)
}

func (in *Instance) WindowTitle(ctx context.Context, id sandbox.WindowID) (string, error) {
	return in.desk.WindowTitle(ctx, id)
}
