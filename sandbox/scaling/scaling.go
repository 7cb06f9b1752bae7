// Package scaling maps between a screen and the scaled image of it an agent
// sees: the image keeps the screen's aspect ratio (text is not squeezed),
// and a coordinate read off the image maps back to the screen pixels that
// image pixel shows, the same spans imgenc.Scale averages.
package scaling

import (
	"image"

	"github.com/vmservice/vmservice/sandbox"
)

// Fit is the size of the image an agent gets of a real screen: the largest
// size with the screen's aspect ratio that fits within box, never larger
// than the screen (Anthropic's computer-use scaling: one factor, min(1,
// box.W/real.W, box.H/real.H), each side truncated). Sides are at least 1.
func Fit(real, box sandbox.Resolution) sandbox.Resolution {
	if real.Width <= 0 || real.Height <= 0 || box.Width <= 0 || box.Height <= 0 {
		return real
	}
	if real.Width <= box.Width && real.Height <= box.Height {
		return real
	}
	return fitInto(real, box)
}

// Enlarge is the size a region of w x h pixels is shown at to fill
// display, keeping its aspect ratio: larger than the region when it is
// smaller than the display (zoom), smaller when it is larger.
func Enlarge(region, display sandbox.Resolution) sandbox.Resolution {
	if region.Width <= 0 || region.Height <= 0 || display.Width <= 0 || display.Height <= 0 {
		return region
	}
	return fitInto(region, display)
}

// fitInto scales r by one factor so that it touches box on one side and
// fits within it on the other (integer arithmetic: no float rounding makes
// 1280x800 into 1024x768 anything but 1024x640).
func fitInto(r, box sandbox.Resolution) sandbox.Resolution {
	var out sandbox.Resolution
	if int64(r.Width)*int64(box.Height) >= int64(r.Height)*int64(box.Width) {
		out = sandbox.Resolution{Width: box.Width, Height: int(int64(r.Height) * int64(box.Width) / int64(r.Width))}
	} else {
		out = sandbox.Resolution{Width: int(int64(r.Width) * int64(box.Height) / int64(r.Height)), Height: box.Height}
	}
	out.Width, out.Height = max(out.Width, 1), max(out.Height, 1)
	return out
}

// Map maps coordinates between a screen (Real) and an image of it (View).
// View pixel v shows screen pixels [v*R/V, (v+1)*R/V) on each axis
// (integer division), the spans imgenc.Scale averages.
type Map struct {
	Real, View sandbox.Resolution
}

// NewMap maps the screen real to its image fitted within box.
func NewMap(real, box sandbox.Resolution) Map {
	return Map{Real: real, View: Fit(real, box)}
}

// Scaled reports whether the view differs from the screen.
func (m Map) Scaled() bool { return m.Real != m.View }

// span is the screen pixels [lo, hi) view pixel v shows on one axis.
func span(v, real, view int) (lo, hi int) {
	lo = v * real / view
	hi = max((v+1)*real/view, lo+1)
	return lo, hi
}

// toReal maps one view coordinate to the middle of its span; the first
// and last view pixels map to the screen's edge pixels (still in their
// spans), so edge targets stay reachable.
func toReal(v, real, view int) int {
	switch {
	case real == view:
		return v
	case v <= 0:
		return 0
	case v >= view-1:
		return real - 1
	}
	lo, hi := span(v, real, view)
	return (lo + hi - 1) / 2
}

// fromReal maps one screen coordinate to the view pixel whose span holds
// it: the largest v with v*real/view <= x.
func fromReal(x, real, view int) int {
	if real == view {
		return x
	}
	v := ((x+1)*view - 1) / real
	return max(0, min(v, view-1))
}

// ToReal maps a point of the view (in range) to the screen pixel in the
// middle of the ones it shows.
func (m Map) ToReal(x, y int) sandbox.Point {
	return sandbox.Point{X: toReal(x, m.Real.Width, m.View.Width), Y: toReal(y, m.Real.Height, m.View.Height)}
}

// FromReal maps a screen pixel to the view pixel showing it.
func (m Map) FromReal(p sandbox.Point) (x, y int) {
	return fromReal(p.X, m.Real.Width, m.View.Width), fromReal(p.Y, m.Real.Height, m.View.Height)
}

// RectToReal maps a view rectangle (far corner exclusive) to the screen
// pixels its view pixels show.
func (m Map) RectToReal(r image.Rectangle) image.Rectangle {
	edge := func(v, real, view int) int {
		if real == view {
			return v
		}
		return v * real / view // the start of v's span; for the far corner, the end of v-1's
	}
	return image.Rect(edge(r.Min.X, m.Real.Width, m.View.Width), edge(r.Min.Y, m.Real.Height, m.View.Height),
		edge(r.Max.X, m.Real.Width, m.View.Width), edge(r.Max.Y, m.Real.Height, m.View.Height))
}
