//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
// mount namespace, remounted by a short-lived nsenter: joining that
// namespace from a thread of this process disturbed the next fork (slirp4netns
// then saw the sandbox's /proc), and hand-out is not a hot path.
func resizeQuota(ctx context.Context, nsenter, home string, sandboxPID, sizeMB int) error {
	data := fmt.Sprintf("size=%dm", sizeMB)
	if err := unix.Mount("", home, "", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		return fmt.Errorf("resize home: %w", err)
	}
	out, err := exec.CommandContext(ctx, nsenter, "-t", strconv.Itoa(sandboxPID), "-m", "--",
		"mount", "-o", "remount,nosuid,nodev,"+data, "/tmp").CombinedOutput()
	if err != nil {
		return fmt.Errorf("resize /tmp: %w: %s", err, out)
	}
	return nil
}

// resizeQuotaUnprivileged is resizeQuota without root: the home and /tmp
// are both bubblewrap's tmpfs mounts in the sandbox's mount namespace,
// remounted by nsenter as root of the user namespace that owns it
// (asNSOwner).
func resizeQuotaUnprivileged(ctx context.Context, nsenter string, h *holder, sandboxPID, sizeMB int) error {
	mnt, err := os.Open("/proc/" + strconv.Itoa(sandboxPID) + "/ns/mnt")
	if err != nil {
		return err
	}
	defer mnt.Close()
	owner, err := nsOwner(mnt)
	if err != nil {
		return err
	}
	defer owner.Close()
	opts := fmt.Sprintf("remount,nosuid,nodev,size=%dm", sizeMB)
	argv := asNSOwner(nsenter, h, "--mount", "/bin/sh", "-c", `mount -o "$1" /tmp && mount -o "$1" `+homeDir, "resize", opts)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{owner, mnt}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("resize the home and /tmp: %w: %s", err, out)
	}
	return nil
}
