package e2b

import (
	"context"
	"image"
	"testing"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/sandbox"
)

// BenchmarkDesktop compares the two input paths over envd (the emulator)
// in one run: the long-lived helper (one SendInput + streamed reply per
// action) and E2B Desktop's way (a bash -l -c "xdotool ..." / scrot
// process per action, screenshots downloaded through GET /files).
//
//	go test -run '^$' -bench Desktop -benchtime 50x ./backend/e2b/
func BenchmarkDesktop(b *testing.B) {
	e := startEmu(b, e2btest.Options{}, nil)
	withHelper := create(b, newProvider(b, e.options()), nil)
	o := e.options()
	o.NoHelper = true
	withXdotool := create(b, newProvider(b, o), nil)
	if withHelper.inputPath != "helper" || withXdotool.inputPath != "xdotool" {
		b.Fatalf("input paths: %s, %s", withHelper.inputPath, withXdotool.inputPath)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		in   *Instance
	}{{"helper", withHelper}, {"xdotool", withXdotool}} {
		b.Run("click/"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p := sandbox.Point{X: 10 + i%500, Y: 10 + i%300}
				if err := c.in.Desktop().Click(ctx, &p, sandbox.ButtonLeft, 1, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("screenshot/"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.in.Desktop().Screenshot(ctx, image.Rectangle{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What the screenshot tool does per call: the screen size (for the
		// region check and the result), then the frame.
		b.Run("tool-screenshot/"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.in.Desktop().ScreenSize(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := c.in.Desktop().Screenshot(ctx, image.Rectangle{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
