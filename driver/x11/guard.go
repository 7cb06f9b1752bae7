package x11

import (
	"fmt"

	"github.com/jezek/xgb"
)

// MaxReply bounds one message from the X server. The X server runs beside
// the sandbox's code, which may subvert it through the X protocol; xgb
// allocates whatever length a reply header claims (up to 16 GiB), so a
// subverted server could take the whole process down with one header. The
// largest honest reply is a GetImage of the largest screen (3840x2160x4,
// 33 MB).
const MaxReply = 64 << 20

// frameGuard follows the framing of what the X server sends (the
// connection set-up reply, then 32-byte units, replies and generic events
// with a body of 4*length bytes) and fails the connection on a message
// over MaxReply before xgb sees its header.
type frameGuard struct {
	hdr       [32]byte
	hn        int   // header bytes seen of the current unit
	rest      int64 // body bytes left of the current unit
	setupDone bool
}

func (g *frameGuard) scan(b []byte) error {
	for len(b) > 0 {
		if g.rest > 0 {
			n := min(int64(len(b)), g.rest)
			g.rest -= n
			b = b[n:]
			continue
		}
		hlen := 32
		if !g.setupDone {
			hlen = 8 // status, pad, major, minor, length (16 bits, 4-byte units)
		}
		n := copy(g.hdr[g.hn:hlen], b)
		g.hn += n
		b = b[n:]
		if g.hn < hlen {
			return nil
		}
		g.hn = 0
		if !g.setupDone {
			g.setupDone = true
			g.rest = 4 * int64(xgb.Get16(g.hdr[6:]))
			continue
		}
		// A reply (1) or a generic event (35) carries 4*length more bytes.
		if t := g.hdr[0] & 0x7f; t == 1 || t == 35 {
			g.rest = 4 * int64(xgb.Get32(g.hdr[4:]))
			if g.rest > MaxReply-32 {
				return fmt.Errorf("the X server sent a message of %d bytes (limit %d)", g.rest+32, MaxReply)
			}
		}
	}
	return nil
}
