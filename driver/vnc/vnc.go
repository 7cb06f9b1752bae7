// Package vnc runs x11vnc for a sandbox's X display. The server listens only
// on a unix socket in a host directory that no sandbox mounts, so nothing
// inside a sandbox (whatever its network namespace) can reach it; the
// stream proxy dials that socket.
package vnc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/sandbox"
)

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
	// Display is the X display as seen from the host (":N").
	Display string
	// AuthFile is an Xauthority file with the display's cookie, readable by
	// UID.
	AuthFile string
	// Dir is a host directory no sandbox can see; a private subdirectory for
	// the socket and password file is made in it. Keep it short: unix
	// socket paths are limited to 107 bytes.
	Dir string
	// UID / GID run x11vnc unprivileged. Zero runs it as the server's own
	// user (only when the server itself is not root).
	UID, GID uint32
	// Command, when set, makes the process that runs argv (x11vnc and its
	// arguments): a backend's launcher that puts it into the sandbox's
	// cgroup, so it counts against the sandbox and dies with it. The
	// process must start as UID/GID; Start adds the environment, working
	// directory, output, its own process group and the parent-death signal.
	Command func(argv ...string) *exec.Cmd

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
	if s.Display == "" || s.AuthFile == "" || s.Dir == "" {
		return sandbox.Errorf(sandbox.CodeInternal, "vnc: display, auth file and directory are required")
	}
	return nil
}

// Args are x11vnc's arguments for spec (socket and password file paths
// given). Exposed for documentation and tests.
func Args(s Spec, sock, passwdFile string) []string {
	ms := strconv.Itoa(1000 / s.FrameRate)
	args := []string{
		"-display", s.Display, "-auth", s.AuthFile,
		// RFB only on the unix socket: no TCP on v4 or v6.
		"-unixsock", sock, "-rfbport", "0", "-rfbportv6", "-1", "-noipv6",
		"-forever", "-shared", // several viewers, and keep serving after one leaves
		"-norc",        // ignore any ~/.x11vncrc
		"-ncache", "0", // no client-side cache area (it would show below the screen)
		"-nowf", "-noscr", // draw window moves and scrolls as they are, no outlines
		"-nobell", "-nodpms",
		"-wait", ms, "-defer", ms,
	}
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
	return args
}

// Server is one running x11vnc.
type Server struct {
	spec Spec
	dir  string
	sock string
	cmd  *exec.Cmd
	log  zerolog.Logger
	out  *tailBuffer

	done     chan struct{} // closed when the process has exited
	waitErr  error
	stopOnce sync.Once
}

// Start runs x11vnc for spec and returns once its socket accepts
// connections. On error nothing is left running.
func Start(ctx context.Context, spec Spec, log zerolog.Logger) (*Server, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(Binary); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "x11vnc is not installed on the server").WithCause(err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	dir := filepath.Join(spec.Dir, "vnc-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll(spec.Dir, 0o711); err != nil {
		return nil, internal("create the stream directory", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, internal("create the stream directory", err)
	}
	s := &Server{spec: spec, dir: dir, sock: filepath.Join(dir, "rfb"), log: log, out: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	fail := func(err error) (*Server, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	asOther := spec.UID != 0 || spec.GID != 0
	if asOther {
		if err := os.Chown(dir, int(spec.UID), int(spec.GID)); err != nil {
			return fail(internal("hand the stream directory to the sandbox user", err))
		}
	}
	pw := ""
	if spec.Password != "" {
		pw = filepath.Join(dir, "passwd")
		if err := os.WriteFile(pw, []byte(spec.Password+"\n"), 0o600); err != nil {
			return fail(internal("write the VNC password file", err))
		}
		if asOther {
			if err := os.Chown(pw, int(spec.UID), int(spec.GID)); err != nil {
				return fail(internal("hand the VNC password file to the sandbox user", err))
			}
		}
	}
	argv := append([]string{Binary}, Args(spec, s.sock, pw)...)
	var cmd *exec.Cmd
	if spec.Command != nil {
		cmd = spec.Command(argv...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
		if asOther {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: []uint32{}}}
		}
	}
	// Added to what a launcher needs in its environment (the last of a
	// duplicated variable wins).
	cmd.Env = append(cmd.Env, "PATH=/usr/local/bin:/usr/bin:/bin", "HOME="+dir, "LANG=C.UTF-8")
	cmd.Dir = dir
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true              // its own group, so Stop reaches any helper it forks
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // never outlive the server
	if err := cmd.Start(); err != nil {
		log.Error().Err(err).Msg("x11vnc did not start")
		return fail(internal("start x11vnc", err))
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		pid := cmd.Process.Pid // its segments carry its pid as their creator
		RemoveSegments(func(cpid, _ int) bool { return cpid == pid })
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.kill()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	log.Debug().Int("pid", cmd.Process.Pid).Str("display", spec.Display).Str("quality", spec.Quality).
		Int("frame_rate", spec.FrameRate).Bool("view_only", spec.ViewOnly).Msg("x11vnc started")
	return s, nil
}

func internal(what string, err error) *sandbox.Error {
	return sandbox.Errorf(sandbox.CodeInternal, "could not %s; see the server log", what).WithCause(err)
}

// waitReady polls until the socket accepts a connection, x11vnc exits, or
// ctx / 15 s run out.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(s.sock); err == nil {
			c, err := net.DialTimeout("unix", s.sock, time.Second)
			if err == nil {
				_ = c.Close()
				return nil
			}
		}
		select {
		case <-s.done:
			out := s.out.String()
			if s.spec.WindowID != 0 && badWindow(out) {
				s.log.Info().Uint32("window_id", uint32(s.spec.WindowID)).Msg("x11vnc: no such window")
				return sandbox.InvalidArgument("window_id", "window 0x%x does not exist on the sandbox's display", uint32(s.spec.WindowID))
			}
			if len(out) > 2048 {
				out = out[len(out)-2048:]
			}
			s.log.Warn().Err(s.waitErr).Str("output", out).Msg("x11vnc exited before it was ready")
			return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the VNC server could not start; see the server log").WithCause(s.waitErr)
		case <-ctx.Done():
			s.log.Warn().Str("output", s.out.String()).Msg("x11vnc was not ready in time")
			return sandbox.Errorf(sandbox.CodeTimeout, "the VNC server did not become ready in time")
		case <-tick.C:
		}
	}
}

func badWindow(out string) bool {
	o := []byte(out)
	return bytes.Contains(o, []byte("BadWindow")) || bytes.Contains(o, []byte("bad window")) || bytes.Contains(o, []byte("invalid window"))
}

// Dial connects to the server's RFB socket.
func (s *Server) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case <-s.done:
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the stream's VNC server is not running")
	default:
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.sock)
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the stream's VNC server is not reachable").WithCause(err)
	}
	return c, nil
}

// Done is closed when x11vnc has exited (stopped, or died with its window
// or display).
func (s *Server) Done() <-chan struct{} { return s.done }

// PID is x11vnc's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Spec is the effective spec (defaults filled).
func (s *Server) Spec() Spec { return s.spec }

func (s *Server) kill() {
	// The whole process group: x11vnc may fork helpers. SIGTERM lets it
	// release keys a viewer held; it sometimes lingers in its clean-up for
	// seconds, and nothing of it needs saving, so it gets little time.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(300 * time.Millisecond):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Stop ends x11vnc and removes its socket and password file. It is
// idempotent and safe to call after x11vnc died on its own.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.kill()
		if err := os.RemoveAll(s.dir); err != nil {
			s.log.Warn().Err(err).Msg("could not remove the stream directory")
		}
		s.log.Debug().Int("pid", s.cmd.Process.Pid).Msg("x11vnc stopped")
	})
	return nil
}

// tailBuffer keeps the last max bytes written (x11vnc is chatty).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// Slot is the one VNC server a sandbox may have at a time; a backend keeps
// one per instance and implements sandbox.Streams with it.
type Slot struct {
	mu     sync.Mutex
	srv    *Server
	closed bool
}

// Start runs x11vnc with base (display, auth, dir, uid) and the stream
// options, and returns an endpoint that dials it. A stream that is already
// running is an error: the caller (the stream service) stops it first.
func (sl *Slot) Start(ctx context.Context, base Spec, o sandbox.StreamOptions, log zerolog.Logger) (*sandbox.StreamEndpoint, error) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.closed {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "the sandbox is gone")
	}
	if sl.srv != nil {
		select {
		case <-sl.srv.Done(): // died on its own (window closed): replace it
			_ = sl.srv.Stop()
			sl.srv = nil
		default:
			return nil, sandbox.InvalidArgument("sandbox_id", "a stream is already running on this sandbox; stop it first")
		}
	}
	base.WindowID, base.Password, base.Quality, base.FrameRate, base.ViewOnly = o.WindowID, o.Password, o.Quality, o.FrameRate, o.ViewOnly
	srv, err := Start(ctx, base, log)
	if err != nil {
		return nil, err
	}
	sl.srv = srv
	return &sandbox.StreamEndpoint{Dial: srv.Dial}, nil
}

// Stop ends the running server, if any. It is idempotent.
func (sl *Slot) Stop() error {
	sl.mu.Lock()
	srv := sl.srv
	sl.srv = nil
	sl.mu.Unlock()
	if srv != nil {
		return srv.Stop()
	}
	return nil
}

// Close stops the server and refuses new ones (the sandbox is being
// destroyed).
func (sl *Slot) Close() error {
	sl.mu.Lock()
	sl.closed = true
	sl.mu.Unlock()
	return sl.Stop()
}
