// Package procfs is the one reader of /proc: the process list, a process's
// status (name, state, parent, uids), command line, children and files,
// the SysV shared memory segments, and "Name: N kB" fields. The local
// backend, the VNC driver, the test helpers (internal/mcptest,
// driver/vnc/vnctest) and vmbench read /proc through it.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// Pids lists the processes of this pid namespace.
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

// File reads /proc/PID/name.
func File(pid int, name string) ([]byte, error) {
	return os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
}

// Status is what /proc/PID/status says of a process.
type Status struct {
	Name  string // the command name (comm)
	State string // R, S, D, Z, ...
	PPid  int
	UID   int // real
	EUID  int // effective
}

// Zombie reports an exited process its parent has yet to reap.
func (s Status) Zombie() bool { return s.State == "Z" }

// ReadStatus reads a process's status; ok is false when it is gone.
func ReadStatus(pid int) (s Status, ok bool) {
	b, err := File(pid, "status")
	if err != nil {
		return Status{UID: -1, EUID: -1}, false
	}
	return parseStatus(string(b)), true
}

func parseStatus(text string) Status {
	s := Status{UID: -1, EUID: -1}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Name":
			s.Name = f[0]
		case "State":
			s.State = f[0]
		case "PPid":
			s.PPid, _ = strconv.Atoi(f[0])
		case "Uid":
			s.UID, _ = strconv.Atoi(f[0])
			if len(f) > 1 {
				s.EUID, _ = strconv.Atoi(f[1])
			}
		}
	}
	return s
}

// Comm is a process's command name ("" when gone).
func Comm(pid int) string {
	b, _ := File(pid, "comm")
	return strings.TrimSpace(string(b))
}

// Cmdline is a process's arguments (nil when gone).
func Cmdline(pid int) []string {
	b, _ := File(pid, "cmdline")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// Children lists the children of a process's main thread.
func Children(pid int) []int {
	b, _ := File(pid, "task/"+strconv.Itoa(pid)+"/children")
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Segment is a SysV shared memory segment: its id and its creator's pid
// and uid.
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
	return parseShm(string(b)), nil
}

func parseShm(text string) []Segment {
	var out []Segment
	for _, l := range strings.Split(text, "\n")[1:] {
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
	return out
}

// LoadAvg is the 1, 5 and 15 minute load averages as /proc/loadavg
// writes them (nil when unreadable).
func LoadAvg() []string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return f[:3]
	}
	return nil
}

// StatusKB reads a "Name:   N kB" field of a /proc file such as
// /proc/PID/status or /proc/PID/smaps_rollup; 0 when absent.
func StatusKB(file, field string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
