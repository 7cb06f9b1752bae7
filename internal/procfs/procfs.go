// Package procfs reads the few /proc fields the benchmarks report.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

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
