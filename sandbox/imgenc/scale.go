package imgenc

import "image"

// Scale returns a new w x h image: src downscaled with an area (box)
// filter, each destination pixel the mean of the source pixels it covers.
// Upscaling (any dimension larger than the source) repeats pixels
// (nearest neighbour). It returns nil when w or h is not positive or src
// is empty.
func Scale(src *image.RGBA, w, h int) *image.RGBA {
	if src == nil || w <= 0 || h <= 0 || src.Rect.Empty() {
		return nil
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))

	// Source column span of each destination column.
	x0s := make([]int, w+1)
	for x := 0; x <= w; x++ {
		x0s[x] = x * sw / w
	}
	// Running sums for one destination row, 4 channels per column.
	acc := make([]uint32, w*4)
	base := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y)
	for y := 0; y < h; y++ {
		y0, y1 := y*sh/h, (y+1)*sh/h
		if y1 <= y0 {
			y1 = y0 + 1
		}
		clear(acc)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[base+sy*src.Stride : base+sy*src.Stride+sw*4]
			for x := 0; x < w; x++ {
				a, b := x0s[x], x0s[x+1]
				if b <= a {
					b = a + 1
				}
				var r, g, bl, al uint32
				for i := a * 4; i < b*4; i += 4 {
					p := row[i : i+4 : i+4]
					r += uint32(p[0])
					g += uint32(p[1])
					bl += uint32(p[2])
					al += uint32(p[3])
				}
				s := acc[x*4 : x*4+4 : x*4+4]
				s[0] += r
				s[1] += g
				s[2] += bl
				s[3] += al
			}
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
		for x := 0; x < w; x++ {
			a, b := x0s[x], x0s[x+1]
			if b <= a {
				b = a + 1
			}
			n := uint32((b - a) * (y1 - y0))
			half := n / 2
			s := acc[x*4 : x*4+4 : x*4+4]
			o := out[x*4 : x*4+4 : x*4+4]
			o[0] = uint8((s[0] + half) / n)
			o[1] = uint8((s[1] + half) / n)
			o[2] = uint8((s[2] + half) / n)
			o[3] = uint8((s[3] + half) / n)
		}
	}
	return dst
}
