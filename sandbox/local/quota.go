package local

import (
	"fmt"
	"syscall"
)

// Disk quotas. A sandbox's home and /tmp are tmpfs mounts of a fixed size,
// so a command filling them gets ENOSPC instead of filling the host's disk
// (the state directory is on the host's root file system). Their pages live
// in RAM and are charged to the sandbox's memory cgroup, so the quota is
// also bounded by half the memory limit: a full disk is an ENOSPC, not an
// out-of-memory kill.

// quotaMB is the size of the home and of /tmp for a memory limit of memMB.
func (p *Provider) quotaMB(memMB int) int { return max(16, min(p.opts.DiskMB, memMB/2)) }

// mountHome mounts the size-limited tmpfs on the home directory (host side;
// bubblewrap binds it in).
func mountHome(dir string, uid, sizeMB int) error {
	return syscall.Mount("vmservice-home", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
		fmt.Sprintf("size=%dm,mode=0700,uid=%d,gid=%d", sizeMB, uid, uid))
}

// unmountAll detaches every mount stacked on dir; none is fine.
func unmountAll(dir string) {
	for i := 0; i < 8 && syscall.Unmount(dir, syscall.MNT_DETACH) == nil; i++ {
	}
}
