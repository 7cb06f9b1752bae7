//go:build linux

package x11

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"math/big"
	"os"
	"runtime"
	"strconv"

	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// shmSegment is a System V shared memory segment the X server writes
// screen pixels into (MIT-SHM): no copy through the socket and no
// allocation per frame.
type shmSegment struct {
	seg  shm.Seg
	data []byte
}

func (c *Conn) shmReady() bool {
	if c.shm != nil {
		return true
	}
	if c.noSHM {
		return false
	}
	if err := c.shmOpen(); err != nil {
		c.logger().Debug().Err(err).Msg("MIT-SHM unavailable; screenshots use GetImage")
		c.noSHM = true
		return false
	}
	return true
}

func (c *Conn) shmOpen() error {
	// A segment id names a segment in the caller's IPC namespace. Across
	// namespaces the server would attach whatever segment has that id there
	// (and write screen pixels into it), so the segment is made in the X
	// server's own namespace: ours when it shares it, else (an X server
	// with an IPC namespace of its own, as the local backend runs it) its
	// namespace entered for the segment calls, which needs root.
	ns := func(fn func() error) error { return fn() }
	foreign := !sameIPCNamespace(c.serverPID)
	if foreign {
		if c.serverPID <= 0 || os.Geteuid() != 0 {
			return errors.New("the X server's IPC namespace is unknown or not ours")
		}
		pid := c.serverPID
		ns = func(fn func() error) error { return inIPCNamespace(pid, fn) }
	}
	if err := initExtension(c.xc, "MIT-SHM", shm.Init); err != nil {
		return err
	}
	size := c.width * c.height * 4
	var id int
	var data []byte
	err := ns(func() error {
		var err error
		if foreign {
			// The X server resolves a client's segment id in its own
			// namespace, and a fresh namespace numbers segments from 0 like
			// every other: an application in the sandbox (IPC namespace of
			// its own) asking the server to attach its first segment would
			// get ours, already attached, with no access check, and hang
			// (GTK apps launched after a screenshot never mapped a window).
			// A random id, far from the ones fresh namespaces hand out,
			// keeps them apart.
			if err := setNextShmID(); err != nil {
				return err
			}
		}
		if id, err = unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600); err != nil {
			return err
		}
		if uid := c.serverUID; uid >= 0 && uid != os.Getuid() {
			// An X server running as another (unprivileged) user may only
			// attach a 0600 segment it owns; the server lets root clients
			// use any segment, and as root we may hand the segment over.
			var desc unix.SysvShmDesc
			if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err == nil {
				desc.Perm.Uid = uint32(uid)
				_, _ = unix.SysvShmCtl(id, unix.IPC_SET, &desc)
			}
		}
		data, err = unix.SysvShmAttach(id, 0, 0)
		if err != nil {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		}
		return err
	})
	if err != nil {
		return err
	}
	// Marked for removal once both sides detach, so nothing outlives us.
	defer func() { _ = ns(func() error { _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); return err }) }()
	seg, err := shm.NewSegId(c.xc)
	if err != nil {
		_ = unix.SysvShmDetach(data)
		return err
	}
	if err := shm.AttachChecked(c.xc, seg, uint32(id), false).Check(); err != nil {
		_ = unix.SysvShmDetach(data)
		return err
	}
	c.shm = &shmSegment{seg: seg, data: data}
	return nil
}

// inIPCNamespace runs fn on this thread inside the IPC namespace of pid
// (System V calls name segments in the caller's namespace; the mapping
// shmat makes stays valid after the thread returns to ours).
func inIPCNamespace(pid int, fn func() error) error {
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/ipc", pid))
	if err != nil {
		return err
	}
	defer target.Close()
	self, err := os.Open("/proc/thread-self/ns/ipc")
	if err != nil {
		return err
	}
	defer self.Close()
	runtime.LockOSThread()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWIPC); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWIPC); err != nil {
		// Stuck in the other namespace: the thread stays locked to this
		// goroutine and is never reused for anything else.
		return errors.Join(ferr, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// setNextShmID makes the next segment created in this thread's IPC
// namespace take a random id (the kernel's shm_next_id, per namespace).
func setNextShmID() error {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<29))
	if err != nil {
		return err
	}
	// Ids are index + 32768 * sequence; any value with a small index is valid.
	id := (1<<29 + n.Int64()) &^ 0x7fff
	return os.WriteFile("/proc/sys/kernel/shm_next_id", []byte(strconv.FormatInt(id, 10)), 0)
}

func sameIPCNamespace(pid int) bool {
	if pid <= 0 {
		return false
	}
	theirs, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/ipc", pid))
	ours, err2 := os.Readlink("/proc/self/ns/ipc")
	return err1 == nil && err2 == nil && theirs == ours
}

func (c *Conn) shmClose() {
	if c.shm == nil {
		return
	}
	if !c.dead.Load() {
		shm.Detach(c.xc, c.shm.seg)
	}
	_ = unix.SysvShmDetach(c.shm.data)
	c.shm = nil
}

func (c *Conn) grabSHM(ctx context.Context, r image.Rectangle, img *image.RGBA) error {
	w, h := r.Dx(), r.Dy()
	ck := shm.GetImage(c.xc, xproto.Drawable(c.root), int16(r.Min.X), int16(r.Min.Y),
		uint16(w), uint16(h), 0xffffffff, xproto.ImageFormatZPixmap, c.shm.seg, 0)
	if _, err := await(ctx, ck.Cookie.Reply); err != nil {
		return c.xerr(err)
	}
	c.pix.convert(img.Pix, c.shm.data[:w*h*4])
	return nil
}
