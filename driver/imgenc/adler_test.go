package imgenc

import (
	"hash/adler32"
	"math/rand"
	"testing"
)

func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 5551, 5552, 5553, 11104, 100000, 1 << 20} {
		for _, fill := range []string{"random", "ff", "00"} {
			p := make([]byte, n)
			for i := range p {
				switch fill {
				case "random":
					p[i] = byte(rng.Intn(256))
				case "ff":
					p[i] = 0xff
				}
			}
			if got, want := adlerUpdate(1, p), adler32.Checksum(p); got != want {
				t.Fatalf("n=%d %s: got %#x want %#x", n, fill, got, want)
			}
			// Incremental updates in odd pieces agree too.
			a := uint32(1)
			for i := 0; i < n; i += 1000 + i%7 {
				a = adlerUpdate(a, p[i:min(n, i+1000+i%7)])
			}
			if want := adler32.Checksum(p); a != want {
				t.Fatalf("n=%d %s incremental: got %#x want %#x", n, fill, a, want)
			}
		}
	}
}

func FuzzAdler32(f *testing.F) {
	f.Add([]byte("hello"), uint16(1))
	f.Fuzz(func(t *testing.T, p []byte, split uint16) {
		want := adler32.Checksum(p)
		if got := adlerUpdate(1, p); got != want {
			t.Fatalf("got %#x want %#x", got, want)
		}
		k := int(split) % (len(p) + 1)
		if got := adlerUpdate(adlerUpdate(1, p[:k]), p[k:]); got != want {
			t.Fatalf("split %d: got %#x want %#x", k, got, want)
		}
	})
}

func BenchmarkAdler32(b *testing.B) {
	p := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(p)
	b.SetBytes(int64(len(p)))
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adlerUpdate(1, p)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
}
