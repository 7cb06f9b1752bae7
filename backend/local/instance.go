//go:build linux

package local

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/driver/apps"
	"github.com/vmservice/vmservice/driver/bwrap"
	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/sandbox"
)

// Paths inside every sandbox.
const (
	homeDir      = "/home/user"
	xauthPath    = "/.vmservice/Xauthority"
	innerUID     = 1000
	sandboxPath  = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	startTimeout = 20 * time.Second
	// desktopBackground is a mid-tone behind the windows: white pages and
	// black terminals both stand out from it (it was black).
	desktopBackground = 0x3a6ea5
)

// Instance is one local sandbox.
type Instance struct {
	p        *Provider
	agentBin string
	id       string
	cfg      sandbox.Config
	labels   map[string]string
	log      zerolog.Logger
	slot     *slot
	dir      string // host: the sandbox's state directory
	home     string // host: bound at /home/user
	xdir     string // host: the X server's socket directory (/tmp/.X11-unix inside)
	cookie   []byte
	cg       *sandboxCgroup
	sysArgs  []string // bubblewrap binds of its own system files (sysfiles.go)

	holder *holder // without root: the user namespace of the slot's uid (rootless.go)

	// The parts of the desktop, replaced when one is restarted (recover.go):
	// read them under mu (or while holding recMu).
	mu        sync.Mutex
	xvfb      *exec.Cmd
	bwrap     *exec.Cmd
	slirp     *exec.Cmd
	slirpDone chan struct{}
	xDone     chan struct{} // closed when Xvfb exits
	xNSPid    int           // host pid of a process in the X server's namespaces
	ag        *agentClient
	desk      *x11.Conn
	wmPID     int
	childPID  int // host pid of the sandbox's init (joins its namespaces)
	wmExit    chan struct{}
	rec       recovery
	recMu     sync.Mutex // held by a restart and by teardown

	network string
	a11y    a11yClient

	destroyOnce sync.Once
	destroyErr  error
	destroyed   chan struct{}
}

var _ sandbox.Instance = (*Instance)(nil)

// Create boots a sandbox. On error everything started so far is removed.
func (p *Provider) Create(ctx context.Context, cfg sandbox.Config, labels map[string]string) (sandbox.Instance, error) {
	return p.CreateLocal(ctx, cfg, labels)
}

// CreateLocal is Create returning the concrete type (for the Start / Stat /
// MakeDir / Remove extensions).
func (p *Provider) CreateLocal(ctx context.Context, cfg sandbox.Config, labels map[string]string) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.AllowInternetAccess {
		if err := p.internetUnavailable(); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, unavailable("the local backend is closed")
	}
	p.mu.Unlock()
	agentBin, err := installAgent(filepath.Join(p.opts.StateDir, "bin")) // cheap when present; marks it in use
	if err != nil {
		return nil, unavailable("cannot install the sandbox agent").WithCause(err)
	}

	s, err := p.acquireSlot()
	if err != nil {
		return nil, err
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	in := &Instance{p: p, agentBin: agentBin, id: "local-" + hex.EncodeToString(idb[:]), cfg: cfg, labels: labels, slot: s,
		dir: p.slotDir(s), xDone: make(chan struct{}), destroyed: make(chan struct{}), network: "none", wmExit: make(chan struct{}, 1)}
	if p.rootless == nil { // without root the home is bubblewrap's tmpfs
		in.home = filepath.Join(in.dir, "home")
	}
	in.xdir = filepath.Dir(p.slotSocket(s))
	in.log = p.log.With().Str("instance", in.id).Int("slot", s.n).Logger()
	if cfg.AllowInternetAccess {
		in.network = "slirp4netns"
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := in.boot(ctx); err != nil {
		_ = in.Destroy(context.Background())
		se := sandbox.AsError(err)
		if se.Code == sandbox.CodeInternal {
			se = sandbox.Errorf(sandbox.CodeCreationFailed, "the local backend could not start the sandbox; see the server log").WithCause(err)
		}
		in.log.Error().Err(err).AnErr("cause", se.Unwrap()).Msg("sandbox creation failed")
		return nil, se
	}
	// Registered only once booted, so Close never races a boot.
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.instances[in] = struct{}{}
	}
	p.mu.Unlock()
	if closed {
		_ = in.Destroy(context.Background())
		return nil, unavailable("the local backend is closed")
	}
	in.log.Debug().Dur("took", time.Since(start)).Int("uid", s.uid).Int("display", s.display).Msg("sandbox created")
	go in.watch()
	return in, nil
}

func (in *Instance) boot(ctx context.Context) error {
	s := in.slot
	in.cookie = make([]byte, 16)
	if _, err := rand.Read(in.cookie); err != nil {
		return err
	}
	// The sandbox's state directory is a small file system of its own, so
	// what is bound from it (the X socket directory, the system files)
	// shows no host path in the sandbox's mountinfo; only root and the
	// slot's uid (its group) may enter: another slot's uid must not reach
	// its X socket directory (Xvfb makes it 1777). Without root: a plain
	// directory only the server's uid and (by an ACL) the slot's may enter.
	if err := os.Mkdir(in.dir, 0o710); err != nil {
		return err
	}
	if in.p.rootless == nil {
		if err := syscall.Mount("vmservice-sb", in.dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
			fmt.Sprintf("size=16m,nr_inodes=4096,mode=0710,uid=0,gid=%d", s.uid)); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	} else if err := os.Chmod(in.dir, 0o700); err != nil {
		return err
	} else if err := in.handOver(in.dir, 1); err != nil {
		return err
	}
	if in.home != "" {
		if err := os.Mkdir(in.home, 0o700); err != nil {
			return err
		}
		if err := mountHome(in.home, s.uid, in.p.quotaMB(in.cfg.MemoryMB)); err != nil {
			return fmt.Errorf("home quota: %w", err)
		}
		if err := in.seedHome(); err != nil {
			return err
		}
	}
	xmode := os.FileMode(0o755)
	if in.p.rootless != nil { // the slot's uid gets in by an ACL (handOver)
		xmode = 0o700
	}
	if err := os.Mkdir(in.xdir, xmode); err != nil {
		return err
	}
	var err error
	if in.sysArgs, err = sysBinds(filepath.Join(in.dir, "sys")); err != nil {
		return fmt.Errorf("system files: %w", err)
	}
	// For display 0 (as seen inside; the wildcard family matches the
	// sandbox's own host name); Xvfb reads the same file.
	if err := x11.WriteXauthority(filepath.Join(in.dir, "Xauthority"), 0, in.cookie); err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		perm uint32
	}{{in.home, 7}, {in.xdir, 7}, {filepath.Join(in.dir, "Xauthority"), 4}} {
		if err := in.handOver(f.path, f.perm); err != nil {
			return err
		}
	}
	owner := s.uid // of the cgroup files the sandbox's helpers write
	if in.p.rootless != nil {
		owner = os.Geteuid()
	}
	if in.cg, err = in.p.cg.create(in.p.cgroupName(s), owner, limits{memoryMB: in.cfg.MemoryMB, cpus: in.cfg.CPUCount, pids: in.p.opts.PidsMax}); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := in.startHolder(); err != nil {
		return err
	}
	// The X server and the sandbox start together: the sandbox binds the
	// X server's socket directory, where the socket appears when ready.
	t0 := time.Now()
	xerr := make(chan error, 1)
	var xTook time.Duration
	go func() { err := in.startXvfb(ctx); xTook = time.Since(t0); xerr <- err }()
	childPID, err := in.startAgent(ctx)
	if err == nil && in.home == "" {
		err = in.seedTmpfsHome(ctx)
	}
	agentTook := time.Since(t0)
	if err = errors.Join(err, <-xerr); err != nil {
		return err
	}
	var wmTook time.Duration
	defer func() {
		in.log.Debug().Dur("xvfb", xTook).Dur("agent", agentTook).Dur("wm", wmTook).Dur("total", time.Since(t0)).Msg("boot phases")
	}()
	in.mu.Lock()
	in.childPID = childPID
	in.mu.Unlock()
	errc := make(chan error, 3)
	go func() { err := in.startWM(ctx); wmTook = time.Since(t0); errc <- err }()
	go func() { errc <- in.startSessionBus(ctx) }()
	go func() {
		if in.cfg.AllowInternetAccess {
			errc <- in.startSlirp(ctx, childPID)
			return
		}
		errc <- nil
	}()
	derr := in.dialDisplay(ctx)
	return errors.Join(derr, <-errc, <-errc, <-errc)
}

// dialDisplay connects the server to the sandbox's X server and paints the
// desktop's background.
func (in *Instance) dialDisplay(ctx context.Context) error {
	desk, err := x11.Dial(in.p.slotSocket(in.slot), in.cookie)
	if err != nil {
		return err
	}
	desk.SetLogger(in.log)
	// Settle detection also watches the applications (the user leaf);
	// without a cgroup (without root) it watches the screen alone.
	if in.cg != nil {
		desk.SetAppBusy(in.cg.userDemand)
	}
	in.mu.Lock()
	in.desk = desk
	in.mu.Unlock()
	return desk.SetBackground(ctx, desktopBackground)
}

// launcher builds a command that runs argv as the sandbox uid inside its
// cgroup.
func (in *Instance) launcher(argv ...string) *exec.Cmd {
	cmd := &exec.Cmd{Path: in.agentBin, Args: append([]string{in.agentBin}, argv...), Dir: "/"}
	cmd.Env = []string{reexecEnv + "=" + modeLauncher, "PATH=" + sandboxPath, "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A process left holding its output pipes (see teardown) never keeps
	// Wait, and so the sandbox's destruction, from returning.
	cmd.WaitDelay = 10 * time.Second
	switch {
	case in.p.rootless == nil:
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(in.slot.uid), Gid: uint32(in.slot.gid), Groups: []uint32{}}
	case in.p.rootless.separateUIDs():
		// The launcher (the server's uid) opens what the sandbox gets, then
		// becomes the slot's uid in the holder's namespace.
		cmd.Args = append([]string{in.agentBin}, in.asSlotUID(argv)...)
	}
	switch {
	case in.cg == nil:
	case in.cg.v2:
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(in.cg.fd.Fd())
	default:
		cmd.Env = append(cmd.Env, cgroupsEnv+"="+in.cg.procsFiles())
	}
	return cmd
}

// tail keeps the last bytes a helper wrote to stderr, for error logs.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// startXvfb starts the X server in a bubblewrap sandbox of its own (no
// network, read-only system directories, private /tmp) as display 0, with
// its socket directory bound from the host; it shares only the host's IPC
// namespace, for MIT-SHM screenshots.
func (in *Instance) startXvfb(ctx context.Context) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	r := in.cfg.Resolution
	// Its own IPC namespace too: in the host's, any client could make it
	// attach (MIT-SHM) and copy out any host segment the slot uid may read.
	// x11vnc joins this namespace (stream.go); so does the server, for each
	// screenshot segment (x11.inIPCNamespace).
	args := []string{in.p.tools["bwrap"],
		"--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-ipc", "--unshare-cgroup-try",
		"--die-with-parent", "--new-session"}
	// Only /usr (binaries, fonts, keyboard maps): X clients can point the
	// server at files (font paths), so it sees no /etc or /opt of the host.
	// Its /tmp holds the shared memory clients ask it to create
	// (ShmCreateSegment: browsers' frames), bounded like its data.
	args = append(args, bwrap.System()...)
	args = append(args, "--proc", "/proc", "--dev", "/dev", "--size", strconv.Itoa(xDataLimit(r)), "--tmpfs", "/tmp",
		"--bind", in.xdir, "/tmp/.X11-unix",
		"--ro-bind", filepath.Join(in.dir, "Xauthority"), xauthPath,
		"--clearenv", "--setenv", "PATH", sandboxPath,
		in.p.tools["Xvfb"], ":0",
		"-screen", "0", fmt.Sprintf("%dx%dx24", r.Width, r.Height),
		"-nolisten", "tcp", "-nolisten", "local", "-noreset",
		// No GLX: it maps Mesa (tens of MiB per display); browsers run with
		// --disable-gpu / software rendering anyway.
		"-extension", "GLX",
		"-auth", xauthPath, "-displayfd", "3")
	args = append(args, testXvfbArgs...)
	cmd := in.launcher(args...)
	// X clients make the server allocate (pixmaps, windows): a data limit
	// turns a client asking for gigabytes into BadAlloc for that client,
	// instead of an X server the out-of-memory killer takes down (the
	// framebuffer is in its data too).
	cmd.Env = append(cmd.Env, dataLimitEnv+"="+strconv.Itoa(xDataLimit(r)))
	cmd.ExtraFiles = []*os.File{pw}
	stderr := &tail{}
	cmd.Stderr = stderr
	done := make(chan struct{})
	in.mu.Lock()
	in.xDone = done
	in.mu.Unlock()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		close(done)
		return err
	}
	in.mu.Lock()
	in.xvfb = cmd
	in.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		if s := stderr.String(); s != "" {
			in.log.Debug().Str("stderr", s).Str("status", cmd.ProcessState.String()).Msg("X server exited")
		}
		close(done)
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(pr).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l != "0" {
			<-done
			return unavailable("the display server did not start").WithCause(fmt.Errorf("Xvfb: %s", stderr))
		}
		// bubblewrap's child is in the X server's namespaces.
		if kids := procfs.Children(cmd.Process.Pid); len(kids) > 0 {
			in.mu.Lock()
			in.xNSPid = kids[0]
			in.mu.Unlock()
		}
		return nil
	case <-done:
		return unavailable("the display server did not start").WithCause(fmt.Errorf("Xvfb exited: %s", stderr))
	case <-ctx.Done():
		pr.Close()
		return ctx.Err()
	}
}

// xDataLimit is the X server's RLIMIT_DATA for a screen of r: 4 frame
// buffers and 160 MiB (it uses about 8 MiB on an idle 1024x768 desktop).
func xDataLimit(r sandbox.Resolution) int { return 4*r.Width*r.Height*4 + 160<<20 }

// testXvfbArgs lets tests make the X server fail.
var testXvfbArgs []string

// systemBinds are the read-only system directories every sandbox sees.
func systemBinds() []string {
	a := append(bwrap.System(), "--ro-bind", "/etc", "/etc")
	if st, err := os.Stat("/opt"); err == nil && st.IsDir() {
		a = append(a, "--ro-bind", "/opt", "/opt")
	}
	return a
}

// bwrapArgs is the sandbox: fresh namespaces, read-only system directories,
// a private home and /tmp, the display as :0.
func (in *Instance) bwrapArgs() []string {
	a := []string{in.p.tools["bwrap"],
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
		// The agent is the pid namespace's init: no process of bubblewrap's
		// sits inside holding what the agent holds.
		"--as-pid-1",
		"--die-with-parent", "--new-session", "--hostname", sandboxHostname,
		"--uid", strconv.Itoa(innerUID), "--gid", strconv.Itoa(innerUID),
	}
	a = append(a, systemBinds()...)
	a = append(a, in.sysArgs...)
	for _, b := range in.p.opts.ROBinds {
		a = append(a, "--ro-bind", b.Host, b.Path)
	}
	// The system font cache: without it every application (the window
	// manager first) scans all fonts at start-up.
	if st, err := os.Stat("/var/cache/fontconfig"); err == nil && st.IsDir() {
		a = append(a, "--ro-bind", "/var/cache/fontconfig", "/var/cache/fontconfig")
	}
	// Every writable place is a size-bounded tmpfs (/, /dev and /.vmservice
	// end read-only): the home, /tmp (and /var/tmp), the working directory,
	// /run, /dev/shm.
	q := strconv.Itoa(in.p.quotaMB(in.cfg.MemoryMB) << 20)
	small := strconv.Itoa(min(in.p.quotaMB(in.cfg.MemoryMB), 64) << 20)
	a = append(a,
		"--proc", "/proc", "--dev", "/dev", "--size", q, "--tmpfs", "/dev/shm",
		"--size", q, "--tmpfs", "/tmp", "--size", small, "--tmpfs", "/run", "--symlink", "/tmp", "/var/tmp",
		"--ro-bind", in.xdir, "/tmp/.X11-unix")
	if in.home != "" {
		a = append(a, "--bind", in.home, homeDir)
	} else { // without root the home is a tmpfs of the sandbox's own
		a = append(a, "--perms", "0700", "--size", q, "--tmpfs", homeDir, "--dir", homeDir+"/.config")
	}
	a = append(a,
		// The cookie is copied in; the agent runs from the descriptor of
		// its binary: no host path in the sandbox's mountinfo.
		"--perms", "0444", "--ro-bind-data", strconv.Itoa(xauthDataFD), xauthPath,
		"--perms", "0700", "--dir", "/tmp/runtime-user",
		"--perms", "0700", "--dir", sessionBusDir)
	switch wd := in.cfg.WorkingDirectory; {
	case ownTmpfs(wd):
		a = append(a, "--size", q, "--tmpfs", wd)
	case !under(wd, homeDir) || in.home == "":
		a = append(a, "--dir", wd)
	}
	a = append(a, "--remount-ro", "/dev", "--remount-ro", "/",
		"--chdir", in.cfg.WorkingDirectory,
		"--clearenv", "--setenv", reexecEnv, modeAgent, "--setenv", "PATH", sandboxPath,
		"--setenv", "HOME", homeDir, "--setenv", "LANG", "C.UTF-8",
		"--setenv", userFDsEnv, in.userFDs())
	if !in.cg.has("pids") {
		a = append(a, "--setenv", nprocEnv, strconv.Itoa(userPidsMax(in.p.opts.PidsMax)))
	}
	a = append(a,
		"--info-fd", "3",
		"/proc/self/fd/"+strconv.Itoa(agentExeFD))
	return a
}

// under reports whether p is root or below it.
func under(p, root string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// ownTmpfs reports whether the working directory wd gets a tmpfs of its own
// (the root is read-only): it is outside the home and /tmp, and neither
// the root nor in a system directory.
func ownTmpfs(wd string) bool {
	if wd == "/" {
		return false
	}
	for _, d := range []string{homeDir, "/tmp", "/usr", "/etc", "/opt", "/proc", "/dev", "/run", "/var", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/.vmservice"} {
		if under(wd, d) {
			return false
		}
	}
	return true
}

// userFDs are the fd numbers the launcher gives the agent for the user
// cgroup (see userProcsEnv).
func (in *Instance) userFDs() string {
	files := in.cg.userProcsFiles()
	if files == "" { // no cgroup
		return ""
	}
	var fds []string
	for i := range strings.Split(files, string(os.PathListSeparator)) {
		fds = append(fds, strconv.Itoa(userFDBase+i))
	}
	return strings.Join(fds, ",")
}

// startAgent starts bubblewrap with the agent and returns the host pid of
// the sandbox's init (for joining its namespaces).
func (in *Instance) startAgent(ctx context.Context) (int, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd := in.launcher(in.bwrapArgs()...)
	cmd.Env = append(cmd.Env, userProcsEnv+"="+in.cg.userProcsFiles())
	stderr := &tail{}
	cmd.Stderr = stderr
	ag, ends, err := newAgentClient(cmd, in.log)
	if err != nil {
		pw.Close()
		return 0, err
	}
	exe, err := os.Open(in.agentBin)
	var xauth *os.File
	if err == nil {
		xauth, err = dataPipe(in.xauthority())
	}
	if err != nil {
		pw.Close()
		ag.w.Close()
		ag.r.Close()
		for _, f := range append(ends, exe) {
			if f != nil {
				f.Close()
			}
		}
		return 0, err
	}
	cmd.ExtraFiles = []*os.File{pw, ends[0], ends[1], exe, xauth} // 3, agentInFD, agentOutFD, agentExeFD, xauthDataFD
	err = cmd.Start()
	pw.Close()
	for _, f := range append(ends, exe, xauth) {
		f.Close()
	}
	if err != nil {
		ag.w.Close()
		ag.r.Close()
		return 0, err
	}
	ag.onExit = in.onProcessExit
	in.mu.Lock()
	in.bwrap = cmd
	in.ag = ag
	in.mu.Unlock()
	ag.start(stderr)

	type info struct {
		ChildPID int `json:"child-pid"`
	}
	infoc := make(chan info, 1)
	go func() {
		var i info
		_ = json.NewDecoder(pr).Decode(&i)
		infoc <- i
	}()
	var i info
	select {
	case i = <-infoc:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if i.ChildPID == 0 {
		<-ag.dead
		return 0, unavailable("the sandbox did not start").WithCause(fmt.Errorf("bwrap: %s", stderr))
	}
	if _, err := ag.call(ctx, &request{Op: opPing}); err != nil {
		return 0, err
	}
	return i.ChildPID, nil
}

// xauthority is the sandbox's Xauthority file (the Xvfb's too: display 0,
// as seen inside; the wildcard family matches the sandbox's own host name).
func (in *Instance) xauthority() []byte {
	b, _ := os.ReadFile(filepath.Join(in.dir, "Xauthority"))
	return b
}

// dataPipe is a pipe holding data (less than a pipe's buffer) for a child
// to read: its read end.
func dataPipe(data []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = w.Write(data)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// baseEnv is every sandbox process's environment before the config's and
// the request's variables.
func (in *Instance) baseEnv() map[string]string {
	m := map[string]string{
		"PATH": sandboxPath, "HOME": homeDir, "USER": "user", "LOGNAME": "user", "SHELL": "/bin/bash",
		"LANG": "C.UTF-8", "DISPLAY": ":0", "XAUTHORITY": xauthPath, "TERM": "xterm-256color",
		"XDG_RUNTIME_DIR": "/tmp/runtime-user", "DBUS_SESSION_BUS_ADDRESS": sessionBusAddress,
	}
	for k, v := range apps.AccessibilityEnv {
		m[k] = v
	}
	return m
}

// DisplayEnv is what an X client inside the sandbox needs to reach its
// display (for a process started by something other than the agent).
func (in *Instance) DisplayEnv() map[string]string {
	return map[string]string{"DISPLAY": ":0", "XAUTHORITY": xauthPath}
}

func (in *Instance) env(extra map[string]string) []string {
	m := in.baseEnv()
	for k, v := range in.cfg.Environment {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func (in *Instance) startWM(ctx context.Context) error {
	c := in.agent()
	m, err := c.callHook(ctx, &request{Op: opStartWM, Argv: []string{"openbox", "--sm-disable"}, Env: in.env(nil), Cwd: homeDir},
		func(m *message) {
			if m.Err == nil { // watched before its exit event can be read
				c.mu.Lock()
				c.watch[m.PID] = true
				c.mu.Unlock()
				in.mu.Lock()
				in.wmPID = m.PID
				in.mu.Unlock()
			}
		})
	if err != nil {
		return err
	}
	if m.Err != nil {
		return unavailable("the window manager did not start: %s", m.Err.Msg)
	}
	return nil
}

func (in *Instance) startSlirp(ctx context.Context, childPID int) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	// bubblewrap nests a second user namespace inside the one that owns the
	// sandbox's network namespace; slirp4netns must join the owner.
	netns, err := os.Open("/proc/" + strconv.Itoa(childPID) + "/ns/net")
	if err != nil {
		pw.Close()
		return err
	}
	defer netns.Close()
	userns, err := nsOwner(netns)
	if err != nil {
		pw.Close()
		return err
	}
	defer userns.Close()
	slirp := []string{in.p.tools["slirp4netns"], "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-seccomp",
		"--ready-fd", "3", "--userns-path=/proc/self/fd/4", "--netns-type=path", "/proc/self/fd/5", "tap0"}
	var cmd *exec.Cmd
	if in.p.rootless != nil {
		cmd = in.launcher(slirp...) // as the sandbox's uid, with the host's tun device
	} else {
		uid := strconv.Itoa(in.slot.uid)
		cmd = in.launcher(append([]string{in.p.tools["setpriv"], "--reuid", uid, "--regid", uid, "--clear-groups", "--"}, slirp...)...)
		// The launcher starts as root in its own mount namespace to give the
		// uid a tun device; setpriv then drops to the uid before slirp4netns
		// runs. slirp4netns parses the sandbox's packets as the slot's uid in
		// the host's user namespace, which owns the sandbox's: were it
		// subverted, it could ptrace the agent or open its descriptors. So it
		// runs as the init of a pid namespace of its own with a /proc of that
		// namespace (the launcher mounts it): no process of the sandbox has a
		// pid there.
		cmd.SysProcAttr.Credential = nil
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
		cmd.Env = append(cmd.Env, tunEnv+"="+uid)
	}
	cmd.ExtraFiles = []*os.File{pw, userns, netns}
	stderr := &tail{}
	cmd.Stderr = stderr
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	in.mu.Lock()
	in.slirp = cmd
	in.slirpDone = exited
	in.mu.Unlock()
	go func() { _ = cmd.Wait(); close(exited) }()
	ready := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := pr.Read(b)
		ready <- n == 1
	}()
	select {
	case ok := <-ready:
		if ok {
			return nil
		}
	case <-exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	return unavailable("user-mode networking did not start").WithCause(fmt.Errorf("slirp4netns: %s", stderr))
}

// ID is the backend's id of the sandbox.
func (in *Instance) ID() string { return in.id }

// Details never contain host paths.
func (in *Instance) Details() map[string]any {
	d := map[string]any{"backend": "local", "display": ":0", "network": in.network, "input": "x11-direct"}
	if in.p.rootless != nil {
		maps.Copy(d, in.p.rootless.details())
	}
	return d
}

// SetTimeout is a no-op: the Manager keeps the expiry timer.
func (in *Instance) SetTimeout(context.Context, time.Duration) error { return nil }

// Destroy kills every process of the sandbox (everything in its cgroup),
// removes its cgroup, directories, display lock and socket, and frees its
// slot. It is idempotent.
func (in *Instance) Destroy(ctx context.Context) error {
	in.destroyOnce.Do(func() {
		close(in.destroyed)
		in.destroyErr = in.teardown()
		in.p.mu.Lock()
		delete(in.p.instances, in)
		in.p.mu.Unlock()
	})
	return in.destroyErr
}

func (in *Instance) teardown() error {
	in.recMu.Lock() // a restart under way finishes (cut short) first
	defer in.recMu.Unlock()
	in.closeVNC() // stream: a clean stop first (the cgroup kill below would end x11vnc too)
	var errs []error
	if in.desk != nil {
		_ = in.desk.Close()
	}
	if in.ag != nil {
		in.ag.close()
	}
	// Our direct children first: a launcher that has not joined the cgroup
	// yet (create failing right after starting it) is invisible to the
	// cgroup but cannot have forked anything; one that has joined is caught
	// by the cgroup kill below, with everything it started.
	for _, c := range []*exec.Cmd{in.xvfb, in.bwrap, in.slirp} {
		if c != nil && c.Process != nil {
			if in.cg == nil {
				// No cgroup (without root): a jail's processes die with its
				// pid namespace's init, bubblewrap's child, which its
				// --die-with-parent misses when bubblewrap is killed while
				// the child starts (seen: a create cancelled by a closing
				// pool left the X server's init waiting, holding its pipes).
				// Only while the pid is still our unreaped child: a reaped
				// one's pid may be another sandbox's process by now (a fork
				// bomb's children were killed so).
				if st, ok := procfs.ReadStatus(c.Process.Pid); ok && st.PPid == os.Getpid() {
					for _, k := range procfs.Children(c.Process.Pid) {
						_ = syscall.Kill(k, syscall.SIGKILL)
					}
				}
			}
			_ = c.Process.Kill()
		}
	}
	if in.cg != nil {
		errs = append(errs, in.cg.destroy())
	} else if in.p.rootless.separateUIDs() {
		killUID(in.slot.uid) // the slot's uid is this sandbox's alone
	}
	// Reap; never hang here: if something still holds the agent's pipe,
	// force the end of its output.
	wait := func(what string, done <-chan struct{}, force func()) {
		if done == nil {
			return
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("%s did not exit", what))
			if force != nil {
				force()
			}
			<-done
		}
	}
	if in.xvfb != nil {
		wait("the X server", in.xDone, func() { _ = in.xvfb.Process.Kill() })
	}
	if in.ag != nil {
		wait("the sandbox", in.ag.dead, func() { _ = in.ag.r.Close() })
	}
	wait("slirp4netns", in.slirpDone, func() { _ = in.slirp.Process.Kill() })
	releaseDisplay(in.slot.display) // claimed with the slot (acquireSlot)
	if in.p.rootless == nil {
		unmountAll(in.home)
		unmountAll(in.dir)
	}
	if in.holder != nil {
		in.holder.stop()
	}
	removeShm(in.slot.uid)
	if err := os.RemoveAll(in.dir); err != nil {
		errs = append(errs, err)
	}
	in.slot.release()
	err := errors.Join(errs...)
	if err != nil {
		in.log.Error().Err(err).Msg("sandbox teardown incomplete")
		return sandbox.Errorf(sandbox.CodeInternal, "the sandbox was stopped but not fully cleaned up; see the server log").WithCause(err)
	}
	return nil
}

var _ sandbox.Adopter = (*Instance)(nil)

// Adopt hands a pooled instance (booted with the pool's base config and
// never used) to its owner: the owner's limits, environment, working
// directory, internet access and labels. The display resolution cannot
// change.
func (in *Instance) Adopt(ctx context.Context, cfg sandbox.Config, labels map[string]string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Resolution != in.cfg.Resolution {
		return sandbox.InvalidArgument("resolution", "a pooled sandbox has resolution %s, not %s", in.cfg.Resolution, cfg.Resolution)
	}
	if in.cfg.AllowInternetAccess && !cfg.AllowInternetAccess {
		return sandbox.InvalidArgument("allow_internet_access", "a pooled sandbox with internet access cannot be handed out without it")
	}
	if err := in.cg.setLimits(limits{memoryMB: cfg.MemoryMB, cpus: cfg.CPUCount, pids: in.p.opts.PidsMax}); err != nil {
		return unavailable("cannot apply the sandbox's limits").WithCause(err)
	}
	if q := in.p.quotaMB(cfg.MemoryMB); q != in.p.quotaMB(in.cfg.MemoryMB) {
		resize := func() error { return resizeQuota(ctx, in.p.tools["nsenter"], in.home, in.childPID, q) }
		if in.p.rootless != nil {
			resize = func() error { return resizeQuotaUnprivileged(ctx, in.p.tools["nsenter"], in.holder, in.childPID, q) }
		}
		if err := resize(); err != nil {
			return unavailable("cannot apply the sandbox's disk quota").WithCause(err)
		}
	}
	if cfg.WorkingDirectory != in.cfg.WorkingDirectory {
		if _, err := in.fileCall(ctx, &request{Op: opMkdir, Path: cfg.WorkingDirectory}); err != nil {
			return err
		}
	}
	if cfg.AllowInternetAccess && !in.cfg.AllowInternetAccess {
		if err := in.p.internetUnavailable(); err != nil {
			return err
		}
		if err := in.startSlirp(ctx, in.childPID); err != nil {
			return err
		}
		in.network = "slirp4netns"
	}
	in.cfg = cfg
	in.labels = labels
	return nil
}
