// Command vmhelper is the in-sandbox desktop helper of the e2b backend: a
// static binary (CGO_ENABLED=0) uploaded into an E2B sandbox once and kept
// running as one process. It talks X11 directly (driver/x11: XTEST input,
// GetImage frames) and is driven with JSON lines on stdin/stdout (see
// backend/e2b/helperproto), so an action costs one envd round trip instead
// of a bash + xdotool process per call.
// It also runs the accessibility driver (driver/atspi) for the backend's
// UI snapshots and element actions (helperproto.OpA11y).
package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/helperproto"
	"github.com/vmservice/vmservice/driver/atspi"
	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/sandbox"
)

func main() {
	conn, err := dial()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmhelper: cannot connect to the X display:", err)
		os.Exit(2)
	}
	defer conn.Close()
	acc := atspi.NewDriver()
	defer acc.Close()
	if err := helperproto.Serve(os.Stdin, os.Stdout, conn, encodePNG, a11y(conn, acc), 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "vmhelper:", err)
		os.Exit(1)
	}
}

// a11y answers accessibility requests with the display's windows added
// (the tree is matched to them by process id). Processes envd starts lack
// the desktop session's environment; the session's at-spi-bus-launcher
// publishes the bus's address on the root window (AT_SPI_BUS), as
// applications find it too.
func a11y(conn *x11.Conn, d *atspi.Driver) helperproto.A11yFunc {
	return func(ctx context.Context, q atspi.Request) atspi.Reply {
		if q.Query != nil {
			wins, err := conn.TopLevels(ctx)
			if err != nil {
				return atspi.Reply{ID: q.ID, Err: sandbox.AsError(err)}
			}
			q.Query.Windows = wins
		}
		if os.Getenv("AT_SPI_BUS_ADDRESS") == "" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			if addr, err := conn.RootText(ctx, "AT_SPI_BUS"); err == nil && addr != "" {
				_ = os.Setenv("AT_SPI_BUS_ADDRESS", addr)
			}
		}
		return d.Handle(ctx, q)
	}
}

func encodePNG(img *image.RGBA) ([]byte, error) { return imgenc.Encode(img, imgenc.Options{}) }

// dial connects to $DISPLAY: through its socket file, else through the
// abstract socket, which is all an X server has when started with
// `-nolisten unix` (as E2B's desktop SDK starts Xvfb) or when it could not
// create the file.
func dial() (*x11.Conn, error) {
	c, err := x11.DialEnv()
	if err == nil {
		return c, nil
	}
	n := displayNumber(os.Getenv("DISPLAY"))
	if n == "" {
		return nil, err
	}
	cookie := xauthCookie(n)
	if cookie == nil {
		// No cookie: a server with access control off (Xvfb -ac) lets
		// anyone in, whatever the cookie.
		cookie = make([]byte, 16)
	}
	c, err2 := x11.Dial("@/tmp/.X11-unix/X"+n, cookie)
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	return c, nil
}

// displayNumber is N of ":N" or ":N.S" (local displays only).
func displayNumber(d string) string {
	if !strings.HasPrefix(d, ":") {
		return ""
	}
	d = strings.TrimPrefix(d, ":")
	if i := strings.IndexByte(d, '.'); i >= 0 {
		d = d[:i]
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return d
}

// xauthCookie finds display n's MIT-MAGIC-COOKIE-1 in $XAUTHORITY (or
// ~/.Xauthority).
func xauthCookie(n string) []byte {
	file := os.Getenv("XAUTHORITY")
	if file == "" {
		home, _ := os.UserHomeDir()
		file = filepath.Join(home, ".Xauthority")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return x11.XauthorityCookie(data, n)
}
