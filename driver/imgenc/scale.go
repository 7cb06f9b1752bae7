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

	// Source column span [x0s[x], x0s[x+1]) of each destination column,
	// at least one pixel wide.
	x0s := make([]int, w+1)
	for x := 0; x <= w; x++ {
		x0s[x] = x * sw / w
	}
	down := w <= sw
	// When shrinking, every source column feeds exactly one destination
	// column: one linear pass over each source row scatters into it.
	var dx []int32
	if down {
		dx = make([]int32, sw)
		for x := 0; x < w; x++ {
			for sx := x0s[x]; sx < x0s[x+1]; sx++ {
				dx[sx] = int32(x * 4)
			}
		}
	}
	acc := make([]uint32, w*4) // running sums for one destination row
	base := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y)
	for y := 0; y < h; y++ {
		y0, y1 := y*sh/h, (y+1)*sh/h
		if y1 <= y0 {
			y1 = y0 + 1
		}
		clear(acc)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[base+sy*src.Stride : base+sy*src.Stride+sw*4]
			if down {
				for sx, d := range dx {
					p := row[sx*4 : sx*4+4 : sx*4+4]
					s := acc[d : d+4 : d+4]
					s[0] += uint32(p[0])
					s[1] += uint32(p[1])
					s[2] += uint32(p[2])
					s[3] += uint32(p[3])
				}
				continue
			}
			for x := 0; x < w; x++ {
				a := x0s[x]
				p := row[a*4 : a*4+4 : a*4+4]
				s := acc[x*4 : x*4+4 : x*4+4]
				s[0] += uint32(p[0])
				s[1] += uint32(p[1])
				s[2] += uint32(p[2])
				s[3] += uint32(p[3])
			}
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
		rows := uint32(y1 - y0)
		for x := 0; x < w; x++ {
			n := rows
			if down {
				n *= uint32(x0s[x+1] - x0s[x])
			}
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
