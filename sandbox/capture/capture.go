// Package capture is the one screenshot pipeline: check the region
// against the screen, capture it in order with the sandbox's input, scale,
// encode (driver/imgenc). The screenshot and computer tools, run_actions,
// the screen resource and the benchmarks all take images through Take.
package capture

import (
	"context"
	"image"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
)

// Shot asks for an image.
type Shot struct {
	Region  image.Rectangle    // empty = the whole screen
	ScaleTo sandbox.Resolution // zero = no scaling
	Format  imgenc.Format      // empty = PNG
	Quality int                // JPEG 1-100; 0 = imgenc.DefaultJPEGQuality
}

// Image is an encoded screenshot.
type Image struct {
	Width, Height             int // of the image
	ScreenWidth, ScreenHeight int // of the sandbox's screen
	Format                    imgenc.Format
	Data                      []byte
}

// MIME is the image's media type.
func (i *Image) MIME() string { return i.Format.MIME() }

// Take captures sb's screen as s asks, in order with the input before it.
func Take(ctx context.Context, sb *sandbox.Sandbox, s Shot) (*Image, error) {
	f, err := imgenc.ParseFormat(string(s.Format))
	if err != nil {
		return nil, err
	}
	out := &Image{Format: f}
	err = sb.Input(ctx, func(d sandbox.Desktop) error {
		size, err := d.ScreenSize(ctx)
		if err != nil {
			return err
		}
		out.ScreenWidth, out.ScreenHeight = size.Width, size.Height
		screen := image.Rect(0, 0, size.Width, size.Height)
		if !s.Region.Empty() && !s.Region.In(screen) {
			return sandbox.InvalidArgument("region", "region %dx%d+%d+%d is not inside the %dx%d screen",
				s.Region.Dx(), s.Region.Dy(), s.Region.Min.X, s.Region.Min.Y, size.Width, size.Height)
		}
		if ok, err := passThrough(ctx, d, s, f, screen, out); ok || err != nil {
			return err
		}
		img, err := d.Screenshot(ctx, s.Region)
		if err != nil {
			return err
		}
		if !s.ScaleTo.IsZero() && (s.ScaleTo.Width != img.Rect.Dx() || s.ScaleTo.Height != img.Rect.Dy()) {
			img = imgenc.Scale(img, s.ScaleTo.Width, s.ScaleTo.Height)
		}
		out.Width, out.Height = img.Rect.Dx(), img.Rect.Dy()
		// Encode before releasing the desktop: the frame buffer is reused.
		out.Data, err = imgenc.Encode(img, imgenc.Options{Format: f, Quality: s.Quality})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// passThrough fills out with the PNG the desktop already has, when PNG at
// the captured size is asked for and it has one: no decode, no encode.
func passThrough(ctx context.Context, d sandbox.Desktop, s Shot, f imgenc.Format, screen image.Rectangle, out *Image) (bool, error) {
	ps, ok := d.(sandbox.PNGSource)
	if !ok || f != imgenc.PNG {
		return false, nil
	}
	want := screen.Size()
	if !s.Region.Empty() {
		want = s.Region.Size()
	}
	if !s.ScaleTo.IsZero() && (s.ScaleTo.Width != want.X || s.ScaleTo.Height != want.Y) {
		return false, nil
	}
	data, ok, err := ps.ScreenshotPNG(ctx, s.Region)
	if err != nil || !ok {
		return false, err
	}
	// It was made inside the sandbox, by a program sandbox code can
	// replace: its header must say the size asked for (it bounds what the
	// client decodes).
	w, h, err := imgenc.PNGSize(data)
	if err == nil && (w != want.X || h != want.Y) {
		err = sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox sent a %dx%d frame for %dx%d", w, h, want.X, want.Y)
	}
	if err != nil {
		return false, err
	}
	out.Width, out.Height, out.Data = w, h, data
	return true, nil
}
