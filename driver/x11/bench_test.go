package x11

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// The driver against the command-line path the anchors use (one xdotool /
// scrot process per action), on the same display in the same run:
//
//	go test -run XXX -bench . -benchtime 100x ./driver/x11/

// benchDisplay is an Xvfb with an xterm full of text in the top-left
// corner (so frames have realistic content); pointer and keys stay in the
// empty part of the screen, where they reach the root window.
func benchDisplay(b *testing.B, w, h int) *display {
	d := newDisplay(b, w, h)
	x11test.Run(b, d.name, d.auth, "xsetroot", "-solid", "#3a6ea5")
	x11test.Start(b, d.name, d.auth, "xterm", "-geometry", "80x24+0+0", "-e", "sh", "-c", "ls -l /usr/bin | head -30; sleep 600")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids, err := d.c.ApplicationWindows(bg, "xterm")
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let it draw
	if err := d.c.MoveMouse(bg, sandbox.Point{X: w - 100, Y: h - 100}); err != nil {
		b.Fatal(err)
	}
	return d
}

// timed runs op b.N times and reports the p50 and p95 latency.
func timed(b *testing.B, op func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}

func pointAt(i, w, h int) sandbox.Point {
	return sandbox.Point{X: w/2 + (i*37)%(w/2-1), Y: h/2 + (i*53)%(h/2-1)}
}

const text100 = "The quick brown fox jumps over the lazy dog; PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS! 0123456789 ok."

func runCmd(d *display, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = x11test.Env(d.name, d.auth)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out)
	}
	return nil
}

func BenchmarkInput(b *testing.B) {
	if len(text100) != 100 {
		b.Fatalf("text is %d chars", len(text100))
	}
	d := benchDisplay(b, 1024, 768)
	w, h := 1024, 768
	b.Run("driver/MoveMouse", func(b *testing.B) {
		timed(b, func(i int) error { return d.c.MoveMouse(bg, pointAt(i, w, h)) })
	})
	b.Run("xdotool/mousemove", func(b *testing.B) {
		timed(b, func(i int) error {
			p := pointAt(i, w, h)
			return runCmd(d, "xdotool", "mousemove", fmt.Sprint(p.X), fmt.Sprint(p.Y))
		})
	})
	b.Run("driver/Click", func(b *testing.B) {
		timed(b, func(i int) error { return d.c.Click(bg, nil, sandbox.ButtonLeft, 1, nil) })
	})
	b.Run("xdotool/click", func(b *testing.B) {
		timed(b, func(i int) error { return runCmd(d, "xdotool", "click", "1") })
	})
	b.Run("driver/TypeText100", func(b *testing.B) {
		timed(b, func(i int) error {
			_, err := d.c.TypeText(bg, text100, 100, 0)
			return err
		})
	})
	b.Run("xdotool/type100", func(b *testing.B) {
		timed(b, func(i int) error { return runCmd(d, "xdotool", "type", "--delay", "0", text100) })
	})
	// Six characters the keymap lacks, new ones each time, so every call
	// borrows keycodes (the keymap change a UnicodeInApps test makes).
	newUnicode := func(i int) string {
		r := make([]rune, 6)
		for j := range r {
			r[j] = rune(0x4e00 + (i*6+j)%20000)
		}
		return "tok-" + string(r)
	}
	b.Run("driver/TypeTextNewUnicode", func(b *testing.B) {
		timed(b, func(i int) error {
			_, err := d.c.TypeText(bg, newUnicode(i), 100, 0)
			return err
		})
	})
	b.Run("xdotool/type_new_unicode", func(b *testing.B) {
		timed(b, func(i int) error { return runCmd(d, "xdotool", "type", "--delay", "0", newUnicode(i)) })
	})
	b.Run("driver/PressKeysCtrlA", func(b *testing.B) {
		timed(b, func(i int) error { return d.c.PressKeys(bg, []string{"ctrl", "a"}) })
	})
	b.Run("xdotool/key_ctrl+a", func(b *testing.B) {
		timed(b, func(i int) error { return runCmd(d, "xdotool", "key", "ctrl+a") })
	})
}

func BenchmarkScreenshot(b *testing.B) {
	for _, size := range []image.Point{{1024, 768}, {1920, 1080}} {
		name := fmt.Sprintf("%dx%d", size.X, size.Y)
		d := benchDisplay(b, size.X, size.Y)
		shot := func(i int) (*image.RGBA, error) { return d.c.Screenshot(bg, image.Rectangle{}) }
		b.Run(name+"/driver/raw", func(b *testing.B) {
			d.c.noSHM = false
			b.ReportAllocs()
			timed(b, func(i int) error { _, err := shot(i); return err })
		})
		b.Run(name+"/driver/raw-getimage", func(b *testing.B) {
			d.c.shmClose()
			d.c.noSHM = true
			b.ReportAllocs()
			timed(b, func(i int) error { _, err := shot(i); return err })
			d.c.noSHM = false
		})
		for _, f := range []string{"png", "jpeg"} {
			b.Run(name+"/driver/"+f, func(b *testing.B) {
				b.ReportAllocs()
				var n int
				timed(b, func(i int) error {
					img, err := shot(i)
					if err != nil {
						return err
					}
					out, err := imgenc.Encode(img, imgenc.Options{Format: imgenc.Format(f)})
					n = len(out)
					return err
				})
				b.ReportMetric(float64(n)/1024, "KiB")
			})
		}
		out := filepath.Join(b.TempDir(), "shot.png")
		b.Run(name+"/scrot/png", func(b *testing.B) {
			timed(b, func(i int) error { return runCmd(d, "scrot", "-o", out) })
		})
	}
}

// BenchmarkClick: a click on a bare display (the pointer over the root
// window), and under openbox on two managed windows in turn, where each
// press goes through openbox's click-to-focus grab and Click waits until
// the server let the click through:
//
//	go test -run XXX -bench Click -benchtime 200x ./driver/x11/
func BenchmarkClick(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		d := newDisplay(b, 1024, 768)
		timed(b, func(i int) error {
			return d.c.Click(bg, &sandbox.Point{X: 100 + i%500, Y: 100}, sandbox.ButtonLeft, 1, nil)
		})
	})
	b.Run("openbox", func(b *testing.B) {
		d := newDisplay(b, 1024, 768)
		startOpenbox(b, d)
		r1 := newManagedRecorder(b, d, 40, 60, 400, 300)
		r2 := newManagedRecorder(b, d, 500, 60, 400, 300)
		var pts []sandbox.Point
		for _, r := range []*recorder{r1, r2} {
			x, y := r.origin(b)
			pts = append(pts, sandbox.Point{X: x + 100, Y: y + 100})
		}
		for _, count := range []int{1, 2} {
			b.Run(fmt.Sprintf("count%d", count), func(b *testing.B) {
				timed(b, func(i int) error { return d.c.Click(bg, &pts[i%2], sandbox.ButtonLeft, count, nil) })
			})
		}
	})
}
