package securitytest

import (
	"context"
	"image"
	"testing"

	"github.com/vmservice/vmservice/sandbox"
)

// BenchmarkScreenshotGrab is the raw grab of a 1024x768 screen (no
// encoding) on the local backend: what the X server's IPC namespace (MIT-SHM
// or GetImage) costs.
func BenchmarkScreenshotGrab(b *testing.B) {
	e, err := newEnv()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	sb, err := e.Manager.Create(ctx, sandbox.CreateRequest{Owner: "bench", Config: sandbox.Config{MemoryMB: 1024, CPUCount: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sb.Input(ctx, func(d sandbox.Desktop) error {
			_, err := d.Screenshot(ctx, image.Rectangle{})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
