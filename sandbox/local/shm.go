package local

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// removeShm removes every SysV shared memory segment of the host's IPC
// namespace created by uid. A stream's x11vnc runs on the host as the
// slot's uid and grabs the screen with MIT-SHM; killed outright (the server
// SIGKILLed, or its X server gone) it leaves its segments behind, and they
// hold host memory until reboot. Only called once nothing of the slot runs
// (a segment still attached would just go with its last user).
func removeShm(uid int) {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	for _, l := range lines[1:] {
		// key shmid perms size cpid lpid nattch uid gid cuid ...
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		id, err1 := strconv.Atoi(f[1])
		cuid, err2 := strconv.Atoi(f[9])
		if err1 == nil && err2 == nil && cuid == uid {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		}
	}
}
