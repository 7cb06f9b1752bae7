// Package imgenc encodes and scales desktop frames (PNG / JPEG) quickly:
// PNG at BestSpeed with encoder state reused across frames, and a box-filter
// downscale with no per-pixel interface calls.
package imgenc

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vmservice/vmservice/sandbox"
)

// Format is an image encoding.
type Format string

// The formats Encode writes.
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
)

// ParseFormat is the one place a format name is normalised: "" and "png"
// are PNG, "jpeg" and "jpg" JPEG, in any case.
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(name) {
	case "", "png":
		return PNG, nil
	case "jpeg", "jpg":
		return JPEG, nil
	}
	return "", sandbox.InvalidArgument("format", "unknown image format %q: use png or jpeg", name).
		WithDetail("allowed", []string{string(PNG), string(JPEG)})
}

// MIME is the format's media type.
func (f Format) MIME() string { return "image/" + string(f) }

// Options choose the encoding.
type Options struct {
	Format  Format // PNG when empty; any spelling ParseFormat takes
	Quality int    // JPEG 1-100; 0 is DefaultJPEGQuality
}

// DefaultJPEGQuality is used when Options.Quality is 0.
const DefaultJPEGQuality = 80

// pool keeps png encoder state (deflate window, row buffers: about 1 MB)
// between frames.
type pool struct{ p sync.Pool }

func (p *pool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}
func (p *pool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pool{}}

// lastSize remembers the previous output size so the next frame's buffer
// is allocated once at about the right size instead of grown by doubling.
var lastSize atomic.Int64

// Encode encodes img. The returned bytes are the caller's.
func Encode(img *image.RGBA, o Options) ([]byte, error) {
	if err := validate(img, &o); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(lastSize.Load()) + 4096)
	var err error
	if o.Format == PNG {
		err = encodePNG(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: o.Quality})
	}
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeInternal, "encoding the image failed").WithCause(err)
	}
	lastSize.Store(int64(buf.Len()))
	return buf.Bytes(), nil
}

func validate(img *image.RGBA, o *Options) error {
	f, err := ParseFormat(string(o.Format))
	if err != nil {
		return err
	}
	o.Format = f
	if f == JPEG {
		if o.Quality == 0 {
			o.Quality = DefaultJPEGQuality
		}
		if o.Quality < 1 || o.Quality > 100 {
			return sandbox.InvalidArgument("quality", "JPEG quality %d: use 1 to 100", o.Quality)
		}
	}
	if img == nil || img.Rect.Empty() {
		return sandbox.InvalidArgument("image", "the image is empty")
	}
	return nil
}
