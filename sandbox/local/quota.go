package local

import (
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
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

// resizeQuota sets the size of a running sandbox's home and /tmp (a pooled
// sandbox booted with the pool's limits gets its owner's at hand-out). The
// home is a host-side mount; /tmp is bubblewrap's tmpfs in the sandbox's
// mount namespace, remounted from a thread that joins that namespace.
func resizeQuota(home string, sandboxPID, sizeMB int) error {
	data := fmt.Sprintf("size=%dm", sizeMB)
	const flags = unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV
	if err := unix.Mount("", home, "", flags, data); err != nil {
		return fmt.Errorf("resize home: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread leaves with the sandbox's mount
		// namespace and the runtime discards it when this goroutine ends.
		runtime.LockOSThread()
		errc <- func() error {
			// setns(CLONE_NEWNS) needs a thread that shares no fs state.
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return err
			}
			fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", sandboxPID), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
				return err
			}
			return unix.Mount("", "/tmp", "", flags, data)
		}()
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("resize /tmp: %w", err)
	}
	return nil
}
