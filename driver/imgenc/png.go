package imgenc

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
)

// A small PNG writer for opaque RGBA frames. image/png spends two thirds
// of its BestSpeed time choosing among five row filters (Paeth above all);
// desktop frames compress just as well choosing between Up and Sub, which
// are computed in the same pass that drops the alpha byte. Frames with
// transparency go to image/png.

type pngState struct {
	fw             *flate.Writer
	prev, up, sub  []byte // filter byte + 3 bytes per pixel
	cur            []byte
	zero           []byte
	header, footer [64]byte
}

// pngStates is a free list of encoder states (about 1.2 MB each, most of
// it the deflate window). Not a sync.Pool: that one is emptied by every
// other GC and the state would be rebuilt every few frames.
var pngStates = make(chan *pngState, 4)

func getState() *pngState {
	select {
	case st := <-pngStates:
		return st
	default:
		return new(pngState)
	}
}

func putState(st *pngState) {
	select {
	case pngStates <- st:
	default:
	}
}

var errNotOpaque = errors.New("image has transparency")

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// encodePNG appends the PNG encoding of img to dst.
func encodePNG(dst *bytes.Buffer, img *image.RGBA) error {
	st := getState()
	defer putState(st)
	start := dst.Len()
	err := st.encode(dst, img)
	if errors.Is(err, errNotOpaque) {
		dst.Truncate(start)
		return pngEncoder.Encode(dst, img)
	}
	return err
}

func (st *pngState) encode(dst *bytes.Buffer, img *image.RGBA) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	n := 1 + 3*w
	if cap(st.cur) < n {
		st.cur, st.prev, st.up, st.sub = make([]byte, n), make([]byte, n), make([]byte, n), make([]byte, n)
	}
	st.cur, st.prev, st.up, st.sub = st.cur[:n], st.prev[:n], st.up[:n], st.sub[:n]
	clear(st.prev)

	dst.Write(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8 // bit depth
	ihdr[9] = 2 // colour type: truecolour
	writeChunk(dst, "IHDR", ihdr[:])

	// IDAT: reserve length and type, stream zlib data after them, patch.
	idat := dst.Len()
	dst.Write([]byte{0, 0, 0, 0, 'I', 'D', 'A', 'T'})
	// zlib framing by hand (header, deflate, Adler-32) for the faster
	// checksum.
	dst.Write([]byte{0x78, 0x01})
	if st.fw == nil {
		fw, err := flate.NewWriter(dst, flate.BestSpeed)
		if err != nil {
			return err
		}
		st.fw = fw
	} else {
		st.fw.Reset(dst)
	}
	adler := uint32(1)
	if cap(st.zero) < n {
		st.zero = make([]byte, n)
	}
	st.zero = st.zero[:n]
	st.zero[0] = 2 // Up filter of a row equal to the one above: all zero
	base := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y)
	var above []byte
	for y := 0; y < h; y++ {
		row := img.Pix[base+y*img.Stride : base+y*img.Stride+4*w]
		out := st.zero
		// Desktops repeat rows a lot; memcmp is far cheaper than filtering.
		// st.prev keeps holding the RGB of the identical row above.
		if above == nil || !bytes.Equal(row, above) {
			var ok bool
			if out, ok = st.filterRow(row); !ok {
				return errNotOpaque
			}
			st.prev, st.cur = st.cur, st.prev
		}
		adler = adlerUpdate(adler, out)
		if _, err := st.fw.Write(out); err != nil {
			return err
		}
		above = row
	}
	if err := st.fw.Close(); err != nil {
		return err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], adler)
	dst.Write(sum[:])
	b := dst.Bytes()
	binary.BigEndian.PutUint32(b[idat:], uint32(len(b)-idat-8))
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(b[idat+4:]))
	dst.Write(crc[:])
	writeChunk(dst, "IEND", nil)
	return nil
}

// filterRow converts one RGBA row to RGB in st.cur and returns it
// filtered with Up or Sub, whichever costs less by the PNG heuristic (sum of
// absolute signed differences) measured on every fourth pixel. It reports
// false when a pixel is not opaque.
func (st *pngState) filterRow(row []byte) ([]byte, bool) {
	cur, prev := st.cur[1:], st.prev[1:]
	alpha := byte(0xff)
	j := 0
	for i := 0; i+4 <= len(row) && j+3 <= len(cur); i += 4 {
		p := row[i : i+4 : i+4]
		c := cur[j : j+3 : j+3]
		c[0], c[1], c[2] = p[0], p[1], p[2]
		alpha &= p[3]
		j += 3
	}
	if alpha != 0xff {
		return nil, false
	}
	sumUp, sumSub := 0, 0
	for j := 3; j+3 <= len(cur); j += 12 {
		c, q, l := cur[j:j+3:j+3], prev[j:j+3:j+3], cur[j-3:j:j]
		sumUp += abs8(c[0]-q[0]) + abs8(c[1]-q[1]) + abs8(c[2]-q[2])
		sumSub += abs8(c[0]-l[0]) + abs8(c[1]-l[1]) + abs8(c[2]-l[2])
	}
	if sumUp <= sumSub {
		up := st.up[1:]
		st.up[0] = 2
		for j := 0; j < len(cur) && j < len(prev) && j < len(up); j++ {
			up[j] = cur[j] - prev[j]
		}
		return st.up, true
	}
	sub := st.sub[1:]
	st.sub[0] = 1
	copy(sub[:3], cur[:3])
	for j := 3; j < len(cur) && j < len(sub); j++ {
		sub[j] = cur[j] - cur[j-3]
	}
	return st.sub, true
}

// abs8 is |int8(d)|, branch-free: rows of noise-like detail would
// otherwise mispredict on every byte.
func abs8(d byte) int {
	x := int(int8(d))
	m := x >> 63
	return (x ^ m) - m
}

func writeChunk(w io.Writer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	w.Write(hdr[:])
	w.Write(data)
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc.Sum32())
	w.Write(c[:])
}
