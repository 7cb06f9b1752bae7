package e2b

import (
	"bytes"
	"context"
	"image"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
)

// manager is a Manager over p with one sandbox on it.
func manager(t testing.TB, p *Provider) (*sandbox.Manager, *sandbox.Sandbox) {
	m, err := sandbox.NewManager(p, sandbox.Settings{}, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := m.Create(ctx, sandbox.CreateRequest{Owner: "shots", Config: sandbox.Config{Timeout: 10 * time.Minute}})
	require.NoError(t, err)
	return m, sb
}

// A PNG screenshot at the captured size is the sandbox's own PNG, handed
// on as it came (the helper's, scrot's); scaling or JPEG encode here.
func TestScreenshotPassesThrough(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	for _, path := range []string{"helper", "xdotool"} {
		t.Run(path, func(t *testing.T) {
			o := e.options()
			o.NoHelper = path == "xdotool"
			_, sb := manager(t, newProvider(t, o))
			ctx := context.Background()
			_, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Command: "xsetroot -solid '#336699'"})
			require.NoError(t, err)

			shot, err := capture.Take(ctx, sb, capture.Shot{})
			require.NoError(t, err)
			assert.Equal(t, [2]int{1024, 768}, [2]int{shot.Width, shot.Height})
			img, err := imgenc.DecodePNG(shot.Data)
			require.NoError(t, err)
			assert.Equal(t, [4]uint8{0x33, 0x66, 0x99, 0xff}, [4]uint8(img.Pix[:4]), "the screen's pixels")
			if path == "xdotool" {
				ours, err := imgenc.Encode(img, imgenc.Options{})
				require.NoError(t, err)
				assert.False(t, bytes.Equal(ours, shot.Data), "scrot's own PNG, not one encoded here")
			}

			shot, err = capture.Take(ctx, sb, capture.Shot{Region: image.Rect(10, 20, 110, 70)})
			require.NoError(t, err)
			w, h, err := imgenc.PNGSize(shot.Data)
			require.NoError(t, err)
			assert.Equal(t, [4]int{100, 50, 100, 50}, [4]int{shot.Width, shot.Height, w, h})

			shot, err = capture.Take(ctx, sb, capture.Shot{ScaleTo: sandbox.Resolution{Width: 512, Height: 384}})
			require.NoError(t, err)
			w, h, _ = imgenc.PNGSize(shot.Data)
			assert.Equal(t, [2]int{512, 384}, [2]int{w, h}, "scaled here")

			shot, err = capture.Take(ctx, sb, capture.Shot{Format: imgenc.JPEG})
			require.NoError(t, err)
			assert.Equal(t, []byte{0xff, 0xd8}, shot.Data[:2], "JPEG encoded here")
		})
	}
}

// BenchmarkScreenshotPassThrough: the screenshot tool's pipeline for a
// full-screen PNG on both input paths, side by side in one run: "decoded"
// is what it did before (the sandbox's PNG decoded, then encoded again
// here), "passed" hands the sandbox's PNG on as it came (capture.Take).
//
//	go test -run '^$' -bench ScreenshotPassThrough -benchtime 30x ./backend/e2b/
func BenchmarkScreenshotPassThrough(b *testing.B) {
	e := startEmu(b, e2btest.Options{}, nil)
	ctx := context.Background()
	for _, path := range []string{"helper", "xdotool"} {
		o := e.options()
		o.NoHelper = path == "xdotool"
		_, sb := manager(b, newProvider(b, o))
		// Something to encode: a terminal full of text over the background.
		_, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Background: true,
			Command: "xterm -geometry 160x50+0+0 -e 'ls -lR /usr/share | head -3000; sleep 600'"})
		require.NoError(b, err)
		b.Run("decoded/"+path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				err := sb.Input(ctx, func(d sandbox.Desktop) error {
					img, err := d.Screenshot(ctx, image.Rectangle{})
					if err == nil {
						_, err = imgenc.Encode(img, imgenc.Options{})
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("passed/"+path, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				shot, err := capture.Take(ctx, sb, capture.Shot{})
				if err != nil {
					b.Fatal(err)
				}
				n += len(shot.Data)
			}
			b.ReportMetric(float64(n)/float64(b.N), "B/shot")
		})
	}
}
