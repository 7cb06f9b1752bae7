//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroupRoot = "/sys/fs/cgroup"

// v1 controllers a sandbox is limited by.
var v1Controllers = []string{"memory", "cpu", "pids"}

// cgroups is the backend's cgroup parent: /sys/fs/cgroup/<ctrl>/<parent> on
// cgroup v1, <root>/<parent> on v2, where root is /sys/fs/cgroup as root
// and the server's delegated subtree without root (rootless.go). A nil
// *cgroups is no cgroups at all (rootless, nothing delegated): no limits
// but the process limit (RLIMIT_NPROC, agent.go) and nothing to clean.
type cgroups struct {
	v2     bool
	root   string
	parent string
	// v2 controllers the sandboxes get (all three as root; as delegated
	// without root, which may be none).
	ctrls map[string]bool
}

func detectCgroups(parent string) (*cgroups, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(cgroupRoot, &st); err != nil {
		return nil, fmt.Errorf("%s is not mounted: %w", cgroupRoot, err)
	}
	c := &cgroups{parent: parent, root: cgroupRoot, v2: st.Type == 0x63677270, // CGROUP2_SUPER_MAGIC
		ctrls: map[string]bool{"memory": true, "cpu": true, "pids": true}}
	if c.v2 {
		dir := filepath.Join(cgroupRoot, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		ctrls, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err != nil {
			return nil, err
		}
		for _, want := range []string{"memory", "cpu", "pids"} {
			if !strings.Contains(" "+strings.TrimSpace(string(ctrls))+" ", " "+want+" ") {
				return nil, fmt.Errorf("cgroup v2 controller %s is not available", want)
			}
			// Delegate down to our parent, then to its children.
			_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+"+want), 0)
		}
		if err := enableControllers(dir, c.ctrls); err != nil {
			return nil, err
		}
		return c, nil
	}
	for _, ctrl := range v1Controllers {
		base := filepath.Join(cgroupRoot, ctrl)
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			return nil, fmt.Errorf("cgroup v1 controller %s is not mounted at %s", ctrl, base)
		}
		if err := os.MkdirAll(filepath.Join(base, parent), 0o755); err != nil {
			return nil, fmt.Errorf("creating cgroup under %s: %w", base, err)
		}
	}
	return c, nil
}

// enableControllers hands ctrls down to the children of the v2 group dir.
func enableControllers(dir string, ctrls map[string]bool) error {
	for _, want := range []string{"memory", "cpu", "pids"} {
		if !ctrls[want] {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+want), 0); err != nil {
			return fmt.Errorf("enabling cgroup v2 controller %s: %w", want, err)
		}
	}
	return nil
}

// dirs are the cgroup directories of one sandbox cgroup called name.
func (c *cgroups) dirs(name string) []string {
	if c == nil {
		return nil
	}
	if c.v2 {
		return []string{filepath.Join(c.root, c.parent, name)}
	}
	var ds []string
	for _, ctrl := range v1Controllers {
		ds = append(ds, filepath.Join(cgroupRoot, ctrl, c.parent, name))
	}
	return ds
}

// existing lists the sandbox cgroup names present under the parent.
func (c *cgroups) existing() []string {
	seen := map[string]bool{}
	var names []string
	for _, d := range c.dirs("") {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if de.IsDir() && !seen[de.Name()] {
				seen[de.Name()] = true
				names = append(names, de.Name())
			}
		}
	}
	return names
}

// sandboxCgroup is one sandbox's cgroup (one directory per v1 controller)
// with two leaves: "sys" for the desktop's own processes (Xvfb, bubblewrap,
// the agent, x11vnc, slirp4netns: none of them reachable from inside) and
// "user" for everything the agent starts, the window manager included
// (sandbox code can drive and ptrace it, so it must not be a way out of the
// user leaf). The sandbox's cgroup carries the CPU quota and the totals; the
// user leaf gets memory_mb and the process limit less a reserve, so a
// memory hog or a fork bomb is stopped inside "user" and never takes the
// desktop or the agent down with it.
type sandboxCgroup struct {
	v2    bool
	dirs  []string
	ctrls map[string]bool // v2: the controllers it has
	fd    *os.File        // v2: the sys leaf, for CLONE_INTO_CGROUP
}

const (
	sysLeaf  = "sys"
	userLeaf = "user"
	// What the desktop's own processes may use beyond the user's limits.
	reserveMemoryMB = 256
	reservePids     = 64
)

// has reports whether the sandbox is limited by the v2 controller (on v1,
// and as root, all of the backend's are there); false without a cgroup.
func (g *sandboxCgroup) has(ctrl string) bool { return g != nil && g.ctrls[ctrl] }

// userPidsMax is the process limit of what the user runs: the sandbox's
// less what the desktop keeps for itself.
func userPidsMax(pids int) int { return max(pids-reservePids, 16) }

type limits struct {
	memoryMB, cpus, pids int
}

func (g *sandboxCgroup) leaf(name string) []string {
	var ds []string
	for _, d := range g.dirs {
		ds = append(ds, filepath.Join(d, name))
	}
	return ds
}

// all are every directory of the cgroup, leaves first.
func (g *sandboxCgroup) all() []string {
	return append(append(g.leaf(sysLeaf), g.leaf(userLeaf)...), g.dirs...)
}

// create makes the cgroup, sets the limits and hands the leaves' procs files
// to uid (as systemd delegation does): the launcher, running as uid, joins
// sys; the agent moves user processes into user.
func (c *cgroups) create(name string, uid int, l limits) (g *sandboxCgroup, err error) {
	if c == nil {
		return nil, nil
	}
	g = &sandboxCgroup{v2: c.v2, dirs: c.dirs(name), ctrls: c.ctrls}
	defer func() {
		if err != nil {
			g.destroy()
		}
	}()
	for _, d := range g.dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return g, err
		}
	}
	if c.v2 {
		if err := enableControllers(g.dirs[0], c.ctrls); err != nil {
			return g, err
		}
	}
	for _, d := range append(g.leaf(sysLeaf), g.leaf(userLeaf)...) {
		if err := os.Mkdir(d, 0o755); err != nil {
			return g, err
		}
	}
	if err := g.setLimits(l); err != nil {
		return g, err
	}
	// v2 checks write access to the common ancestor's procs file too.
	// (Without root the files are the server's already: it starts every
	// helper into the sys leaf and opens the user leaf for the agent.)
	owned := append(g.leaf(sysLeaf), g.leaf(userLeaf)...)
	if c.v2 {
		owned = append(owned, g.dirs[0])
	}
	for _, d := range owned {
		if uid == os.Geteuid() {
			break
		}
		if err := os.Chown(filepath.Join(d, "cgroup.procs"), uid, uid); err != nil {
			return g, err
		}
	}
	if c.v2 {
		if g.fd, err = os.Open(g.leaf(sysLeaf)[0]); err != nil {
			return g, err
		}
	}
	return g, nil
}

// setLimits writes memory, CPU and process limits (also on a live cgroup:
// a pooled sandbox gets its owner's limits when handed out).
func (g *sandboxCgroup) setLimits(l limits) error {
	if g == nil {
		return nil
	}
	mb := func(n int) string { return strconv.FormatInt(int64(n)<<20, 10) }
	const period = 100000
	quota := strconv.Itoa(l.cpus * period)
	userPids := strconv.Itoa(userPidsMax(l.pids))
	set := func(dir, file, v string, optional bool) error {
		err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0)
		if err != nil && optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("setting %s: %w", file, err)
		}
		return nil
	}
	if g.v2 {
		root, user := g.dirs[0], g.leaf(userLeaf)[0]
		for _, s := range []struct {
			dir, file, v string
			optional     bool
		}{
			{root, "memory.max", mb(l.memoryMB + reserveMemoryMB), false}, {root, "memory.swap.max", "0", true},
			{root, "cpu.max", quota + " " + strconv.Itoa(period), false}, {root, "pids.max", strconv.Itoa(l.pids), false},
			{user, "memory.max", mb(l.memoryMB), false}, {user, "memory.swap.max", "0", true},
			{user, "pids.max", userPids, false},
		} {
			if ctrl, _, _ := strings.Cut(s.file, "."); !g.has(ctrl) {
				continue // not delegated to us (rootless): said at start
			}
			if err := set(s.dir, s.file, s.v, s.optional); err != nil {
				return err
			}
		}
		return nil
	}
	setMem := func(d, v string) error {
		// memsw must stay >= the memory limit: when raising, memsw goes
		// first; when lowering, that first write fails and the second one
		// applies.
		_ = set(d, "memory.memsw.limit_in_bytes", v, true)
		if err := set(d, "memory.limit_in_bytes", v, false); err != nil {
			return err
		}
		return set(d, "memory.memsw.limit_in_bytes", v, true)
	}
	for i, d := range g.dirs {
		user := filepath.Join(d, userLeaf)
		var err error
		switch v1Controllers[i] {
		case "memory":
			// Raising: the parent first; lowering: the leaf first.
			if err = setMem(d, mb(l.memoryMB+reserveMemoryMB)); err == nil {
				err = setMem(user, mb(l.memoryMB))
			} else if err = setMem(user, mb(l.memoryMB)); err == nil {
				err = setMem(d, mb(l.memoryMB+reserveMemoryMB))
			}
		case "cpu":
			if err = set(d, "cpu.cfs_period_us", strconv.Itoa(period), false); err == nil {
				err = set(d, "cpu.cfs_quota_us", quota, false)
			}
		case "pids":
			if err = set(d, "pids.max", strconv.Itoa(l.pids), false); err == nil {
				err = set(user, "pids.max", userPids, false)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// procsFiles are what the launcher writes its pid into (v1 only): the sys
// leaf of every controller.
func (g *sandboxCgroup) procsFiles() string {
	if g == nil || g.v2 {
		return ""
	}
	return procsList(g.leaf(sysLeaf))
}

// userProcsFiles are where user processes move themselves (every
// controller's user leaf).
func (g *sandboxCgroup) userProcsFiles() string {
	if g == nil {
		return ""
	}
	if g.v2 {
		return procsList(g.leaf(userLeaf)[:1])
	}
	return procsList(g.leaf(userLeaf))
}

func procsList(dirs []string) string {
	var fs []string
	for _, d := range dirs {
		fs = append(fs, filepath.Join(d, "cgroup.procs"))
	}
	return strings.Join(fs, string(os.PathListSeparator))
}

// pids lists every process in the cgroup.
func (g *sandboxCgroup) pids() []int {
	if g == nil {
		return nil
	}
	seen := map[int]bool{}
	var out []int
	for _, d := range g.all() {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// kill SIGKILLs every process in the cgroup until it is empty. New forks
// race with the loop, but pids.max bounds them and each round kills all.
func (g *sandboxCgroup) kill() {
	if g.v2 {
		_ = os.WriteFile(filepath.Join(g.dirs[0], "cgroup.kill"), []byte("1"), 0)
	}
	for i := 0; i < 500; i++ {
		ps := g.pids()
		if len(ps) == 0 {
			return
		}
		for _, p := range ps {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(time.Duration(min(i+1, 20)) * time.Millisecond)
	}
}

// destroy kills everything in the cgroup and removes its directories. A
// process that joins while this runs (a launcher that was just started)
// makes rmdir fail with EBUSY: kill again and retry.
func (g *sandboxCgroup) destroy() error {
	if g == nil {
		return nil
	}
	if g.fd != nil {
		g.fd.Close()
		g.fd = nil
	}
	var err error
	for round := 0; round < 20; round++ {
		g.kill()
		err = nil
		for _, d := range g.all() {
			var rerr error
			// rmdir also fails with EBUSY while the last killed tasks exit.
			for i := 0; i < 20; i++ {
				if rerr = syscall.Rmdir(d); rerr == nil || errors.Is(rerr, syscall.ENOENT) {
					rerr = nil
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing cgroup %s: %w", d, rerr))
			}
		}
		if err == nil {
			return nil
		}
	}
	return err
}

// userDemand is how long the threads of the processes in the user leaf
// (the applications) have run or waited to run so far
// (/proc/PID/task/TID/schedstat, ns): a thread drawing, or starved of CPU
// on a busy machine, adds up; one waiting for events does not. Every
// thread, not only the main ones: Firefox animates a CSS spinner off its
// main threads, and with those idle the spinner starved for a while
// passed for a still screen (10-15% stale screenshots at load
// 7-28 counting main threads only, 0% counting all). An exited process's
// time drops out.
func (g *sandboxCgroup) userDemand() time.Duration {
	b, _ := os.ReadFile(filepath.Join(g.leaf(userLeaf)[0], "cgroup.procs"))
	var ns int64
	for _, pid := range strings.Fields(string(b)) {
		tasks, _ := os.ReadDir("/proc/" + pid + "/task")
		for _, t := range tasks {
			st, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/schedstat")
			if err != nil {
				continue
			}
			if f := strings.Fields(string(st)); len(f) >= 2 {
				run, _ := strconv.ParseInt(f[0], 10, 64)
				wait, _ := strconv.ParseInt(f[1], 10, 64)
				ns += run + wait
			}
		}
	}
	return time.Duration(ns)
}
