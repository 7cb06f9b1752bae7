package mcptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmservice/vmservice/backend/local"
)

// The local backend's cgroup v1 controllers.
var controllers = []string{"memory", "cpu", "pids"}

// CgroupsIn lists the sandbox cgroups under parent in one v1 controller.
func CgroupsIn(ctrl, parent string) []string {
	dir := filepath.Join("/sys/fs/cgroup", ctrl, parent)
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		if de.IsDir() {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	return out
}

// Cgroups lists the sandbox cgroups under parent in every controller.
func Cgroups(parent string) []string {
	var out []string
	for _, ctrl := range controllers {
		out = append(out, CgroupsIn(ctrl, parent)...)
	}
	return out
}

// CgroupPids lists the processes of a cgroup directory, its child groups
// included.
func CgroupPids(dir string) []int {
	var out []int
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return nil
	})
	return out
}

// Comm is a process's command name ("" when gone).
func Comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// procStatus is a process's real uid and whether it is a zombie (ok false
// when it is gone).
func procStatus(pid int) (uid int, zombie, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1, false, false
	}
	uid = -1
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[0] == "Uid:" {
			uid, _ = strconv.Atoi(f[1])
		}
		if len(f) > 1 && f[0] == "State:" && f[1] == "Z" {
			zombie = true
		}
	}
	return uid, zombie, true
}

// ProcUID is the real uid of a host process (-1 when gone).
func ProcUID(pid int) int {
	uid, _, _ := procStatus(pid)
	return uid
}

// Pids lists the host's processes.
func Pids() []int {
	des, _ := os.ReadDir("/proc")
	var out []int
	for _, de := range des {
		if pid, err := strconv.Atoi(de.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Segment is a SysV shared memory segment of the caller's IPC namespace.
type Segment struct {
	ID, CPID, CUID int
}

// ShmSegments lists the SysV shared memory segments of the caller's IPC
// namespace.
func ShmSegments() ([]Segment, error) {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, l := range strings.Split(string(b), "\n")[1:] {
		// key shmid perms size cpid lpid nattch uid gid cuid ...
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		var s Segment
		var err1, err2, err3 error
		s.ID, err1 = strconv.Atoi(f[1])
		s.CPID, err2 = strconv.Atoi(f[4])
		s.CUID, err3 = strconv.Atoi(f[9])
		if err1 == nil && err2 == nil && err3 == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// Leaks counts what of a local backend's slot range exists on the host:
// processes of the slot uids (not zombies: init reaps them), cgroups under
// its parent, sandbox directories, mounts under its state directory, X
// locks and sockets of its displays, and shared memory its uids created.
// Every kind has a count (0 for none); procs describes each process.
func Leaks(o local.Options) (counts map[string]int, procs []string) {
	counts = map[string]int{}
	for _, k := range []string{"processes", "cgroups", "dirs", "mounts", "x_locks_sockets", "shm_segments"} {
		counts[k] = 0
	}
	slotUID := func(uid int) bool { return uid >= o.UIDBase && uid < o.UIDBase+o.MaxSlots }
	for _, pid := range Pids() {
		if uid, zombie, ok := procStatus(pid); ok && !zombie && slotUID(uid) {
			counts["processes"]++
			procs = append(procs, fmt.Sprintf("process %d (%s, uid %d)", pid, Comm(pid), uid))
		}
	}
	counts["cgroups"] = len(Cgroups(o.CgroupParent))
	if des, _ := os.ReadDir(filepath.Join(o.StateDir, "sb")); len(des) > 0 {
		counts["dirs"] += len(des)
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		counts["mounts"] += strings.Count(string(b), " "+o.StateDir+"/")
	}
	for n := 0; n < o.MaxSlots; n++ {
		d := o.DisplayBase + n
		for _, p := range []string{fmt.Sprintf("/tmp/.X%d-lock", d), fmt.Sprintf("/tmp/.X11-unix/X%d", d)} {
			if _, err := os.Lstat(p); err == nil {
				counts["x_locks_sockets"]++
			}
		}
	}
	segs, _ := ShmSegments()
	for _, s := range segs {
		if slotUID(s.CUID) {
			counts["shm_segments"]++
		}
	}
	return counts, procs
}
