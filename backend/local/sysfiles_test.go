package local

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/testwait"
	"github.com/vmservice/vmservice/sandbox"
)

// pageColour fills the test page; the page's top edge is where it starts.
const pageColour = 0x00ff88

func pixel(img *image.RGBA, x, y int) uint32 {
	o := img.PixOffset(x, y)
	return uint32(img.Pix[o])<<16 | uint32(img.Pix[o+1])<<8 | uint32(img.Pix[o+2])
}

// pageTop is the first row, down the middle column, showing the page (-1
// when the page is not on screen).
func pageTop(img *image.RGBA) int {
	x := img.Rect.Dx() / 2
	for y := 0; y < img.Rect.Dy(); y++ {
		if pixel(img, x, y) == pageColour {
			return y
		}
	}
	return -1
}

// Browsers start clean: one window, maximized, showing the page asked for,
// and nothing pushes the page down or steals the tab for the next 75 s (the
// data-reporting bar came at ~65 s, the privacy-notice tab and
// default-browser prompts at start).
func TestBrowsersStartClean(t *testing.T) {
	p := newTestProvider(t)
	for _, app := range []struct{ name, class string }{{"firefox", "firefox"}, {"chromium", "chromium"}} {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			in := newTestInstance(t, p, nil)
			ctx := context.Background()
			page := fmt.Sprintf("<html><head><title>vmservice-clean</title></head><body style='margin:0;background:#%06x'>日本語 😀</body></html>", pageColour)
			require.NoError(t, in.WriteFile(ctx, "page.html", []byte(page)))
			start := time.Now()
			_, err := in.Launch(ctx, app.name, "/home/user/page.html")
			require.NoError(t, err)

			shows := func() (top int, why string) {
				ids, err := in.Desktop().ApplicationWindows(ctx, app.class)
				if err != nil || len(ids) != 1 {
					return -1, fmt.Sprintf("%d windows (%v)", len(ids), err)
				}
				if title, _ := in.Desktop().WindowTitle(ctx, ids[0]); !strings.Contains(title, "vmservice-clean") {
					return -1, fmt.Sprintf("title %q", title)
				}
				img, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
				if err != nil {
					return -1, err.Error()
				}
				w, h := img.Rect.Dx(), img.Rect.Dy()
				if pixel(img, w-3, h-3) != pageColour || pixel(img, 2, h-3) != pageColour {
					return -1, "the page does not reach the screen's bottom corners (window not maximized)"
				}
				return pageTop(img), ""
			}
			var top int
			testwait.Until(t, 90*time.Second, app.name+" showing the page maximized", func() error {
				var why string
				if top, why = shows(); top < 0 {
					return errors.New(why)
				}
				return nil
			})
			// Watched until 75 s after launch, once a second: the browser
			// must not change its mind. The looking is the observation.
			watch := time.NewTicker(time.Second)
			defer watch.Stop()
			for ; time.Since(start) < 75*time.Second; <-watch.C {
				now, why := shows()
				if now != top {
					t.Log(ok(t, in, "ps -eo pid,etime,args | cut -c1-100"))
				}
				require.Equal(t, top, now, "%.0f s after launch the page moved or went away: %s", time.Since(start).Seconds(), why)
			}
		})
	}
}

// The desktop behind the windows, and where windows open.
func TestDesktopLayout(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	img, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
	require.NoError(t, err)
	assert.Equal(t, uint32(desktopBackground), pixel(img, 0, 0), "the background is not black")
	assert.Equal(t, uint32(desktopBackground), pixel(img, img.Rect.Dx()-1, img.Rect.Dy()-1))
	// One desktop: no key or wheel turn moves the agent to an empty one.
	assert.Contains(t, ok(t, in, "xprop -root _NET_NUMBER_OF_DESKTOPS"), "= 1")

	geometry := func(name string) (x, y, w, h int) {
		var out string
		require.Eventually(t, func() bool {
			res := run(t, in, "xwininfo -name "+name)
			out = res.Stdout
			return res.ExitCode == 0 && strings.Contains(out, "IsViewable")
		}, 30*time.Second, 100*time.Millisecond, "window %s", name)
		field := func(label string) int {
			m := regexp.MustCompile(label + `:\s+(-?\d+)`).FindStringSubmatch(out)
			require.NotNil(t, m, "%s in %s", label, out)
			v, _ := strconv.Atoi(m[1])
			return v
		}
		return field("Absolute upper-left X"), field("Absolute upper-left Y"), field("Width"), field("Height")
	}
	// A window that does not ask for a place opens centred...
	_, err = in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "xterm -title centred-term"})
	require.NoError(t, err)
	x, y, w, h := geometry("centred-term")
	r := in.cfg.Resolution
	assert.InDelta(t, r.Width/2, x+w/2, 16, "xterm centred across (x %d, width %d)", x, w)
	assert.InDelta(t, r.Height/2, y+h/2, 24, "xterm centred down (y %d, height %d)", y, h)
	// ...one that asks keeps its place...
	_, err = in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "xterm -geometry 20x5+7+9 -title placed-term"})
	require.NoError(t, err)
	x, y, _, _ = geometry("placed-term")
	assert.Less(t, x, 40)
	assert.Less(t, y, 60)
	// ...and the editor fills the screen.
	require.NoError(t, in.WriteFile(ctx, "notes.txt", []byte("hello")))
	_, err = in.Launch(ctx, "mousepad", "/home/user/notes.txt")
	require.NoError(t, err)
	var ids []uint32
	require.Eventually(t, func() bool {
		wins, _ := in.Desktop().ApplicationWindows(ctx, "mousepad")
		ids = ids[:0]
		for _, w := range wins {
			ids = append(ids, uint32(w))
		}
		return len(ids) > 0
	}, 60*time.Second, 100*time.Millisecond, "mousepad window: %s", ok(t, in, "ps -eo pid,args; for p in $(pgrep -f dbus; pgrep mousepad); do echo $p; cat /proc/$p/task/*/wchan; echo; ls -l /proc/$p/fd; done; xwininfo -root -tree | grep -i -e mousepad -e term"))
	require.Eventually(t, func() bool {
		out := ok(t, in, fmt.Sprintf("xwininfo -id %d -frame", ids[0]))
		return strings.Contains(out, fmt.Sprintf("Width: %d", r.Width))
	}, 30*time.Second, 100*time.Millisecond, "mousepad maximized")
}

// TestOnHostSkipsWhatTheHostLacks: a file missing on the host (a container
// image without /etc/machine-id) or a symlink is not bound over; binding
// it would stop every sandbox from starting.
func TestOnHostSkipsWhatTheHostLacks(t *testing.T) {
	dir := t.TempDir()
	regular, link, missing := filepath.Join(dir, "regular"), filepath.Join(dir, "link"), filepath.Join(dir, "missing")
	require.NoError(t, os.WriteFile(regular, []byte("x"), 0o644))
	require.NoError(t, os.Symlink(regular, link))
	got := onHost([]sysFile{{path: regular}, {path: link}, {path: missing}})
	require.Len(t, got, 1)
	assert.Equal(t, regular, got[0].path)
}
