// Package vnc runs x11vnc for a sandbox's X display. The server listens only
// on a unix socket in a host directory that no sandbox mounts, so nothing
// inside a sandbox (whatever its network namespace) can reach it; the
// stream proxy dials that socket.
//
// x11vnc is a large C program that reads what the desktop it serves puts on
// the display (properties, selections, window contents), and that desktop
// is hostile. So it takes no orders from the display (-safer -noremote
// -novncconnect: x11vnc's own remote control rides on an X property any
// client of the display can set), runs no external command (-nocmds), and
// runs in a bubblewrap jail of its own: a network namespace with nothing
// but loopback (it can neither listen on nor connect to any host port) and
// a mount view of /usr, the one X socket it serves, a cookie for it and its
// stream directory (no /etc, no /run, no home, no server state). Even an
// x11vnc that obeyed or was exploited could reach only its own socket.
package vnc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/driver/bwrap"
	"github.com/vmservice/vmservice/driver/x11"
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

// Paths inside the jail.
const (
	jailDir  = "/vnc"
	jailAuth = "/vnc/Xauthority"
)

// jail wraps argv (x11vnc) in bubblewrap: new user, pid, network, uts and
// cgroup namespaces (and IPC unless shared), and a mount view of only
// /usr, the display's socket and the stream directory (bound at /vnc).
func jail(bwrapPath string, s Spec, dir string, argv []string) []string {
	n, _ := displayNumber(s.Display)
	a := []string{bwrapPath,
		"--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
		// x11vnc is pid 1: no init of bubblewrap's sits between a signal
		// and it.
		"--as-pid-1", "--die-with-parent"}
	if !s.ShareIPC {
		a = append(a, "--unshare-ipc")
	}
	a = append(a, bwrap.System()...)
	a = append(a, "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--ro-bind", s.Socket, "/tmp/.X11-unix/X"+strconv.Itoa(n),
		"--bind", dir, jailDir, "--chdir", jailDir,
		"--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", jailDir, "--setenv", "LANG", "C.UTF-8",
		"--")
	return append(a, argv...)
}

// Server is one running x11vnc.
type Server struct {
	spec Spec
	dir  string
	sock string
	cmd  *exec.Cmd
	pid  atomic.Int32 // x11vnc's (the jail's child), once known
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
	bwrapPath, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "bubblewrap is not installed on the server (the stream's VNC server runs in it)").WithCause(err)
	}
	n, _ := displayNumber(spec.Display)
	if spec.Socket == "" {
		spec.Socket = "/tmp/.X11-unix/X" + strconv.Itoa(n)
	}
	cookie := spec.Cookie
	if cookie == nil {
		data, err := os.ReadFile(spec.AuthFile)
		if cookie = x11.XauthorityCookie(data, strconv.Itoa(n)); cookie == nil {
			return nil, internal("read the display's cookie", errors.Join(err, errors.New("no cookie for the display")))
		}
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
	// Files x11vnc reads in its jail: the cookie and the password (x11vnc
	// deletes that one once read: the key never shows in ps).
	files := map[string][]byte{"Xauthority": nil}
	if spec.Password != "" {
		files["passwd"] = []byte(spec.Password + "\n")
	}
	for name, data := range files {
		var err error
		if name == "Xauthority" {
			err = x11.WriteXauthority(filepath.Join(dir, name), n, cookie)
		} else {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o600)
		}
		if err == nil && asOther {
			err = os.Chown(filepath.Join(dir, name), int(spec.UID), int(spec.GID))
		}
		if err != nil {
			return fail(internal("write the stream's files", err))
		}
	}
	if asOther {
		if err := os.Chown(dir, int(spec.UID), int(spec.GID)); err != nil {
			return fail(internal("hand the stream directory to the sandbox user", err))
		}
	}
	pw := ""
	if spec.Password != "" {
		pw = jailDir + "/passwd"
	}
	argv := jail(bwrapPath, spec, dir, append([]string{Binary}, Args(spec, jailAuth, jailDir+"/rfb", pw)...))
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
	// duplicated variable wins); the jail clears it for x11vnc.
	cmd.Env = append(cmd.Env, "PATH=/usr/local/bin:/usr/bin:/bin", "HOME="+dir, "LANG=C.UTF-8")
	cmd.Dir = dir
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true              // its own group, so Stop reaches the jail and x11vnc
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // never outlive the server
	if err := cmd.Start(); err != nil {
		log.Error().Err(err).Msg("x11vnc did not start")
		return fail(internal("start x11vnc", err))
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		// Its segments carry its pid as their creator.
		if pid := int(s.pid.Load()); pid != 0 {
			RemoveSegments(func(cpid, _ int) bool { return cpid == pid })
		}
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
		if s.pid.Load() == 0 {
			p := strconv.Itoa(s.cmd.Process.Pid)
			b, _ := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
			if f := strings.Fields(string(b)); len(f) > 0 {
				pid, _ := strconv.Atoi(f[0])
				s.pid.Store(int32(pid))
			}
		}
		if _, err := os.Stat(s.sock); err == nil && s.pid.Load() != 0 {
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

// PID is x11vnc's process id (in the jail, a child of the process Command
// made).
func (s *Server) PID() int { return int(s.pid.Load()) }

// Spec is the effective spec (defaults filled).
func (s *Server) Spec() Spec { return s.spec }

func (s *Server) kill() {
	// SIGTERM lets x11vnc release keys a viewer held (the jail's own
	// process would die of it first and take x11vnc down); it sometimes
	// lingers in its clean-up for seconds, and nothing of it needs saving,
	// so it gets little time before the whole group is killed.
	if pid := int(s.pid.Load()); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	} else {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	}
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
