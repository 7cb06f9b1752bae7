package vnc

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RemoveSegments removes the SysV shared memory segments of the caller's
// IPC namespace whose creator (pid, uid) match. x11vnc grabs the screen
// with MIT-SHM and, killed or cut off from its X server, exits without
// removing its segments: they would hold memory until reboot.
func RemoveSegments(match func(cpid, cuid int) bool) {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		// key shmid perms size cpid lpid nattch uid gid cuid ...
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		id, err1 := strconv.Atoi(f[1])
		cpid, err2 := strconv.Atoi(f[4])
		cuid, err3 := strconv.Atoi(f[9])
		if err1 == nil && err2 == nil && err3 == nil && match(cpid, cuid) {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		}
	}
}
