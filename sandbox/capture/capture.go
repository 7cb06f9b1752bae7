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
