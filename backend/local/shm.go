//go:build linux

package local

import "github.com/vmservice/vmservice/driver/vnc"

// removeShm removes every SysV shared memory segment of the host's IPC
// namespace created by uid: whatever a slot's host-side processes (a
// stream's x11vnc killed outright with the server, say) left behind. Only
// called once nothing of the slot runs (a segment still attached would just
// go with its last user).
func removeShm(uid int) {
	vnc.RemoveSegments(func(_, cuid int) bool { return cuid == uid })
}
