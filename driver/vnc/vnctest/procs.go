package vnctest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var ppidRE = regexp.MustCompile(`(?m)^PPid:\s+(\d+)`)

// X11vnc lists the live (not zombie) x11vnc processes serving display (any
// display when "") whose parent is parent (any parent when 0): other tests
// on the machine may run their own.
func X11vnc(display string, parent int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil || !strings.Contains(string(st), "Name:\tx11vnc\n") || strings.Contains(string(st), "State:\tZ") {
			continue
		}
		if parent != 0 {
			if m := ppidRE.FindStringSubmatch(string(st)); m == nil || m[1] != strconv.Itoa(parent) {
				continue
			}
		}
		if display != "" {
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if !strings.Contains(string(b), "\x00-display\x00"+display+"\x00") {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}
