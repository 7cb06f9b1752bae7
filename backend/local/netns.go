//go:build linux

package local

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DialContext opens a TCP connection to address (an IP literal and port,
// or localhost:port) inside the sandbox's network namespace: a service
// listening there on loopback is reachable from the server, never from the
// host's network. (The E2B emulator reaches each sandbox's envd this way,
// as E2B's proxy reaches a VM.) It needs CAP_SYS_ADMIN, as root has.
func (in *Instance) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("local: dial %s: only tcp", network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("local: dial %s: an IPv4 address and port", address)
	}
	select {
	case <-in.destroyed:
		return nil, unavailable("the sandbox was destroyed")
	default:
	}
	fd, err := socketIn("/proc/" + strconv.Itoa(in.childPID) + "/ns/net")
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "netns-tcp")
	defer f.Close()
	// Loopback answers at once; the bound is for a full accept queue.
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	if d, ok := ctx.Deadline(); ok {
		tv = unix.NsecToTimeval(max(int64(time.Until(d)), int64(time.Millisecond)))
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError("connect", err)}
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{})
	return net.FileConn(f) // dups the descriptor
}

// socketIn makes a TCP socket inside the network namespace at nsPath: a
// socket belongs to the namespace it was created in, so only socket(2)
// runs there, on a thread of its own.
func socketIn(nsPath string) (int, error) {
	ns, err := os.Open(nsPath)
	if err != nil {
		return -1, fmt.Errorf("local: the sandbox's network namespace: %w", err)
	}
	defer ns.Close()
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// A thread that cannot get back to the server's namespace is left
		// locked, so the runtime ends it with this goroutine.
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- result{-1, err}
			return
		}
		defer self.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{-1, fmt.Errorf("local: entering the sandbox's network namespace: %w", err)}
			return
		}
		fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{fd, serr}
	}()
	r := <-done
	return r.fd, r.err
}
