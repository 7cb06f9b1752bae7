package imgenc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// desktopLike is a frame with what desktops have: flat areas, gradients,
// and small high-contrast detail (text).
func desktopLike(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewSource(1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255}
			if y > h/4 && y < h*3/4 && x > w/8 && x < w*7/8 {
				c = color.RGBA{250, 250, 250, 255}
				if (y/14)%2 == 0 && rng.Intn(3) == 0 {
					c = color.RGBA{20, 20, 20, 255}
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestEncodePNG(t *testing.T) {
	img := desktopLike(320, 200)
	// Runs of identical rows (the memcmp shortcut) next to changing ones.
	for y := 150; y < 170; y++ {
		copy(img.Pix[y*img.Stride:(y+1)*img.Stride], img.Pix[149*img.Stride:150*img.Stride])
	}
	for i := 0; i < 3; i++ { // reused encoder state gives the same result
		b, err := Encode(img, Options{Format: "png"})
		require.NoError(t, err)
		got, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		require.Equal(t, img.Bounds(), got.Bounds())
		for y := 0; y < 200; y++ {
			for x := 0; x < 320; x++ {
				r1, g1, b1, a1 := img.At(x, y).RGBA()
				r2, g2, b2, a2 := got.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
					t.Fatalf("pixel (%d,%d) differs: %v vs %v", x, y, img.At(x, y), got.At(x, y))
				}
			}
		}
	}
	b, err := Encode(img, Options{}) // default format
	require.NoError(t, err)
	require.Equal(t, []byte("\x89PNG"), b[:4])
	b2, err := Encode(img, Options{Format: "PNG"})
	require.NoError(t, err)
	require.Equal(t, b, b2)
}

func TestEncodeJPEG(t *testing.T) {
	img := desktopLike(320, 200)
	small, err := Encode(img, Options{Format: "jpeg", Quality: 20})
	require.NoError(t, err)
	big, err := Encode(img, Options{Format: "jpg"})
	require.NoError(t, err)
	require.Less(t, len(small), len(big), "quality matters")
	got, err := jpeg.Decode(bytes.NewReader(big))
	require.NoError(t, err)
	require.Equal(t, img.Bounds(), got.Bounds())
	r, g, b, _ := got.At(5, 5).RGBA()
	want := img.RGBAAt(5, 5)
	require.InDelta(t, float64(want.R), float64(r>>8), 12)
	require.InDelta(t, float64(want.G), float64(g>>8), 12)
	require.InDelta(t, float64(want.B), float64(b>>8), 12)
	require.Equal(t, "image/jpeg", JPEG.MIME())
	require.Equal(t, "image/png", PNG.MIME())
	for name, want := range map[string]Format{"": PNG, "PNG": PNG, "jpg": JPEG, "JPEG": JPEG} {
		got, err := ParseFormat(name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	_, err = ParseFormat("gif")
	require.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
}

func TestEncodeErrors(t *testing.T) {
	img := desktopLike(8, 8)
	for _, tc := range []struct {
		o     Options
		field string
	}{
		{Options{Format: "gif"}, "format"},
		{Options{Format: "jpeg", Quality: 101}, "quality"},
		{Options{Format: "jpeg", Quality: -1}, "quality"},
	} {
		_, err := Encode(img, tc.o)
		require.Error(t, err)
		se := err.(*sandbox.Error)
		require.Equal(t, sandbox.CodeInvalidArgument, se.Code)
		require.Equal(t, tc.field, se.Details["field"])
	}
	_, err := Encode(nil, Options{})
	require.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	_, err = Encode(image.NewRGBA(image.Rect(0, 0, 0, 0)), Options{})
	require.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
}

func TestScale(t *testing.T) {
	t.Run("box average", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 4, 2))
		vals := []uint8{0, 100, 200, 40, 10, 110, 210, 50}
		for i, v := range vals {
			src.SetRGBA(i%4, i/4, color.RGBA{v, v, v, 255})
		}
		dst := Scale(src, 2, 1)
		require.Equal(t, image.Rect(0, 0, 2, 1), dst.Bounds())
		require.Equal(t, color.RGBA{55, 55, 55, 255}, dst.RGBAAt(0, 0))    // (0+100+10+110)/4
		require.Equal(t, color.RGBA{125, 125, 125, 255}, dst.RGBAAt(1, 0)) // (200+40+210+50)/4
	})
	t.Run("uneven ratio keeps flat colour", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
		for i := range src.Pix {
			src.Pix[i] = []uint8{12, 34, 56, 255}[i%4]
		}
		dst := Scale(src, 1366, 768)
		require.Equal(t, image.Rect(0, 0, 1366, 768), dst.Bounds())
		for _, p := range []image.Point{{0, 0}, {1365, 767}, {700, 300}} {
			require.Equal(t, color.RGBA{12, 34, 56, 255}, dst.RGBAAt(p.X, p.Y))
		}
	})
	t.Run("edges land where they should", func(t *testing.T) {
		src := desktopLike(1024, 768)
		src.Rect = image.Rect(0, 0, 1024, 768)
		// Left half black, right half white.
		for y := 0; y < 768; y++ {
			for x := 0; x < 1024; x++ {
				v := uint8(0)
				if x >= 512 {
					v = 255
				}
				src.SetRGBA(x, y, color.RGBA{v, v, v, 255})
			}
		}
		dst := Scale(src, 640, 480)
		require.Equal(t, uint8(0), dst.RGBAAt(319, 100).R)
		require.Equal(t, uint8(255), dst.RGBAAt(320, 100).R)
	})
	t.Run("upscale repeats pixels", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 2, 1))
		src.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255})
		src.SetRGBA(1, 0, color.RGBA{0, 0, 255, 255})
		dst := Scale(src, 4, 2)
		require.Equal(t, color.RGBA{255, 0, 0, 255}, dst.RGBAAt(1, 1))
		require.Equal(t, color.RGBA{0, 0, 255, 255}, dst.RGBAAt(2, 0))
	})
	t.Run("shrink one way, grow the other", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 4, 1))
		for x, v := range []uint8{10, 30, 100, 200} {
			src.SetRGBA(x, 0, color.RGBA{v, 0, 0, 255})
		}
		dst := Scale(src, 2, 3)
		for y := 0; y < 3; y++ {
			require.Equal(t, uint8(20), dst.RGBAAt(0, y).R)
			require.Equal(t, uint8(150), dst.RGBAAt(1, y).R)
		}
		dst = Scale(image.NewRGBA(image.Rect(0, 0, 1, 4)), 3, 2)
		require.Equal(t, image.Rect(0, 0, 3, 2), dst.Bounds())
	})
	t.Run("sub-image source", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 10, 10))
		for y := 0; y < 10; y++ {
			for x := 0; x < 10; x++ {
				src.SetRGBA(x, y, color.RGBA{uint8(x * 10), uint8(y * 10), 0, 255})
			}
		}
		sub := src.SubImage(image.Rect(4, 6, 6, 8)).(*image.RGBA)
		dst := Scale(sub, 1, 1)
		require.Equal(t, color.RGBA{45, 65, 0, 255}, dst.RGBAAt(0, 0))
	})
	t.Run("degenerate", func(t *testing.T) {
		require.Nil(t, Scale(nil, 10, 10))
		require.Nil(t, Scale(image.NewRGBA(image.Rect(0, 0, 4, 4)), 0, 10))
		require.Nil(t, Scale(image.NewRGBA(image.Rect(0, 0, 0, 0)), 10, 10))
	})
}

func BenchmarkEncodePNG1024x768(b *testing.B)  { benchEncode(b, 1024, 768, Options{Format: "png"}) }
func BenchmarkEncodeJPEG1024x768(b *testing.B) { benchEncode(b, 1024, 768, Options{Format: "jpeg"}) }
func BenchmarkEncodePNG1920x1080(b *testing.B) { benchEncode(b, 1920, 1080, Options{Format: "png"}) }
func BenchmarkEncodeJPEG1920x1080(b *testing.B) {
	benchEncode(b, 1920, 1080, Options{Format: "jpeg"})
}

func benchEncode(b *testing.B, w, h int, o Options) {
	img := desktopLike(w, h)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := Encode(img, o)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n)/1024, "KiB/frame")
}

func BenchmarkScale1920x1080to1024x768(b *testing.B) {
	src := desktopLike(1920, 1080)
	b.ReportAllocs()
	for b.Loop() {
		Scale(src, 1024, 768)
	}
}

func BenchmarkScale1024x768to800x600(b *testing.B) {
	src := desktopLike(1024, 768)
	b.ReportAllocs()
	for b.Loop() {
		Scale(src, 800, 600)
	}
}

func TestEncodePNGTransparentAndSubImage(t *testing.T) {
	img := desktopLike(64, 48)
	img.SetRGBA(3, 4, color.RGBA{10, 20, 30, 128}) // premultiplied, half transparent
	b, err := Encode(img, Options{})
	require.NoError(t, err)
	got, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	_, _, _, a := got.At(3, 4).RGBA()
	require.Equal(t, uint32(128), a>>8, "alpha kept (image/png path)")

	sub := desktopLike(64, 48).SubImage(image.Rect(10, 5, 30, 25)).(*image.RGBA)
	b, err = Encode(sub, Options{})
	require.NoError(t, err)
	got, err = png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 20, 20), got.Bounds())
	for y := 0; y < 20; y++ {
		for x := 0; x < 20; x++ {
			r1, g1, b1, _ := sub.At(10+x, 5+y).RGBA()
			r2, g2, b2, _ := got.At(x, y).RGBA()
			require.Equal(t, []uint32{r1, g1, b1}, []uint32{r2, g2, b2})
		}
	}
}

func BenchmarkEncodePNGStdlib1024x768(b *testing.B) {
	img := desktopLike(1024, 768)
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := pngEncoder.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1024, "KiB/frame")
}

// TestPNGStructure checks what image/png's decoder lets slide: every chunk
// CRC and the zlib stream's own checksum (read to EOF).
func TestPNGStructure(t *testing.T) {
	img := desktopLike(300, 100)
	b, err := Encode(img, Options{})
	require.NoError(t, err)
	require.Equal(t, pngSignature, b[:8])
	p := b[8:]
	var types []string
	var idat []byte
	for len(p) > 0 {
		require.GreaterOrEqual(t, len(p), 12)
		n := int(binary.BigEndian.Uint32(p))
		typ := string(p[4:8])
		types = append(types, typ)
		require.Equal(t, crc32.ChecksumIEEE(p[4:8+n]), binary.BigEndian.Uint32(p[8+n:]), "CRC of %s", typ)
		if typ == "IDAT" {
			idat = append(idat, p[8:8+n]...)
		}
		p = p[12+n:]
	}
	require.Equal(t, []string{"IHDR", "IDAT", "IEND"}, types)
	zr, err := zlib.NewReader(bytes.NewReader(idat))
	require.NoError(t, err)
	raw, err := io.ReadAll(zr) // fails on a bad Adler-32
	require.NoError(t, err)
	require.Len(t, raw, 100*(1+300*3))
}
