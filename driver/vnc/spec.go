package vnc

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
)

// What a stream asks of x11vnc: portable (the stream service and the e2b
// backend use it on every platform); running x11vnc (vnc.go) is Linux's.

// Binary is the x11vnc executable (a variable so a test can point elsewhere).
var Binary = "x11vnc"

// Quality names accepted by Start and by the stream service.
const (
	QualityLow    = "low"
	QualityMedium = "medium"
	QualityHigh   = "high"
)

// Frame-rate bounds and default.
const (
	MinFrameRate     = 1
	MaxFrameRate     = 60
	DefaultFrameRate = 30
)

// Levels are the noVNC client settings for a quality: Tight JPEG quality
// (0 worst .. 9 best) and zlib compression (0 fastest .. 9 smallest). They
// travel to x11vnc as RFB pseudo-encodings, so they decide what is sent.
type Levels struct {
	JPEGQuality int `json:"jpeg_quality"`
	Compression int `json:"compression"`
}

// Mapping of quality to the client levels and the x11vnc scaling:
//
//	low:    JPEG quality 3, compression 9  (small, blurry text is readable)
//	medium: JPEG quality 6, compression 6  (noVNC's default quality)
//	high:   JPEG quality 9, compression 1  (sharp; more bytes, less CPU)
//
// Frame rate maps to x11vnc's screen polling: -wait 1000/fps (ms between
// polls of the framebuffer) and -defer 1000/fps (ms an update is held to
// coalesce changes), so at most about fps updates per second are sent.
var qualities = map[string]Levels{
	QualityLow:    {JPEGQuality: 3, Compression: 9},
	QualityMedium: {JPEGQuality: 6, Compression: 6},
	QualityHigh:   {JPEGQuality: 9, Compression: 1},
}

// ClientLevels returns the noVNC levels for quality (medium when empty).
func ClientLevels(quality string) (Levels, error) {
	if quality == "" {
		quality = QualityMedium
	}
	l, ok := qualities[quality]
	if !ok {
		return Levels{}, sandbox.InvalidArgument("quality", "quality must be one of low, medium, high; got %q", quality)
	}
	return l, nil
}

// Spec says which display to serve and how.
type Spec struct {
	// Display is the X display (":N"); x11vnc sees it under that name in
	// its jail.
	Display string
	// Socket is the display's unix socket on the host (default
	// /tmp/.X11-unix/XN), the only one bound into the jail.
	Socket string
	// Cookie is the display's MIT-MAGIC-COOKIE-1; when nil it is read from
	// AuthFile (an Xauthority file with an entry for Display).
	Cookie   []byte
	AuthFile string
	// Dir is a host directory no sandbox can see; a private subdirectory for
	// the socket and password file is made in it. Keep it short: unix
	// socket paths are limited to 107 bytes.
	Dir string
	// UID / GID run x11vnc unprivileged. Zero runs it as the server's own
	// user (only when the server itself is not root).
	UID, GID uint32
	// HandOver, when set, gives UID/GID the stream directory and the files
	// Start makes in it, instead of chown (a server without root grants
	// them by ACL; dir says which kind path is).
	HandOver func(path string, dir bool) error
	// Command, when set, makes the process that runs argv (the jail with
	// x11vnc in it): a backend's launcher that puts it into the sandbox's
	// cgroup, so it counts against the sandbox and dies with it. The
	// process must start as UID/GID; Start adds the environment, working
	// directory, output, its own process group and the parent-death signal.
	Command func(argv ...string) *exec.Cmd
	// ShareIPC keeps the IPC namespace Command's process runs in (the X
	// server's: the local backend starts it there) so x11vnc can grab the
	// screen with MIT-SHM; otherwise the jail has an IPC namespace of its
	// own and x11vnc reads the screen with GetImage (-noshm).
	ShareIPC bool

	WindowID  sandbox.WindowID // 0 = whole display
	Password  string           // VNC password; "" = no RFB authentication
	Quality   string           // low | medium | high ("" = medium)
	FrameRate int              // 1..60 (0 = 30)
	ViewOnly  bool
}

// Validate checks the caller-facing fields and fills defaults.
func (s *Spec) Validate() error {
	if s.Quality == "" {
		s.Quality = QualityMedium
	}
	if _, err := ClientLevels(s.Quality); err != nil {
		return err
	}
	if s.FrameRate == 0 {
		s.FrameRate = DefaultFrameRate
	}
	if s.FrameRate < MinFrameRate || s.FrameRate > MaxFrameRate {
		return sandbox.InvalidArgument("frame_rate", "frame_rate must be between %d and %d, got %d", MinFrameRate, MaxFrameRate, s.FrameRate)
	}
	if _, err := displayNumber(s.Display); err != nil || (s.Cookie == nil && s.AuthFile == "") || s.Dir == "" {
		return sandbox.Errorf(sandbox.CodeInternal, "vnc: display, cookie and directory are required")
	}
	return nil
}

func displayNumber(d string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(d, ":"))
	if err != nil || !strings.HasPrefix(d, ":") || n < 0 {
		return 0, fmt.Errorf("bad display %q", d)
	}
	return n, nil
}

// NoOrders are the x11vnc flags that keep it from taking orders from the
// desktop it serves: remote control and reverse connections come over X
// properties any client can set (-safer also refuses -gui and a -connect
// file); no external commands at all; no name lookups of viewers.
var NoOrders = []string{"-safer", "-noremote", "-novncconnect", "-nocmds", "-nolookup"}

// Args are x11vnc's arguments for spec (auth file, socket and password
// file paths as x11vnc sees them). Exposed for documentation and tests.
func Args(s Spec, auth, sock, passwdFile string) []string {
	ms := strconv.Itoa(1000 / s.FrameRate)
	args := []string{
		"-display", s.Display, "-auth", auth,
		// RFB only on the unix socket: no TCP on v4 or v6.
		"-unixsock", sock, "-rfbport", "0", "-rfbportv6", "-1", "-noipv6",
		"-forever", "-shared", // several viewers, and keep serving after one leaves
	}
	args = append(args, NoOrders...)
	args = append(args,
		"-norc",        // ignore any ~/.x11vncrc
		"-ncache", "0", // no client-side cache area (it would show below the screen)
		"-nowf", "-noscr", // draw window moves and scrolls as they are, no outlines
		"-nobell", "-nodpms",
		"-wait", ms, "-defer", ms,
	)
	if passwdFile != "" {
		// rm: x11vnc deletes the file once read; the key never shows in ps.
		args = append(args, "-passwdfile", "rm:"+passwdFile)
	} else {
		args = append(args, "-nopw")
	}
	if s.ViewOnly {
		args = append(args, "-viewonly")
	}
	if s.WindowID != 0 {
		args = append(args, "-id", fmt.Sprintf("0x%x", uint32(s.WindowID)))
	}
	if !s.ShareIPC {
		args = append(args, "-noshm")
	}
	return args
}
