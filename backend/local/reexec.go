//go:build linux

package local

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The server's own binary doubles as tiny helpers, chosen by an
// environment variable at init time (like docker's reexec), so any binary
// that links this package (the server, a test binary) can be re-executed:
//
//   - launcher: runs as the sandbox's unprivileged uid, writes its own pid
//     into the sandbox's cgroups (cgroup v1; the files are chowned to that
//     uid) and execs the real program (Xvfb, bwrap, slirp4netns). So every
//     sandbox process is inside the cgroup from its first instruction.
//   - agent: the sandbox's pid 1 under bubblewrap; serves the JSON lines
//     protocol of protocol.go on agentInFD / agentOutFD.
//   - a11y: the accessibility driver, started by the agent as a user
//     process from the agent's own binary (a11y.go).
//   - socket: without root, makes a TCP socket in the network namespace
//     nsenter put it in and hands it back over socketFD (netns.go).
//
// Both remove the variables before anything else runs, so they never reach
// user commands.
const (
	reexecEnv  = "VMSERVICE_LOCAL_REEXEC"
	cgroupsEnv = "VMSERVICE_LOCAL_CGROUPS"
	// tunEnv (a uid) asks the launcher, started as root in a private mount
	// namespace, for a /dev/net/tun that uid may open (the host's may be
	// root-only); the command then drops to the uid itself (setpriv).
	tunEnv = "VMSERVICE_LOCAL_TUN_UID"
	// userProcsEnv lists the cgroup procs files of the user leaf; the
	// launcher opens them (as the sandbox uid, before any namespace) onto
	// fds userFDBase.. for the agent, which finds their numbers in
	// userFDsEnv and moves every user process into that leaf.
	userProcsEnv = "VMSERVICE_LOCAL_USER_PROCS"
	userFDsEnv   = "VMSERVICE_LOCAL_USER_FDS"
	// dataLimitEnv (bytes) sets the command's RLIMIT_DATA (the X server's:
	// see startXvfb).
	dataLimitEnv = "VMSERVICE_LOCAL_DATA_LIMIT"
	// umaskEnv (octal) sets the command's umask (a stream's x11vnc without
	// root: see StartVNC).
	umaskEnv   = "VMSERVICE_LOCAL_UMASK"
	userFDBase = 20 // clear of the descriptors a child is given (3..7)
	// The agent's channel: requests in, replies and events out (fd 3 is
	// bubblewrap's --info-fd).
	agentInFD  = 4
	agentOutFD = 5
	// bubblewrap runs the agent from agentExeFD and copies the sandbox's
	// Xauthority from xauthDataFD: neither has a host path inside.
	agentExeFD  = 6
	xauthDataFD = 7

	modeLauncher = "launcher"
	modeAgent    = "agent"
	// modeA11y is the accessibility driver, a user process in the sandbox
	// (a11y.go), run from the descriptor selfFDEnv names.
	modeA11y   = "a11y"
	selfFDEnv  = "VMSERVICE_LOCAL_SELF_FD"
	modeSocket = "socket"
)

func init() {
	switch os.Getenv(reexecEnv) {
	case modeLauncher:
		launcherMain()
	case modeAgent:
		fds := os.Getenv(userFDsEnv)
		os.Unsetenv(reexecEnv)
		os.Unsetenv(userFDsEnv)
		os.Exit(agentMain(fds))
	case modeA11y:
		if fd, err := strconv.Atoi(os.Getenv(selfFDEnv)); err == nil && fd > 2 {
			_ = syscall.Close(fd)
		}
		os.Unsetenv(reexecEnv)
		os.Unsetenv(selfFDEnv)
		os.Exit(a11yMain())
	case modeSocket:
		os.Exit(socketMain())
	}
}

// launcherMain never returns: it execs os.Args[1:] or exits 126/127.
func launcherMain() {
	// First, before the runtime opens anything that could sit on these fds.
	if up := os.Getenv(userProcsEnv); up != "" {
		for i, p := range strings.Split(up, string(os.PathListSeparator)) {
			fd, err := syscall.Open(p, syscall.O_WRONLY, 0)
			if err == nil && fd != userFDBase+i {
				err = syscall.Dup3(fd, userFDBase+i, 0)
				syscall.Close(fd)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "vmservice launcher: user cgroup: %v\n", err)
				os.Exit(126)
			}
		}
	}
	os.Unsetenv(userProcsEnv)
	procs := os.Getenv(cgroupsEnv)
	tunUID := os.Getenv(tunEnv)
	dataLimit := os.Getenv(dataLimitEnv)
	if m, err := strconv.ParseUint(os.Getenv(umaskEnv), 8, 32); err == nil {
		syscall.Umask(int(m))
	}
	os.Unsetenv(umaskEnv)
	os.Unsetenv(reexecEnv)
	os.Unsetenv(cgroupsEnv)
	os.Unsetenv(tunEnv)
	os.Unsetenv(dataLimitEnv)
	if n, err := strconv.ParseUint(dataLimit, 10, 64); err == nil {
		if err := syscall.Setrlimit(unix.RLIMIT_DATA, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			fmt.Fprintf(os.Stderr, "vmservice launcher: data limit: %v\n", err)
			os.Exit(126)
		}
	}
	if tunUID != "" {
		if err := privateTun(tunUID); err != nil {
			fmt.Fprintf(os.Stderr, "vmservice launcher: tun device: %v\n", err)
			os.Exit(126)
		}
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	if procs != "" {
		for _, p := range strings.Split(procs, string(os.PathListSeparator)) {
			if err := os.WriteFile(p, pid, 0); err != nil {
				fmt.Fprintf(os.Stderr, "vmservice launcher: joining cgroup: %v\n", err)
				os.Exit(126)
			}
		}
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "vmservice launcher: nothing to run")
		os.Exit(127)
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmservice launcher: %v\n", err)
		os.Exit(127)
	}
	err = syscall.Exec(path, os.Args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "vmservice launcher: exec %s: %v\n", os.Args[1], err)
	os.Exit(126)
}

// privateTun mounts a tmpfs on /dev/net (only in this process's own mount
// namespace) holding a tun device node owned by uid, and, in a pid
// namespace of its own, that namespace's /proc.
func privateTun(uidStr string) error {
	uid, err := strconv.Atoi(uidStr)
	if err != nil {
		return err
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", "/dev/net", "tmpfs", syscall.MS_NOSUID|syscall.MS_NOEXEC, "mode=0755,size=16k"); err != nil {
		return err
	}
	if err := syscall.Mknod("/dev/net/tun", syscall.S_IFCHR|0o600, 10<<8|200); err != nil {
		return err
	}
	if err := os.Chown("/dev/net/tun", uid, uid); err != nil {
		return err
	}
	if os.Getpid() == 1 { // a pid namespace of its own: its /proc, not the host's
		return syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
	}
	return nil
}
