//go:build linux

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
	handOver := spec.HandOver
	if handOver == nil {
		handOver = func(p string, _ bool) error { return os.Chown(p, int(spec.UID), int(spec.GID)) }
	}
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
			err = handOver(filepath.Join(dir, name), false)
		}
		if err != nil {
			return fail(internal("write the stream's files", err))
		}
	}
	if asOther {
		if err := handOver(dir, true); err != nil {
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
