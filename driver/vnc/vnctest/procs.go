package vnctest

import (
	"slices"

	"github.com/vmservice/vmservice/internal/procfs"
)

// X11vnc lists the live (not zombie) x11vnc processes serving display (any
// display when "") that descend from ancestor (any when 0): other tests on
// the machine may run their own. (x11vnc runs in a jail: its parent is
// the jail's process, a child of whoever started it.)
func X11vnc(display string, ancestor int) []int {
	var out []int
	for _, pid := range procfs.Pids() {
		st, ok := procfs.ReadStatus(pid)
		if !ok || st.Name != "x11vnc" || st.Zombie() || (ancestor != 0 && !descends(st, ancestor)) {
			continue
		}
		if args := procfs.Cmdline(pid); display != "" && !slices.Contains(pairs(args), "-display "+display) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// pairs joins each argument with the next ("-display :5").
func pairs(args []string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		out = append(out, args[i]+" "+args[i+1])
	}
	return out
}

// descends reports whether the process of status st descends from pid.
func descends(st procfs.Status, pid int) bool {
	for i := 0; i < 64 && st.PPid > 0; i++ {
		if st.PPid == pid {
			return true
		}
		var ok bool
		if st, ok = procfs.ReadStatus(st.PPid); !ok {
			return false
		}
	}
	return false
}
