// Command envdinit starts E2B's envd inside an emulated sandbox (a local
// sandbox playing E2B's VM) and gives it what E2B's VM does:
//
//   - setgroups(2) that succeeds. In E2B's VM envd runs as root and starts
//     every process as the requested user with that user's groups. A local
//     sandbox maps a single uid, 1000 (`user`), and the kernel refuses
//     setgroups in such a user namespace, so envd, running as `user`,
//     would fail every process start with EPERM. A seccomp filter
//     (inherited by everything envd starts) answers setgroups with success
//     and changes nothing: the only group there is is the user's own.
//   - its own cgroup. In E2B's VM envd puts what it starts in a "user"
//     cgroup of its own (cgroup v2), away from itself. Here envd runs with
//     the desktop's processes (local.ProcessSpec.System) holding the user
//     leaf's cgroup.procs files, and every process it starts moves itself
//     into that leaf before it runs: envd runs each one through ionice,
//     found in PATH, and the "ionice" envd finds first is this program
//     (bound at DIR/bin/ionice), which joins the user leaf through envd's
//     files, takes itself out of PATH and execs the real ionice. So a fork
//     bomb meets the user's process limit while envd can still start
//     threads (a Go program that cannot dies: "fatal error: newosproc").
//
// Usage: envdinit /path/to/envd [ARGS...]
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vmservice/vmservice/backend/local"
)

// shim is the name envd looks up for every process it starts.
const shim = "ionice"

func main() {
	if filepath.Base(os.Args[0]) == shim {
		joinUserLeaf()
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: envdinit PROGRAM [ARGS...]")
		os.Exit(2)
	}
	if err := noopSetgroups(); err != nil {
		fmt.Fprintln(os.Stderr, "envdinit:", err)
		os.Exit(1)
	}
	// The files stay open in envd (not close-on-exec); their numbers are
	// for envd's children to find, not for envd's environment.
	if os.Getenv(local.UserCgroupFDsEnv) != "" {
		os.Unsetenv(local.UserCgroupFDsEnv)
		self, _ := filepath.Abs(os.Args[0])
		os.Setenv("PATH", filepath.Join(filepath.Dir(self), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	err := unix.Exec(os.Args[1], os.Args[1:], os.Environ())
	fmt.Fprintln(os.Stderr, "envdinit: exec:", err)
	os.Exit(127)
}

// joinUserLeaf runs as "ionice" in a process envd started: it moves into
// the user leaf through the cgroup.procs files envd (its parent) holds,
// drops its own directory from PATH and execs the real ionice.
func joinUserLeaf() {
	parent := "/proc/" + strconv.Itoa(os.Getppid()) + "/fd/"
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if t, err := os.Readlink(parent + e.Name()); err == nil && strings.HasSuffix(t, "/cgroup.procs") {
			if f, err := os.OpenFile(parent+e.Name(), os.O_WRONLY, 0); err == nil {
				_, _ = f.WriteString("0") // 0: the writer
				f.Close()
			}
		}
	}
	dir := filepath.Dir(os.Args[0])
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d != dir {
			keep = append(keep, d)
		}
	}
	os.Setenv("PATH", strings.Join(keep, string(os.PathListSeparator)))
	argv := append([]string{shim}, os.Args[1:]...)
	real, err := exec.LookPath(shim)
	if err != nil {
		// No ionice here: run what it would have run (envd passes
		// "-c CLASS -n LEVEL COMMAND...").
		argv = os.Args[1:]
		for len(argv) >= 2 && (argv[0] == "-c" || argv[0] == "-n") {
			argv = argv[2:]
		}
		if len(argv) == 0 {
			os.Exit(0)
		}
		if real, err = exec.LookPath(argv[0]); err != nil {
			fmt.Fprintln(os.Stderr, "envdinit:", err)
			os.Exit(127)
		}
	}
	err = unix.Exec(real, argv, os.Environ())
	fmt.Fprintln(os.Stderr, "envdinit: exec:", err)
	os.Exit(127)
}

// noopSetgroups installs a seccomp filter: setgroups returns 0 (errno 0
// makes SECCOMP_RET_ERRNO a success without running the call); everything
// else runs as usual.
func noopSetgroups() error {
	arch := map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}[runtime.GOARCH]
	if arch == 0 {
		return fmt.Errorf("no seccomp architecture for %s", runtime.GOARCH)
	}
	const (
		archOffset = 4 // struct seccomp_data: nr (u32), arch (u32), ...
		nrOffset   = 0
	)
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: archOffset},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: arch},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: nrOffset},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_SETGROUPS},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO}, // | 0: success
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// TSYNC: every thread the Go runtime already started gets it too.
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fp))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
