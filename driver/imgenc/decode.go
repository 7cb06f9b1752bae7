package imgenc

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"

	"github.com/vmservice/vmservice/sandbox"
)

// DecodePNG decodes a PNG frame (the e2b helper's, scrot's) into RGBA:
// RGB(A) PNGs already decode to *image.RGBA or *image.NRGBA.
func DecodePNG(data []byte) (*image.RGBA, error) {
	img, err := png.Decode(bytes.NewReader(data))
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
