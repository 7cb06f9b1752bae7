package scaling

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
)

func res(w, h int) sandbox.Resolution { return sandbox.Resolution{Width: w, Height: h} }

func TestFit(t *testing.T) {
	xga := res(1024, 768)
	for _, tc := range []struct {
		real, box, want sandbox.Resolution
	}{
		{res(1024, 768), xga, res(1024, 768)},  // exact
		{res(800, 600), xga, res(800, 600)},    // smaller: never enlarged
		{res(1280, 800), xga, res(1024, 640)},  // 16:10 (was squeezed to 1024x768)
		{res(1280, 960), xga, res(1024, 768)},  // 4:3
		{res(1920, 1080), xga, res(1024, 576)}, // 16:9
		{res(1366, 768), xga, res(1024, 575)},  // 683:384, truncated as Anthropic's int()
		{res(2560, 1440), xga, res(1024, 576)}, // 16:9 large
		{res(3440, 1440), xga, res(1024, 428)}, // ultrawide
		{res(1080, 1920), xga, res(432, 768)},  // portrait: height binds
		{res(1024, 1000), xga, res(786, 768)},  // taller than the box only
		{res(1920, 1080), res(1280, 800), res(1280, 720)},
		{res(1280, 800), res(1280, 800), res(1280, 800)},
		{res(5000, 1), xga, res(1024, 1)}, // never a zero side
		{res(0, 0), xga, res(0, 0)},
	} {
		got := Fit(tc.real, tc.box)
		assert.Equal(t, tc.want, got, "%v in %v", tc.real, tc.box)
		if tc.real.Width > 0 {
			assert.LessOrEqual(t, got.Width, tc.box.Width)
			assert.LessOrEqual(t, got.Height, tc.box.Height)
			// The aspect ratio survives: within one pixel of truncation.
			assert.InDelta(t, float64(tc.real.Height)*float64(got.Width)/float64(tc.real.Width), float64(got.Height), 1.0)
		}
	}
}

func TestEnlarge(t *testing.T) {
	for _, tc := range []struct {
		region, display, want sandbox.Resolution
	}{
		{res(50, 31), res(1024, 768), res(1024, 634)}, // the 50x31 zoom
		{res(100, 100), res(1024, 640), res(640, 640)},
		{res(400, 50), res(1024, 576), res(1024, 128)},
		{res(1920, 1080), res(1024, 576), res(1024, 576)}, // a region larger than the display shrinks
		{res(1, 1), res(1024, 768), res(768, 768)},
	} {
		assert.Equal(t, tc.want, Enlarge(tc.region, tc.display), "%v on %v", tc.region, tc.display)
	}
}

func TestMapRoundTrip(t *testing.T) {
	for _, real := range []sandbox.Resolution{res(1280, 800), res(1920, 1080), res(1366, 768), res(3440, 1440), res(1080, 1920), res(1024, 768)} {
		m := NewMap(real, res(1024, 768))
		// Every view pixel maps to a screen pixel that maps back to it.
		for x := 0; x < m.View.Width; x++ {
			p := m.ToReal(x, 0)
			gx, _ := m.FromReal(p)
			require.Equal(t, x, gx, "%v: view x %d -> %d", real, x, p.X)
		}
		for y := 0; y < m.View.Height; y++ {
			p := m.ToReal(0, y)
			_, gy := m.FromReal(p)
			require.Equal(t, y, gy, "%v: view y %d -> %d", real, y, p.Y)
		}
		// Every screen pixel maps to a view pixel whose span holds it.
		for x := 0; x < real.Width; x++ {
			v, _ := m.FromReal(sandbox.Point{X: x})
			lo, hi := span(v, real.Width, m.View.Width)
			if m.Scaled() {
				require.True(t, lo <= x && x < hi, "%v: screen x %d -> view %d [%d,%d)", real, x, v, lo, hi)
			}
		}
		// Corners stay inside both.
		assert.Equal(t, sandbox.Point{X: 0, Y: 0}, m.ToReal(0, 0))
		assert.Equal(t, sandbox.Point{X: real.Width - 1, Y: real.Height - 1}, m.ToReal(m.View.Width-1, m.View.Height-1))
		assert.Equal(t, image.Rect(0, 0, real.Width, real.Height), m.RectToReal(image.Rect(0, 0, m.View.Width, m.View.Height)))
	}
}

// A small target on the screen, seen in the scaled image the agent gets,
// is hit by a click at the image pixel where it looks darkest.
func TestSmallTargetsAreHit(t *testing.T) {
	for _, real := range []sandbox.Resolution{res(1280, 800), res(1920, 1080), res(1366, 768), res(2560, 1440), res(3440, 1440), res(1080, 1920)} {
		m := NewMap(real, res(1024, 768))
		for _, target := range []image.Rectangle{
			image.Rect(7, 5, 10, 8), // 3x3 near the top-left
			image.Rect(real.Width-9, real.Height-6, real.Width-5, real.Height-2),         // 4x4 near the bottom-right
			image.Rect(real.Width/2+1, real.Height/3+2, real.Width/2+5, real.Height/3+5), // 4x3 at odd offsets
			image.Rect(333, 211, 336, 214),
		} {
			scr := image.NewRGBA(image.Rect(0, 0, real.Width, real.Height))
			for i := range scr.Pix {
				scr.Pix[i] = 0xff
			}
			for y := target.Min.Y; y < target.Max.Y; y++ {
				for x := target.Min.X; x < target.Max.X; x++ {
					o := scr.PixOffset(x, y)
					scr.Pix[o], scr.Pix[o+1], scr.Pix[o+2] = 0, 0, 0
				}
			}
			view := imgenc.Scale(scr, m.View.Width, m.View.Height)
			best, bx, by := 256*3, 0, 0
			for y := 0; y < m.View.Height; y++ {
				for x := 0; x < m.View.Width; x++ {
					o := view.PixOffset(x, y)
					if s := int(view.Pix[o]) + int(view.Pix[o+1]) + int(view.Pix[o+2]); s < best {
						best, bx, by = s, x, y
					}
				}
			}
			click := m.ToReal(bx, by)
			assert.True(t, image.Pt(click.X, click.Y).In(target), "%v: target %v seen at view (%d,%d), click lands at %v", real, target, bx, by, click)
			// And the target's own pixels are reported where the agent saw it.
			vx, vy := m.FromReal(sandbox.Point{X: target.Min.X + 1, Y: target.Min.Y + 1})
			assert.InDelta(t, bx, vx, 1)
			assert.InDelta(t, by, vy, 1)
		}
	}
}
