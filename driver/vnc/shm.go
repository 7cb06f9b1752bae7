//go:build linux

package vnc

import (
	"golang.org/x/sys/unix"

	"github.com/vmservice/vmservice/internal/procfs"
)

// RemoveSegments removes the SysV shared memory segments of the caller's
// IPC namespace whose creator (pid, uid) match. x11vnc grabs the screen
// with MIT-SHM and, killed or cut off from its X server, exits without
// removing its segments: they would hold memory until reboot.
func RemoveSegments(match func(cpid, cuid int) bool) {
	segs, _ := procfs.ShmSegments()
	for _, s := range segs {
		if match(s.CPID, s.CUID) {
			_, _ = unix.SysvShmCtl(s.ID, unix.IPC_RMID, nil)
		}
	}
}
