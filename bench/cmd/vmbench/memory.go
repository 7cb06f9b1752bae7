package main

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vmservice/vmservice/internal/procfs"
)

// Memory figures are in MiB. RSS counts shared pages (libraries, the font
// cache) once per process; PSS splits them between the processes sharing
// them, so PSS sums to what the machine really spends.
type Memory struct {
	IdleSandbox      *ProcSet `json:"idle_sandbox,omitempty"`
	IdleSandboxes    int      `json:"idle_sandboxes_measured,omitempty"`
	Server0          *ProcSet `json:"server_0_sandboxes,omitempty"`
	Server20         *ProcSet `json:"server_20_sandboxes,omitempty"`
	Server20Children *ProcSet `json:"server_20_sandboxes_children,omitempty"`
}

// ProcSet is the memory of a set of processes.
type ProcSet struct {
	RSS       float64        `json:"rss_mib"`
	PSS       float64        `json:"pss_mib"`
	Processes int            `json:"processes"`
	ByName    map[string]int `json:"rss_kib_by_process,omitempty"`
}

func procMem(pids []int) *ProcSet {
	ps := &ProcSet{ByName: map[string]int{}}
	var rss, pss int
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		r := procfs.StatusKB(dir+"/status", "VmRSS")
		if r == 0 {
			continue
		}
		rss += r
		pss += procfs.StatusKB(dir+"/smaps_rollup", "Pss")
		ps.ByName[procfs.Comm(pid)] += r
		ps.Processes++
	}
	ps.RSS, ps.PSS = float64(rss)/1024, float64(pss)/1024
	return ps
}

// sandboxProcs groups the processes in the sandbox cgroups under parent by
// sandbox cgroup name (sN).
func sandboxProcs(parent string) map[string][]int {
	out := map[string][]int{}
	for _, pid := range procfs.Pids() {
		b, err := procfs.File(pid, "cgroup")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.SplitN(l, ":", 3)
			if len(f) != 3 || !(strings.Contains(","+f[1]+",", ",pids,") || f[1] == "") {
				continue
			}
			rest, ok := strings.CutPrefix(f[2], "/"+parent+"/")
			if !ok {
				continue
			}
			name, _, _ := strings.Cut(rest, "/")
			out[name] = append(out[name], pid)
			break
		}
	}
	return out
}

// descendants are every process below pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	for _, p := range procfs.Pids() {
		if st, ok := procfs.ReadStatus(p); ok {
			children[st.PPid] = append(children[st.PPid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// medianSet is the sandbox whose RSS is the median of sets.
func medianSet(sets []*ProcSet) *ProcSet {
	if len(sets) == 0 {
		return nil
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].RSS < sets[j].RSS })
	return sets[len(sets)/2]
}

// ourLinks maps display numbers to the X socket their /tmp/.X11-unix
// symlink points at, for sockets under stateDir (the local backend's host
// side of a sandbox's display).
func ourLinks(stateDir string) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/tmp/.X11-unix")
	for _, de := range ents {
		n, err := strconv.Atoi(strings.TrimPrefix(de.Name(), "X"))
		if err != nil {
			continue
		}
		t, err := os.Readlink(filepath.Join("/tmp/.X11-unix", de.Name()))
		if err == nil && strings.HasPrefix(t, stateDir+"/") {
			out[n] = t
		}
	}
	return out
}
