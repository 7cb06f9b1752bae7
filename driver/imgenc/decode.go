package imgenc

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	"github.com/vmservice/vmservice/sandbox"
)

// DecodePNG decodes a PNG frame (the e2b helper's, scrot's) into RGBA:
// RGB(A) PNGs already decode to *image.RGBA or *image.NRGBA. Those frames
// are made inside the sandbox, by programs sandbox code can replace or
// ptrace: a few bytes of PNG claiming a frame larger than any screen (it
// would decode to gigabytes) are refused before decoding allocates it.
func DecodePNG(data []byte) (*image.RGBA, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err == nil && (cfg.Width > sandbox.MaxWidth || cfg.Height > sandbox.MaxHeight) {
		err = fmt.Errorf("a frame of %dx%d, larger than any screen", cfg.Width, cfg.Height)
	}
	var img image.Image
	if err == nil {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the screenshot could not be decoded").WithCause(err)
	}
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba, nil
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out, nil
}

// PNGSize reads a PNG's dimensions from its header, without decoding it.
func PNGSize(data []byte) (w, h int, err error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the screenshot is not a PNG").WithCause(err)
	}
	return cfg.Width, cfg.Height, nil
}
