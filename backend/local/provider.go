//go:build linux

// Package local is the embedded backend: every sandbox is a desktop on this
// machine made of its own Xvfb, an openbox window manager and an in-sandbox
// agent, all running as a per-sandbox unprivileged uid, inside bubblewrap
// namespaces and a cgroup that enforces memory, CPU and process limits.
//
// Isolation in short:
//   - slot N (a flock under LockDir, machine-wide, so several servers can
//     share the machine) gives uid/gid UIDBase+N and display DisplayBase+N.
//     No sandbox process runs as root or as a uid that maps to root: every
//     helper drops to UIDBase+N before bubblewrap creates its user namespace,
//     so uid 1000 inside is UIDBase+N outside.
//   - The sandbox: bubblewrap with new user, mount, pid, ipc, uts, network
//     and cgroup namespaces; /usr, /etc, /opt read-only, a private /tmp, the
//     home (StateDir/sb/sN/home, 0700, owned by the uid) at /home/user, the
//     display's socket directory at /tmp/.X11-unix and its cookie.
//   - Xvfb runs in a bubblewrap of its own (no network, private /tmp,
//     read-only system directories) as display 0, its socket in
//     StateDir/sb/sN/x11; on the host /tmp/.XN-lock and a symlink
//     /tmp/.X11-unix/XN keep display :N claimed for host tools (x11vnc).
//   - Network: always a fresh network namespace; with internet access,
//     slirp4netns (as the uid, --disable-host-loopback) gives user-mode
//     networking that cannot reach the host's loopback services.
//   - cgroups (v1 memory/cpu/pids, or v2): the sandbox's cgroup holds the
//     CPU quota and totals, with a "sys" leaf for the desktop's own
//     processes and a "user" leaf (memory_mb, the process limit less a
//     reserve) for everything the user runs, so a memory hog or fork bomb
//     never takes the agent or the display down. The launcher (this binary
//     re-executed, see reexec.go) joins "sys" before exec'ing Xvfb / bwrap /
//     slirp4netns; user processes move themselves into "user" before their
//     first instruction (agent.go). Destroy kills the whole cgroup.
//   - The agent (this binary re-executed as the sandbox's pid 1, see
//     agent.go and protocol.go) runs every command and file operation inside,
//     so paths resolve in the sandbox's own view of the file system. What it
//     starts runs in a user namespace below its own, so nothing the sandbox
//     runs can ptrace it or take its descriptors (the server's channel).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/sandbox"
)

func (o *Options) defaults() {
	if o.StateDir == "" {
		o.StateDir = "/run/vmservice/local"
		if os.Geteuid() != 0 {
			o.StateDir = filepath.Join(rootlessBase(), "local")
		}
	}
	if o.LockDir == "" {
		o.LockDir = "/run/vmservice-local-slots"
		if os.Geteuid() != 0 {
			o.LockDir = filepath.Join(rootlessBase(), "slots")
		}
	}
	if o.UIDBase == 0 {
		o.UIDBase = 200000
	}
	if o.DisplayBase == 0 {
		o.DisplayBase = 100
	}
	if o.MaxSlots == 0 {
		o.MaxSlots = 1000
	}
	if o.PidsMax == 0 {
		o.PidsMax = 1024
	}
	if o.CgroupParent == "" {
		o.CgroupParent = "vmservice"
	}
	if o.DiskMB == 0 {
		o.DiskMB = 1024
	}
}

// validate refuses ranges that could hand a sandbox a system, login or
// nobody uid, or step outside X display numbers.
func (o *Options) validate() error {
	const nobody = 65534
	switch {
	case o.MaxSlots < 1 || o.MaxSlots > 65535:
		return sandbox.InvalidArgument("local_max_slots", "local max slots must be between 1 and 65535, got %d", o.MaxSlots)
	case os.Geteuid() != 0:
		// Without root, sandbox uids come from /etc/subuid (rootless.go).
	case o.UIDBase < 10000 || o.UIDBase > 1<<30:
		return sandbox.InvalidArgument("local_uid_base", "local uid base must be between 10000 and %d (clear of system and login uids), got %d", 1<<30, o.UIDBase)
	case o.UIDBase <= nobody+1 && o.UIDBase+o.MaxSlots > nobody-1:
		return sandbox.InvalidArgument("local_uid_base", "local uid range %d-%d includes nobody (65534); choose a base above 65535", o.UIDBase, o.UIDBase+o.MaxSlots-1)
	}
	switch {
	case o.DisplayBase < 1 || o.DisplayBase+o.MaxSlots > 65535:
		return sandbox.InvalidArgument("local_display_base", "local display range %d-%d must lie within 1-65534", o.DisplayBase, o.DisplayBase+o.MaxSlots-1)
	case o.PidsMax < 64:
		return sandbox.InvalidArgument("pids_max", "local pids limit must be at least 64, got %d", o.PidsMax)
	case strings.ContainsAny(o.CgroupParent, "/\\") || o.CgroupParent == "." || o.CgroupParent == ".." || strings.TrimSpace(o.CgroupParent) == "":
		return sandbox.InvalidArgument("local_cgroup_parent", "local cgroup parent must be a plain name, got %q", o.CgroupParent)
	case !filepath.IsAbs(o.StateDir) || !filepath.IsAbs(o.LockDir):
		return sandbox.InvalidArgument("local_state_dir", "local state and lock directories must be absolute paths")
	}
	for _, b := range o.ROBinds {
		p := filepath.Clean(b.Path)
		if !filepath.IsAbs(b.Host) || !filepath.IsAbs(p) || p == "/" {
			return sandbox.InvalidArgument("binds", "a bind needs absolute host and sandbox paths, got %q -> %q", b.Host, b.Path)
		}
		for _, own := range []string{homeDir, "/tmp", "/proc", "/dev", "/run"} {
			if p == own || strings.HasPrefix(p, own+"/") {
				return sandbox.InvalidArgument("binds", "a bind may not cover the sandbox's own %s, got %q", own, b.Path)
			}
		}
		if _, err := os.Stat(b.Host); err != nil {
			return sandbox.InvalidArgument("binds", "a bind's host path does not exist: %v", err)
		}
	}
	return nil
}

// Provider is the local backend.
type Provider struct {
	opts     Options
	log      zerolog.Logger
	cg       *cgroups // nil: none (rootless, nothing delegated)
	agentBin string   // the re-executable copy of this binary
	tools    map[string]string
	rootless *rootless // nil: running as root

	mu        sync.Mutex
	instances map[*Instance]struct{}
	closed    bool
}

var _ sandbox.Provider = (*Provider)(nil)

func unavailable(format string, args ...any) *sandbox.Error {
	return sandbox.Errorf(sandbox.CodeBackendUnavailable, format, args...)
}

// New checks the prerequisites, prepares the state directory and cleans up
// whatever a killed earlier run left behind.
func New(opts Options) (*Provider, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p := &Provider{opts: opts, log: opts.Log.With().Str("backend", "local").Logger(),
		instances: map[*Instance]struct{}{}, tools: map[string]string{}}
	for _, t := range []struct{ bin, pkg string }{{"bwrap", "bubblewrap"}, {"Xvfb", "xvfb"}, {"openbox", "openbox"}, {"nsenter", "util-linux"}, {"dbus-daemon", "dbus-daemon"}} {
		path, err := exec.LookPath(t.bin)
		if err != nil {
			return nil, unavailable("%s is not installed: install the Debian package %s (apt-get install %s; `make deps` in a checkout installs all the local backend needs), or use the container image", t.bin, t.pkg, t.pkg)
		}
		p.tools[t.bin] = path
	}
	// Optional: slirp4netns and setpriv for internet access; without root,
	// newuidmap/newgidmap for a uid per sandbox (rootless.go).
	for _, t := range []string{"slirp4netns", "setpriv", "newuidmap", "newgidmap"} {
		if path, err := exec.LookPath(t); err == nil {
			p.tools[t] = path
		}
	}
	var err error
	if os.Geteuid() != 0 {
		if err := p.setupRootless(); err != nil {
			return nil, err
		}
	} else {
		cg, err := detectCgroups(opts.CgroupParent)
		if err != nil {
			fix := "it needs root and the memory, cpu and pids controllers"
			if inContainer() {
				fix += `; in a container, run it with --cap-add SYS_ADMIN --cgroupns private (README "Container")`
			}
			return nil, unavailable("cgroups are not usable for the local backend (%v); %s", err, fix).WithCause(err)
		}
		p.cg = cg
	}
	for _, d := range []string{opts.StateDir, filepath.Join(opts.StateDir, "sb"), filepath.Join(opts.StateDir, "bin")} {
		// 0711: sandbox uids must traverse to their own home, never list.
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, unavailable("cannot create the state directory").WithCause(err)
		}
		_ = os.Chmod(d, 0o711)
	}
	// Sandbox uids reach their home and cookie through the state dir.
	for d := filepath.Clean(opts.StateDir); p.rootless == nil || p.rootless.separateUIDs(); d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			return nil, unavailable("the state directory must be reachable by other users (o+x on %s); choose another with StateDir", d)
		}
		if d == "/" || d == "." {
			break
		}
	}
	if err := os.MkdirAll(opts.LockDir, 0o700); err != nil {
		return nil, unavailable("cannot create the lock directory").WithCause(err)
	}
	if err := os.MkdirAll("/tmp/.X11-unix", 0o1777); err != nil {
		return nil, unavailable("cannot create /tmp/.X11-unix").WithCause(err)
	}
	if p.rootless == nil {
		_ = os.Chmod("/tmp/.X11-unix", 0o1777|os.ModeSticky)
	}
	if p.agentBin, err = installAgent(filepath.Join(opts.StateDir, "bin")); err != nil {
		return nil, unavailable("cannot install the sandbox agent").WithCause(err)
	}
	p.cleanStale()
	return p, nil
}

// installAgent copies this binary where sandbox uids can execute it (a test
// binary lives in a 0700 build directory), once per content change.
func installAgent(dir string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	st, err := os.Stat(self)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, fmt.Sprintf("agent-%d-%d", st.Size(), st.ModTime().UnixNano()))
	if _, err := os.Stat(dst); err == nil {
		now := time.Now()
		_ = os.Chtimes(dst, now, now) // in use: keep it from pruning
		return dst, nil
	}
	src, err := os.Open(self)
	if err != nil {
		return "", err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".agent-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// Prune copies of older builds no server used for a day (servers
	// sharing the state dir touch theirs at every create; a running sandbox
	// keeps its inode anyway).
	old, _ := filepath.Glob(filepath.Join(dir, "agent-*"))
	for _, o := range old {
		if st, err := os.Stat(o); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
			_ = os.Remove(o)
		}
	}
	return dst, os.Rename(tmp.Name(), dst)
}

// Name is "local".
func (p *Provider) Name() string { return "local" }

// Close destroys instances the Manager did not (it normally has) and
// refuses new ones.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	var ins []*Instance
	for i := range p.instances {
		ins = append(ins, i)
	}
	p.mu.Unlock()
	var errs []error
	for _, i := range ins {
		errs = append(errs, i.Destroy(context.Background()))
	}
	return errors.Join(errs...)
}

// slot is a machine-wide reservation: uid, gid and display number.
type slot struct {
	n, uid, gid, display int
	lock                 *os.File
}

// newSlot is slot n, locked by f.
func (p *Provider) newSlot(n int, f *os.File) *slot {
	s := &slot{n: n, uid: p.opts.UIDBase + n, display: p.opts.DisplayBase + n, lock: f}
	s.gid = s.uid
	if p.rootless != nil {
		s.uid, s.gid = p.rootless.slotIDs(n)
	}
	return s
}

func (p *Provider) lockPath(n int) string {
	return filepath.Join(p.opts.LockDir, "slot-"+strconv.Itoa(n)+".lock")
}

// tryLock takes slot n's lock without waiting.
func (p *Provider) tryLock(n int) *os.File {
	f, err := os.OpenFile(p.lockPath(n), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	return f
}

// acquireSlot finds a free slot and claims its display number. Whatever a
// dead earlier holder left in it is cleaned first. The slot lock is only
// ours (servers of other users, without root, have their own), so the
// display is claimed here too, where losing it to another server means
// trying the next slot rather than failing the sandbox.
func (p *Provider) acquireSlot() (*slot, error) {
	for n := 0; n < p.opts.MaxSlots; n++ {
		f := p.tryLock(n)
		if f == nil {
			continue
		}
		s := p.newSlot(n, f)
		p.cleanSlot(s)
		if displayBusy(s.display) || claimDisplay(s.display, p.slotSocket(s)) != nil {
			f.Close()
			continue
		}
		return s, nil
	}
	return nil, unavailable("no free sandbox slot on this machine (all %d in use)", p.opts.MaxSlots)
}

func (s *slot) release() {
	if s != nil && s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func xLockPath(display int) string { return "/tmp/.X" + strconv.Itoa(display) + "-lock" }
func xSocketPath(display int) string {
	return "/tmp/.X11-unix/X" + strconv.Itoa(display)
}

// releaseDisplay removes the host's lock and socket of a display.
func releaseDisplay(display int) {
	_ = os.Remove(xLockPath(display))
	_ = os.Remove(xSocketPath(display))
}

// displayBusy reports whether some X server (ours or anyone's) owns the
// display. A lock file whose pid is dead is stale and removed.
func displayBusy(display int) bool {
	b, err := os.ReadFile(xLockPath(display))
	if err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH {
			return true
		}
		releaseDisplay(display)
		return false
	}
	_, err = os.Lstat(xSocketPath(display))
	return err == nil
}

func (p *Provider) cgroupName(s *slot) string { return "s" + strconv.Itoa(s.n) }
func (p *Provider) slotDir(s *slot) string {
	return filepath.Join(p.opts.StateDir, "sb", "s"+strconv.Itoa(s.n))
}

// cleanSlot removes what a dead holder of the slot left: its processes and
// cgroup, its directory under our state dir, its X lock and socket. Only
// called with the slot's lock held, so nothing live is touched.
func (p *Provider) cleanSlot(s *slot) {
	if p.cg != nil {
		g := &sandboxCgroup{v2: p.cg.v2, dirs: p.cg.dirs(p.cgroupName(s))}
		if len(g.pids()) > 0 {
			p.log.Warn().Int("slot", s.n).Msg("killing processes left by an earlier run")
		}
		if _, err := os.Stat(g.dirs[0]); err == nil {
			if err := g.destroy(); err != nil {
				p.log.Warn().Err(err).Int("slot", s.n).Msg("stale cgroup not removed")
			}
		}
	}
	// The uid belongs to whoever holds the slot: anything still running as
	// it (left outside our cgroup, e.g. by a server with another cgroup
	// parent) is a leftover too. Servers sharing a uid range must share the
	// LockDir. (Never the server's own uid: without subordinate uids the
	// sandboxes' processes die with their pid namespaces.)
	if s.uid != os.Geteuid() {
		if n := killUID(s.uid); n > 0 {
			p.log.Warn().Int("slot", s.n).Int("processes", n).Msg("killed processes of the slot's uid left by an earlier run")
		}
	}
	unmountAll(filepath.Join(p.slotDir(s), "home"))
	unmountAll(p.slotDir(s))
	removeShm(s.uid)
	if err := os.RemoveAll(p.slotDir(s)); err != nil {
		p.log.Warn().Err(err).Int("slot", s.n).Msg("stale sandbox directory not removed")
	}
	p.cleanDisplay(s)
}

// killUID SIGKILLs every process whose real or effective uid is uid, until
// none is left, and says how many it found.
func killUID(uid int) int {
	found := 0
	for round := 0; round < 50; round++ {
		n := 0
		for _, pid := range procfs.Pids() {
			st, ok := procfs.ReadStatus(pid)
			if ok && !st.Zombie() && (st.UID == uid || st.EUID == uid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				n++
			}
		}
		if n == 0 {
			break
		}
		found += n
		time.Sleep(10 * time.Millisecond)
	}
	return found
}

// claimDisplay marks display N as taken on the host the way X servers do,
// so no other X server picks it: a lock file holding a live pid (this
// server's) and /tmp/.X11-unix/XN, here a symlink to the sandbox's real
// socket (its X server runs in a mount namespace of its own, as display 0).
func claimDisplay(display int, socket string) error {
	f, err := os.OpenFile(xLockPath(display), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%10d\n", os.Getpid())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Symlink(socket, xSocketPath(display))
	}
	if err != nil {
		_ = os.Remove(xLockPath(display))
	}
	return err
}

// ourSocketLink is where claimDisplay's symlinks point in a slot directory:
// the X server's socket.
const ourSocketLink = "x11/X0"

// slotSocket is the slot's X socket on the host (in the directory the
// sandbox sees as /tmp/.X11-unix).
func (p *Provider) slotSocket(s *slot) string { return filepath.Join(p.slotDir(s), ourSocketLink) }

// cleanDisplay removes the X lock and socket of the slot's display when
// they are ours: our symlink (a foreign X server taking the display over
// would have replaced it), or, from older layouts, an X server that ran as
// the slot's uid and, its cgroup being empty now, is dead. A live server of
// another uid is left alone; acquireSlot then skips the slot.
func (p *Provider) cleanDisplay(s *slot) {
	// Exactly our link: a server with another state directory (another
	// user's, without root) may hold the display with the same layout.
	if t, err := os.Readlink(xSocketPath(s.display)); err == nil && t == p.slotSocket(s) {
		releaseDisplay(s.display)
		return
	}
	owner := func(path string) int {
		var st syscall.Stat_t
		if syscall.Lstat(path, &st) != nil {
			return -1
		}
		return int(st.Uid)
	}
	b, err := os.ReadFile(xLockPath(s.display))
	if err != nil {
		if owner(xSocketPath(s.display)) == s.uid {
			_ = os.Remove(xSocketPath(s.display))
		}
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	alive := pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH
	if alive && s.uid != os.Geteuid() && owner("/proc/"+strconv.Itoa(pid)) == s.uid {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		alive = false
	}
	if !alive {
		releaseDisplay(s.display)
	}
}

// cleanStale cleans every slot nobody holds that left traces: sandbox
// cgroups under our parent and directories under our state dir.
func (p *Provider) cleanStale() {
	seen := map[int]bool{}
	var ns []int
	add := func(name string) {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "s")); err == nil && strings.HasPrefix(name, "s") && !seen[n] {
			seen[n] = true
			ns = append(ns, n)
		}
	}
	for _, name := range p.cg.existing() {
		add(name)
	}
	des, _ := os.ReadDir(filepath.Join(p.opts.StateDir, "sb"))
	for _, de := range des {
		add(de.Name())
	}
	for _, n := range ns {
		if f := p.tryLock(n); f != nil {
			s := p.newSlot(n, f)
			p.cleanSlot(s)
			s.release()
		}
	}
}

// inContainer: Docker and podman mark their containers with these files.
func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}
