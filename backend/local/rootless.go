//go:build linux

package local

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Rootless mode: the server runs as a normal user (uid U). What root mode
// does with privilege, this mode does as follows, or says plainly that it
// cannot (rootless.missing, logged at start and shown by get_sandbox_info):
//
//   - A host uid per sandbox: where U has a range in /etc/subuid and
//     /etc/subgid and newuidmap/newgidmap are installed (Debian's uidmap),
//     slot N runs as subordinate uid S (counted down from the top of the
//     range, away from the low ids container tools hand out). A holder
//     process (util-linux unshare, which calls newuidmap) keeps a user
//     namespace mapping only 1000 to S; every helper of the sandbox enters
//     it as uid 1000 (nsenter, which also drops supplementary groups), so
//     from bubblewrap on everything is as in root mode, where the launcher
//     starts as the slot uid. Without a range every sandbox runs as U.
//   - Host files a sandbox uid must use (the X socket directory, the
//     cookie, the stream's directory) are U's, shared with S by a POSIX ACL
//     entry (an owner may always set ACLs on its files) instead of a chown.
//   - Disk quotas: the home and /tmp are tmpfs mounts made by bubblewrap in
//     the sandbox's own mount namespace (no host mount needs root).
//   - Limits: through U's delegated cgroup v2 subtree (systemd's
//     user@UID.service, or `systemd-run --user -p Delegate=yes`) with the
//     controllers it was given. Without a pids controller, RLIMIT_NPROC on
//     everything the agent starts: the kernel counts it per user namespace,
//     so it bounds one sandbox's processes even when all run as U. Memory
//     and CPU have no fallback.

// idRange is a range of subordinate ids.
type idRange struct{ start, count int }

// subIDs finds the first range of name (or of the numeric uid) in an
// /etc/subuid-style file.
func subIDs(file, name string, uid int) (idRange, error) {
	f, err := os.Open(file)
	if err != nil {
		return idRange{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != name && parts[0] != strconv.Itoa(uid)) {
			continue
		}
		start, err1 := strconv.Atoi(parts[1])
		count, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || start <= 0 || count <= 0 {
			continue
		}
		return idRange{start, count}, nil
	}
	return idRange{}, fmt.Errorf("no range for %s in %s", name, file)
}

// POSIX ACL xattr tags (linux/posix_acl_xattr.h).
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

// aclXattr encodes an ACL: the owner, group and other permissions and one
// entry per named user (sorted by id, as the kernel requires), with a mask
// that lets every entry through.
func aclXattr(owner, group, other uint32, users map[int]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2) // POSIX_ACL_XATTR_VERSION
	add := func(tag, perm, id uint32) {
		b = binary.LittleEndian.AppendUint16(b, uint16(tag))
		b = binary.LittleEndian.AppendUint16(b, uint16(perm))
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	add(aclUserObj, owner, aclNoID)
	ids := make([]int, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		add(aclUser, users[id], uint32(id))
	}
	add(aclGroupObj, group, aclNoID)
	add(aclMask, 7, aclNoID)
	add(aclOther, other, aclNoID)
	return b
}

// grant lets uid use path (perm: 4 read, 2 write, 1 search/execute)
// through an ACL entry, on top of the mode's owner, group and other bits.
// With inherit (a directory uid writes in) it also sets a default ACL:
// whatever uid creates inside stays fully usable by the owner (so the
// server can remove it) and by uid, and by nobody else.
func grant(path string, uid int, perm uint32, inherit bool) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	m := uint32(st.Mode().Perm())
	access := aclXattr(m>>6&7, m>>3&7, m&7, map[int]uint32{uid: perm})
	if err := unix.Lsetxattr(path, "system.posix_acl_access", access, 0); err != nil {
		return fmt.Errorf("ACL on %s: %w", filepath.Base(path), err)
	}
	if !inherit {
		return nil
	}
	dflt := aclXattr(7, 0, 0, map[int]uint32{os.Geteuid(): 7, uid: 7})
	if err := unix.Lsetxattr(path, "system.posix_acl_default", dflt, 0); err != nil {
		return fmt.Errorf("default ACL on %s: %w", filepath.Base(path), err)
	}
	return nil
}

// userName is the login name of uid, or its number.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// delegatedCgroup is the cgroup v2 directory this process sits in, when it
// may manage it (a delegated subtree: the directory, its cgroup.procs and
// cgroup.subtree_control are writable by us), and the controllers it has.
func delegatedCgroup() (dir string, controllers []string, err error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", nil, err
	}
	var rel string
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			rel, found = p, true
		}
	}
	if !found {
		return "", nil, errors.New("this process is in no cgroup v2 hierarchy")
	}
	mnt, err := cgroup2Mount()
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(mnt, rel)
	for _, f := range []string{dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.subtree_control")} {
		if unix.Access(f, unix.W_OK) != nil {
			return "", nil, fmt.Errorf("the server's cgroup (%s) is not delegated to its user", rel)
		}
	}
	c, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return "", nil, err
	}
	return dir, strings.Fields(string(c)), nil
}

// cgroup2Mount is where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup
// on a v2 system, /sys/fs/cgroup/unified on a hybrid one).
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 1 && g[0] == "cgroup2" {
			return f[4], nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted")
}

// rootless is what the backend found it can do without root.
type rootless struct {
	uid, gid int
	// sub and subGID are the subordinate ids sandboxes run as; count 0:
	// none, every sandbox runs as the server's uid.
	sub, subGID idRange
	// tun: sandbox uids may open /dev/net/tun (slirp4netns needs it).
	tun bool
	// missing are the protections root mode has and this server has not,
	// one sentence each (start-up log, get_sandbox_info, SECURITY.md).
	missing []string
	// notes are lesser differences, logged at start.
	notes []string
}

// slotIDs is the host uid and gid of slot n.
func (r *rootless) slotIDs(n int) (uid, gid int) {
	if r.sub.count == 0 {
		return r.uid, r.gid
	}
	return r.sub.start + r.sub.count - 1 - n, r.subGID.start + r.subGID.count - 1 - n
}

// separateUIDs reports whether sandboxes run as uids of their own.
func (r *rootless) separateUIDs() bool { return r != nil && r.sub.count > 0 }

// newRootless finds the subordinate ids of the server's user, the cgroup
// subtree delegated to it, and what is missing. tools holds the programs
// found on PATH.
func newRootless(opts *Options, tools map[string]string) (*rootless, *cgroups) {
	r := &rootless{uid: os.Geteuid(), gid: os.Getegid()}
	name := userName(r.uid)
	sub, err1 := subIDs("/etc/subuid", name, r.uid)
	subGID, err2 := subIDs("/etc/subgid", name, r.uid)
	switch {
	case tools["newuidmap"] == "" || tools["newgidmap"] == "":
		r.missing = append(r.missing, "no uid of its own per sandbox: every sandbox runs as the server's uid, kept apart by namespaces only (install uidmap: newuidmap/newgidmap)")
	case err1 != nil || err2 != nil:
		r.missing = append(r.missing, fmt.Sprintf("no uid of its own per sandbox: every sandbox runs as the server's uid, kept apart by namespaces only (%s has no range in /etc/subuid and /etc/subgid: usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST %s)", name, name))
	default:
		r.sub, r.subGID = sub, subGID
		opts.MaxSlots = min(opts.MaxSlots, sub.count, subGID.count)
	}
	var cg *cgroups
	dir, ctrls, err := delegatedCgroup()
	if err == nil {
		cg, err = delegatedCgroups(dir, ctrls, opts.CgroupParent)
	}
	have := map[string]bool{}
	if cg != nil {
		have = cg.ctrls
	}
	why := "the server's delegated cgroup v2 subtree has no such controller"
	if err != nil {
		why = err.Error()
	}
	how := "; start the server in a delegated cgroup, e.g. systemd-run --user --scope -p Delegate=yes vmservice"
	if !have["memory"] {
		r.missing = append(r.missing, "no memory limit: memory_mb is not enforced, and the home and /tmp quotas are host memory ("+why+how+")")
	}
	if !have["cpu"] {
		r.missing = append(r.missing, "no CPU limit: cpu_count is not enforced ("+why+how+")")
	}
	if !have["pids"] {
		r.notes = append(r.notes, "process limit by RLIMIT_NPROC, counted per sandbox user namespace (no delegated pids controller)")
	}
	if cg == nil {
		r.notes = append(r.notes, "no cgroup: a sandbox's processes are found and killed through its pid namespaces")
	}
	// slirp4netns opens the tun device as the sandbox uid (other users: the
	// mode's last bits) or as the server's.
	if st, err := os.Stat("/dev/net/tun"); err == nil {
		r.tun = st.Mode()&0o006 == 0o006 || (!r.separateUIDs() && unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK) == nil)
	}
	if r.tun {
		r.missing = append(r.missing, "with internet access, slirp4netns runs without the pid namespace of its own it has as root: were it subverted through the sandbox's packets, it could reach the sandbox's agent")
	} else {
		r.notes = append(r.notes, "no internet access for sandboxes: /dev/net/tun is not usable by normal users (chmod 0666 /dev/net/tun, the usual mode)")
	}
	r.notes = append(r.notes, "screenshots use GetImage, not MIT-SHM (the X server's IPC namespace cannot be joined without root)",
		"a sandbox's home is a tmpfs of its own mount namespace: a sandbox whose agent had to be restarted comes back with an empty home",
		"the state directory is a plain directory: its path shows in the sandbox's mountinfo")
	return r, cg
}

// delegatedCgroups prepares the server's delegated cgroup v2 group dir for
// sandbox cgroups under dir/parent, with whichever of the memory, cpu and
// pids controllers it has. A group that hands controllers to children may
// hold no process, so the processes in dir (this server, and whoever
// started it in the same group) move to the leaf dir/vmservice-server
// first; a server started there later uses dir again.
func delegatedCgroups(dir string, ctrls []string, parent string) (*cgroups, error) {
	const leaf = "vmservice-server"
	if filepath.Base(dir) == leaf {
		dir = filepath.Dir(dir)
	}
	c := &cgroups{v2: true, root: dir, parent: parent, ctrls: map[string]bool{}}
	for _, k := range ctrls {
		if k == "memory" || k == "cpu" || k == "pids" {
			c.ctrls[k] = true
		}
	}
	if len(c.ctrls) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, leaf), 0o755); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			return nil, err
		}
		for _, pid := range strings.Fields(string(b)) {
			_ = os.WriteFile(filepath.Join(dir, leaf, "cgroup.procs"), []byte(pid), 0) // some exit meanwhile
		}
		if err := enableControllers(dir, c.ctrls); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, parent), 0o755); err != nil {
		return nil, err
	}
	if err := enableControllers(filepath.Join(dir, parent), c.ctrls); err != nil {
		return nil, err
	}
	return c, nil
}

// rootlessBase is the default home of a rootless server's state and slot
// locks: reachable by the sandbox uids (o+x), unlike $XDG_RUNTIME_DIR.
func rootlessBase() string { return "/tmp/vmservice-" + strconv.Itoa(os.Geteuid()) }

// ownDir makes dir (mode perm) or checks that the one there is a real
// directory of ours: /tmp is everyone's, and a directory planted there by
// another user must not hold our state.
func ownDir(dir string, perm os.FileMode) error {
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is not a directory of this user", dir)
	}
	return os.Chmod(dir, perm)
}

// holder is a process in a user namespace of its own that maps 0 to the
// server's uid and gid and, given a slot's ids, 1000 to them (newuidmap and
// newgidmap write the maps, so setgroups stays allowed in it). The
// sandbox's helpers enter it as 1000 (nsenter --setuid 1000, which also
// drops supplementary groups) and so run as the slot's uid; as 0 the
// server has root's powers over the sandbox's namespaces below it (to
// resize its tmpfs mounts). It lives until its stdin closes.
type holder struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

func startHolder(newuidmap, newgidmap string, uid, gid int) (*holder, error) {
	cmd := exec.Command("/bin/cat")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &holder{cmd: cmd, stdin: stdin}
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, m := range [][]string{{newuidmap, pid, "0", strconv.Itoa(os.Geteuid()), "1"}, {newgidmap, pid, "0", strconv.Itoa(os.Getegid()), "1"}} {
		if uid >= 0 {
			id := uid
			if m[0] == newgidmap {
				id = gid
			}
			m = append(m, "1000", strconv.Itoa(id), "1")
		}
		if out, err := exec.Command(m[0], m[1:]...).CombinedOutput(); err != nil {
			h.stop()
			return nil, fmt.Errorf("%s: %v: %s", filepath.Base(m[0]), err, strings.TrimSpace(string(out)))
		}
	}
	return h, nil
}

// userns is the holder's user namespace, as a path nsenter opens.
func (h *holder) userns() string { return "/proc/" + strconv.Itoa(h.cmd.Process.Pid) + "/ns/user" }

func (h *holder) stop() {
	_ = h.stdin.Close()
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
}

// setupRootless prepares the backend for a server without root.
func (p *Provider) setupRootless() error {
	r, cg := newRootless(&p.opts, p.tools)
	if r.separateUIDs() {
		// newuidmap may still refuse (not setuid in a container, a range
		// another tool owns): try slot 0's ids once.
		uid, gid := r.slotIDs(0)
		h, err := startHolder(p.tools["newuidmap"], p.tools["newgidmap"], uid, gid)
		if err == nil {
			h.stop()
			if p.tools["nsenter"] == "" {
				err = errors.New("util-linux's nsenter is needed")
			}
		}
		if err != nil {
			r.sub, r.subGID = idRange{}, idRange{}
			r.missing = append([]string{"no uid of its own per sandbox: every sandbox runs as the server's uid, kept apart by namespaces only (mapping a subordinate uid failed: " + err.Error() + ")"}, r.missing...)
		}
	}
	p.rootless, p.cg = r, cg
	for _, d := range []string{p.opts.StateDir, p.opts.LockDir} {
		if base := rootlessBase(); filepath.Dir(d) == base {
			if err := ownDir(base, 0o711); err != nil {
				return unavailable("cannot use %s for the local backend's state: %v", base, err)
			}
		}
	}
	if r.separateUIDs() {
		// The slot's uid gets the server's files by ACL entries: the state
		// directory's file system must keep them.
		err := os.MkdirAll(p.opts.StateDir, 0o711)
		var f *os.File
		if err == nil {
			f, err = os.CreateTemp(p.opts.StateDir, ".acl-*")
		}
		if err == nil {
			uid, _ := r.slotIDs(0)
			err = grant(f.Name(), uid, 4, false)
			f.Close()
			os.Remove(f.Name())
		}
		if err != nil {
			r.sub, r.subGID = idRange{}, idRange{}
			r.missing = append([]string{"no uid of its own per sandbox: every sandbox runs as the server's uid, kept apart by namespaces only (the state directory keeps no POSIX ACLs: " + err.Error() + ")"}, r.missing...)
		}
	}
	l := p.log.Info()
	msg := "the local backend runs without root, with every protection of root mode"
	if len(r.missing) > 0 {
		l, msg = p.log.Warn(), "the local backend runs without root: these protections of root mode are missing"
	}
	for i, m := range r.missing {
		l = l.Str("missing_"+strconv.Itoa(i+1), m)
	}
	uids := "the server's own"
	if r.separateUIDs() {
		uids = fmt.Sprintf("%d-%d (subordinate)", r.sub.start+r.sub.count-p.opts.MaxSlots, r.sub.start+r.sub.count-1)
	}
	l.Str("sandbox_uids", uids).Strs("notes", r.notes).Msg(msg)
	return nil
}

// details is what get_sandbox_info says of a rootless sandbox.
func (r *rootless) details() map[string]any {
	uids := "server"
	if r.separateUIDs() {
		uids = "subordinate"
	}
	d := map[string]any{"rootless": true, "sandbox_uid": uids}
	if len(r.missing) > 0 {
		d["missing_protections"] = r.missing
	}
	return d
}

// nprocEnv carries the process limit to the agent when no pids controller
// enforces it (agent.go applies it to every user process).
const nprocEnv = "VMSERVICE_LOCAL_NPROC"

// internetUnavailable says why sandboxes cannot get internet access here,
// or nil.
func (p *Provider) internetUnavailable() error {
	switch {
	case p.tools["slirp4netns"] == "":
		return unavailable("slirp4netns is not installed, so sandboxes cannot have internet access; run `make deps`")
	case p.rootless == nil && p.tools["setpriv"] == "":
		return unavailable("setpriv is not installed, so sandboxes cannot have internet access; run `make deps`")
	case p.rootless != nil && !p.rootless.tun:
		return unavailable("without root, sandboxes get internet access only where /dev/net/tun is usable by normal users (chmod 0666 /dev/net/tun, its usual mode)")
	}
	return nil
}

// handOver gives the slot's uid a host file or directory of the server's
// (perm as for grant; write implies a directory it makes things in): as
// root by chown; without root by an ACL entry, or nothing when the sandbox
// runs as the server's uid anyway. An empty path is skipped.
func (in *Instance) handOver(path string, perm uint32) error {
	switch {
	case path == "":
	case in.p.rootless == nil:
		return os.Chown(path, in.slot.uid, in.slot.gid)
	case in.p.rootless.separateUIDs():
		return grant(path, in.slot.uid, perm, perm&2 != 0)
	}
	return nil
}

// startHolder starts the sandbox's holder when it has a uid of its own
// without root (1000 in the holder's namespace).
func (in *Instance) startHolder() error {
	if !in.p.rootless.separateUIDs() {
		return nil
	}
	h, err := startHolder(in.p.tools["newuidmap"], in.p.tools["newgidmap"], in.slot.uid, in.slot.gid)
	if err != nil {
		return unavailable("the sandbox's user namespace could not be made").WithCause(err)
	}
	in.holder = h
	return nil
}

// asSlotUID prefixes argv so it runs as uid 1000 of the holder's user
// namespace: the slot's uid on the host, with no supplementary group.
func (in *Instance) asSlotUID(argv []string) []string {
	return append([]string{in.p.tools["nsenter"], "--user=" + in.holder.userns(), "--setuid=1000", "--setgid=1000", "--"}, argv...)
}

// seedTmpfsHome writes the home's initial files through the agent when the
// home is bubblewrap's tmpfs (without root).
func (in *Instance) seedTmpfsHome(ctx context.Context) error {
	return in.WriteFile(ctx, homeDir+"/.config/mimeapps.list", mimeApps())
}

// nsOwner opens the user namespace that owns the namespace ns.
func nsOwner(ns *os.File) (*os.File, error) {
	const nsGetUserns = 0xb701 // NS_GET_USERNS
	fd, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ns.Fd(), nsGetUserns, 0)
	if errno != 0 {
		return nil, fmt.Errorf("NS_GET_USERNS: %w", errno)
	}
	return os.NewFile(fd, "userns"), nil
}

// asNSOwner prefixes argv so it runs in a namespace of the sandbox (nsFlag
// is nsenter's option for its kind, the namespace is the command's fd 4)
// with root's powers in the user namespace that owns it (fd 3), without
// root on the host. Without a holder (the sandbox runs as the server's
// uid), the server's uid made that namespace and has every capability in
// it: nsenter keeps its credentials. With one, nsenter gets there as root
// of the holder, the namespace above, where dropping supplementary groups
// is allowed (bubblewrap's own namespaces deny setgroups, and nsenter
// calls it when it changes uid).
func asNSOwner(nsenter string, h *holder, nsFlag string, argv ...string) []string {
	a := []string{nsenter, "--user=/proc/self/fd/3", nsFlag + "=/proc/self/fd/4"}
	if h == nil {
		a = append(a, "--preserve-credentials")
	} else {
		a = append([]string{nsenter, "--user=" + h.userns(), "--setuid=0", "--setgid=0", "--"}, a...)
	}
	return append(append(a, "--"), argv...)
}
