package x11

import (
	"image"
	"image/color"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// paintRect maps an override-redirect window of one colour from a separate
// client, so the driver has known pixels to find.
func paintRect(t *testing.T, d *display, r image.Rectangle, rgb uint32) {
	t.Helper()
	newPainter(t, d, r, rgb)
}

func rgba(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

func TestScreenshot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w, h  int
		noSHM bool
	}{
		{"shm 1024x768", 1024, 768, false},
		{"getimage 1024x768", 1024, 768, true},
		{"getimage bands 1920x1080", 1920, 1080, true},
		{"shm 1920x1080", 1920, 1080, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisplay(t, tc.w, tc.h)
			d.c.noSHM = tc.noSHM
			x11test.Run(t, d.name, d.auth, "xsetroot", "-solid", "#ff0000")
			box := image.Rect(100, 50, 300, 150)
			paintRect(t, d, box, 0x2040c0)
			// A second box at the bottom right corner, in the last band.
			corner := image.Rect(tc.w-10, tc.h-10, tc.w, tc.h)
			paintRect(t, d, corner, 0x00ff7f)

			red := color.RGBA{255, 0, 0, 255}
			blue := color.RGBA{0x20, 0x40, 0xc0, 255}
			green := color.RGBA{0, 0xff, 0x7f, 255}

			img, err := d.c.Screenshot(bg, image.Rectangle{})
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, tc.w, tc.h), img.Bounds())
			require.Equal(t, tc.noSHM, d.c.shm == nil)
			require.Equal(t, red, rgba(img, 0, 0))
			require.Equal(t, red, rgba(img, 99, 50))
			require.Equal(t, blue, rgba(img, 100, 50))
			require.Equal(t, blue, rgba(img, 299, 149))
			require.Equal(t, red, rgba(img, 300, 149))
			require.Equal(t, green, rgba(img, tc.w-1, tc.h-1))
			require.Equal(t, red, rgba(img, tc.w-11, tc.h-1))
			full := &img.Pix[0]

			// Region crop: bounds start at (0,0).
			img, err = d.c.Screenshot(bg, image.Rect(90, 40, 110, 60))
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, 20, 20), img.Bounds())
			require.Equal(t, red, rgba(img, 9, 9))
			require.Equal(t, blue, rgba(img, 10, 10))
			require.Equal(t, blue, rgba(img, 19, 19))
			require.Same(t, full, &img.Pix[0], "the frame buffer is reused")

			// A region hanging over the edge is clipped to the screen.
			img, err = d.c.Screenshot(bg, image.Rect(tc.w-5, tc.h-20, tc.w+50, tc.h+50))
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, 5, 20), img.Bounds())
			require.Equal(t, green, rgba(img, 4, 19))

			for _, bad := range []image.Rectangle{
				{Min: image.Pt(10, 10), Max: image.Pt(5, 20)},
				image.Rect(tc.w, 0, tc.w+10, 10),
				image.Rect(-50, -50, -1, -1),
			} {
				_, err := d.c.Screenshot(bg, bad)
				se := requireCode(t, err, sandbox.CodeInvalidArgument)
				require.Equal(t, "region", se.Details["field"])
				require.Equal(t, tc.w, se.Details["width"])
			}
		})
	}
}

func TestConvertNonStandard(t *testing.T) {
	// RGBX in memory (red in the low byte).
	f := pixelFormat{ok: true, rShift: 0, gShift: 8, bShift: 16}
	dst := make([]byte, 8)
	f.convert(dst, []byte{1, 2, 3, 9, 4, 5, 6, 9})
	require.Equal(t, []byte{1, 2, 3, 255, 4, 5, 6, 255}, dst)
	std := pixelFormat{ok: true, standard: true, rShift: 16, gShift: 8}
	std.convert(dst, []byte{1, 2, 3, 9, 4, 5, 6, 9})
	require.Equal(t, []byte{3, 2, 1, 255, 6, 5, 4, 255}, dst)
}

func TestScreenshotAllocations(t *testing.T) {
	d := newDisplay(t, 1024, 768)
	_, err := d.c.Screenshot(bg, image.Rectangle{})
	require.NoError(t, err)
	require.NotNil(t, d.c.shm)
	allocs := testing.AllocsPerRun(10, func() {
		_, _ = d.c.Screenshot(bg, image.Rectangle{})
	})
	// Only xgb's small request/cookie bookkeeping: no frame-sized buffers.
	require.Less(t, allocs, 40.0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		_, _ = d.c.Screenshot(bg, image.Rectangle{})
	}
	runtime.ReadMemStats(&after)
	require.Less(t, (after.TotalAlloc-before.TotalAlloc)/10, uint64(64<<10), "bytes allocated per frame")
}

// TestSHMServerAsOtherUser: the local backend runs Xvfb as an unprivileged
// user; MIT-SHM must still work (the segment is handed to that user).
func TestSHMServerAsOtherUser(t *testing.T) {
	uid := -1
	if os.Getuid() == 0 {
		uid = 65534 // nobody
	}
	sock, cookie, name, auth := x11test.StartXvfbAs(t, 640, 480, uid)
	c, err := Dial(sock, cookie)
	require.NoError(t, err)
	defer c.Close()
	if uid >= 0 {
		require.Equal(t, uid, c.serverUID)
	}
	x11test.Run(t, name, auth, "xsetroot", "-solid", "#00ff00")
	img, err := c.Screenshot(bg, image.Rectangle{})
	require.NoError(t, err)
	require.NotNil(t, c.shm, "captured through MIT-SHM")
	require.Equal(t, color.RGBA{0, 255, 0, 255}, img.RGBAAt(320, 240))
}

// TestNoSHMWithoutServerPID: a client in another IPC namespace (here
// DialEnv, which cannot tell) captures through GetImage.
func TestNoSHMWithoutServerPID(t *testing.T) {
	_, _, name, auth := x11test.StartXvfb(t, 320, 240)
	t.Setenv("DISPLAY", name)
	t.Setenv("XAUTHORITY", auth)
	c, err := DialEnv()
	require.NoError(t, err)
	defer c.Close()
	x11test.Run(t, name, auth, "xsetroot", "-solid", "#0000ff")
	img, err := c.Screenshot(bg, image.Rectangle{})
	require.NoError(t, err)
	require.Nil(t, c.shm)
	require.Equal(t, color.RGBA{0, 0, 255, 255}, img.RGBAAt(10, 10))
	require.False(t, sameIPCNamespace(0))
	require.True(t, sameIPCNamespace(os.Getpid()))
	other := exec.Command("unshare", "--user", "--map-root-user", "--ipc", "sleep", "30")
	require.NoError(t, other.Start())
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	require.Eventually(t, func() bool { return !sameIPCNamespace(other.Process.Pid) }, 60*time.Second, 10*time.Millisecond,
		"a process in its own IPC namespace is told apart")
}
