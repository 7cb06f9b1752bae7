package mcptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/procfs"
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
	for _, pid := range procfs.Pids() {
		if st, ok := procfs.ReadStatus(pid); ok && !st.Zombie() && slotUID(st.UID) {
			counts["processes"]++
			procs = append(procs, fmt.Sprintf("process %d (%s, uid %d)", pid, st.Name, st.UID))
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
	segs, _ := procfs.ShmSegments()
	for _, s := range segs {
		if slotUID(s.CUID) {
			counts["shm_segments"]++
		}
	}
	return counts, procs
}
