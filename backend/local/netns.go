//go:build linux

package local

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DialContext opens a TCP connection to address (an IP literal and port,
// or localhost:port) inside the sandbox's network namespace: a service
// listening there on loopback is reachable from the server, never from the
// host's network. (The E2B emulator reaches each sandbox's envd this way,
// as E2B's proxy reaches a VM.) As root the socket is made on a thread
// that enters the namespace; without root, by a helper that nsenter puts
// there (socketUnprivileged).
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
	nsPath := "/proc/" + strconv.Itoa(in.childPID) + "/ns/net"
	var fd int
	if in.p.rootless == nil {
		fd, err = socketIn(nsPath)
	} else {
		fd, err = in.socketUnprivileged(ctx, nsPath)
	}
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

// socketFD is where the socket helper hands its socket back.
const socketFD = 5

// socketUnprivileged makes a TCP socket inside the network namespace at
// nsPath without root: entering it takes CAP_SYS_ADMIN in the user
// namespace that owns it and in the caller's own, which only a process
// that nsenter put in the owner has. So this binary runs there (mode
// socket, asNSOwner) and sends its socket back over a socket pair.
func (in *Instance) socketUnprivileged(ctx context.Context, nsPath string) (int, error) {
	netns, err := os.Open(nsPath)
	if err != nil {
		return -1, fmt.Errorf("local: the sandbox's network namespace: %w", err)
	}
	defer netns.Close()
	owner, err := nsOwner(netns)
	if err != nil {
		return -1, err
	}
	defer owner.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "socket-pair"), os.NewFile(uintptr(pair[1]), "socket-pair")
	defer ours.Close()
	argv := asNSOwner(in.p.tools["nsenter"], in.holder, "--net", in.p.agentBin)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{reexecEnv + "=" + modeSocket}
	cmd.ExtraFiles = []*os.File{owner, netns, theirs}
	out, err := cmd.CombinedOutput()
	theirs.Close()
	if err != nil {
		return -1, fmt.Errorf("local: a socket in the sandbox's network namespace: %w: %s", err, bytes.TrimSpace(out))
	}
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(ours.Fd()), make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("local: the socket helper's answer: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("local: the socket helper sent no socket")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("local: the socket helper sent no socket")
	}
	return fds[0], nil
}

// socketMain is the socket helper (reexec.go): nsenter already put it in
// the sandbox's network namespace.
func socketMain() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Sendmsg(socketFD, []byte{0}, unix.UnixRights(fd), nil, 0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmservice socket: %v\n", err)
		return 1
	}
	return 0
}
