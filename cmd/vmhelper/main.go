// Command vmhelper is the in-sandbox desktop helper of the e2b backend: a
// static binary (CGO_ENABLED=0) uploaded into an E2B sandbox once and kept
// running as one process. It talks X11 directly (sandbox/x11: XTEST input,
// GetImage frames) and is driven with JSON lines on stdin/stdout (see
// sandbox/e2b/helperproto), so an action costs one envd round trip instead
// of a bash + xdotool process per call.
package main

import (
	"fmt"
	"image"
	"os"
	"time"

	"github.com/vmservice/vmservice/sandbox/e2b/helperproto"
	"github.com/vmservice/vmservice/sandbox/imgenc"
	"github.com/vmservice/vmservice/sandbox/x11"
)

func main() {
	conn, err := x11.DialEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmhelper: cannot connect to the X display:", err)
		os.Exit(2)
	}
	defer conn.Close()
	if err := helperproto.Serve(os.Stdin, os.Stdout, conn, encodePNG, 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "vmhelper:", err)
		os.Exit(1)
	}
}

func encodePNG(img *image.RGBA) ([]byte, error) { return imgenc.Encode(img, imgenc.Options{}) }
