//go:build linux

package local

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/sandbox"
)

// Streams: x11vnc runs as the sandbox's uid in a jail of its own (see
// driver/vnc: no network, no host files but /usr, the display's socket and
// its stream directory), attached to the sandbox's Xvfb, and serves RFB
// only on a unix socket under the sandbox's state directory, which is never
// bound into the sandbox: nothing inside can reach it, whatever its
// network. It starts through the launcher, so it sits in the sandbox's sys
// cgroup like Xvfb: its CPU and memory count against the sandbox, and
// Destroy's cgroup kill ends it whatever happens.

var (
	vncMu    sync.Mutex
	vncSlots = map[*Instance]*vnc.Slot{} // kept here so this file stays self-contained
)

// vncSlot returns the instance's stream slot, or nil once Destroy began.
func (in *Instance) vncSlot(create bool) *vnc.Slot {
	vncMu.Lock()
	defer vncMu.Unlock()
	select {
	case <-in.destroyed:
		return nil
	default:
	}
	s := vncSlots[in]
	if s == nil && create {
		s = &vnc.Slot{}
		vncSlots[in] = s
	}
	return s
}

// StartVNC starts x11vnc for the stream service.
func (in *Instance) StartVNC(ctx context.Context, o sandbox.StreamOptions) (*sandbox.StreamEndpoint, error) {
	s := in.vncSlot(true)
	if s == nil {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "the sandbox is being destroyed")
	}
	// x11vnc sees the display under its host name (:N), its socket being
	// the one the sandbox sees as :0.
	base := vnc.Spec{Display: ":" + strconv.Itoa(in.slot.display), Socket: in.p.slotSocket(in.slot), Cookie: in.cookie,
		Dir: in.dir, UID: uint32(in.slot.uid), GID: uint32(in.slot.gid), Command: in.vncLauncher, ShareIPC: true,
		HandOver: func(path string, dir bool) error {
			if dir {
				return in.handOver(path, 7)
			}
			return in.handOver(path, 4)
		}}
	return s.Start(ctx, base, o, in.log)
}

// StopVNC stops the stream's x11vnc, if any.
func (in *Instance) StopVNC(context.Context) error {
	if s := in.vncSlot(false); s != nil {
		return s.Stop()
	}
	return nil
}

// closeVNC is Destroy's hook: it stops x11vnc and forgets the slot.
func (in *Instance) closeVNC() {
	vncMu.Lock()
	s := vncSlots[in]
	delete(vncSlots, in)
	vncMu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

// vncLauncher starts x11vnc through the launcher inside the X server's IPC
// namespace, so its MIT-SHM segments are the X server's and never the
// host's. It joins the user namespace owning that IPC namespace first (the
// slot uid owns it; bubblewrap's processes sit in a nested one).
func (in *Instance) vncLauncher(argv ...string) *exec.Cmd {
	ipc, err := os.Open("/proc/" + strconv.Itoa(in.xNSPid) + "/ns/ipc")
	if err != nil {
		return in.launcher("false") // the X server is gone: x11vnc could not start anyway
	}
	userns, err := nsOwner(ipc)
	if err != nil {
		ipc.Close()
		return in.launcher("false")
	}
	cmd := in.launcher(append([]string{"nsenter", "--user=/proc/self/fd/3", "--ipc=/proc/self/fd/4", "--preserve-credentials", "--"}, argv...)...)
	if in.p.rootless.separateUIDs() {
		// Its socket reaches the server through an ACL entry, which the
		// socket's group bits mask: no group bit may be cleared.
		cmd.Env = append(cmd.Env, umaskEnv+"=002")
	}
	// Closed by their finalizers once the process started (vnc.Start owns
	// the command).
	cmd.ExtraFiles = []*os.File{userns, ipc}
	return cmd
}
