//go:build linux

package x11

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerCred is the pid and uid of the process at the other end of a unix
// socket (0 and -1 when unknown; the pid is 0 when the server lives in
// another pid namespace).
func peerCred(nc net.Conn) (pid, uid int) {
	pid, uid = 0, -1
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid, uid = int(cred.Pid), int(cred.Uid)
		}
	})
	return
}
