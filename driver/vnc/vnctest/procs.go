package vnctest

import (
	"slices"

	"github.com/vmservice/vmservice/internal/procfs"
)

// X11vnc lists the live (not zombie) x11vnc processes serving display (any
// display when "") whose parent is parent (any parent when 0): other tests
// on the machine may run their own.
func X11vnc(display string, parent int) []int {
	var out []int
	for _, pid := range procfs.Pids() {
		st, ok := procfs.ReadStatus(pid)
		if !ok || st.Name != "x11vnc" || st.Zombie() || (parent != 0 && st.PPid != parent) {
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
