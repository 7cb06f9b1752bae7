// Command procattack is what code inside a sandbox would run to take over
// the processes it does not own (the agent, bubblewrap's init, the window
// manager): for every process it sees but itself, its ancestors and its
// own test child, it tries to steal descriptors (pidfd_getfd), to attach
// (ptrace), to read memory (process_vm_readv, /proc/PID/mem), and to open
// /proc/PID/fd and /proc/PID/environ. It prints one line per success:
//
//	REACHED <pid> <comm> <how>
//
// then, as the control case, the same attacks on a child of its own, which
// must all succeed ("CONTROL <n> of <m>"), and DONE.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	ancestors := map[int]bool{os.Getpid(): true}
	for pid := os.Getppid(); pid > 1 && !ancestors[pid]; pid = ppid(pid) {
		ancestors[pid] = true
	}
	child := exec.Command("/bin/sleep", "60")
	if err := child.Start(); err != nil {
		fmt.Println("no control child:", err)
		os.Exit(2)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || ancestors[pid] || pid == child.Process.Pid {
			continue
		}
		for _, how := range attack(pid) {
			fmt.Printf("REACHED %d %s %s\n", pid, comm(pid), how)
		}
	}
	got := attack(child.Process.Pid)
	fmt.Printf("CONTROL %d of %d\n", len(got), len(attacks))
	fmt.Println("DONE")
}

var attacks = []string{"pidfd_getfd", "ptrace", "process_vm_readv", "/proc/PID/mem", "/proc/PID/fd", "/proc/PID/environ"}

// attack tries each way in and returns those that worked.
func attack(pid int) []string {
	var ok []string
	// Descriptors: 0..63 of the target, through a pidfd.
	if pfd, err := unix.PidfdOpen(pid, 0); err == nil {
		for n := 0; n < 64; n++ {
			if fd, err := unix.PidfdGetfd(pfd, n, 0); err == nil {
				unix.Close(fd)
				ok = append(ok, "pidfd_getfd")
				break
			}
		}
		unix.Close(pfd)
	}
	if err := unix.PtraceSeize(pid); err == nil {
		_ = unix.PtraceDetach(pid)
		ok = append(ok, "ptrace")
	}
	if readMemory(pid) {
		ok = append(ok, "process_vm_readv")
	}
	if f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid)); err == nil {
		f.Close()
		ok = append(ok, "/proc/PID/mem")
	}
	if names, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		for _, n := range names {
			if f, err := os.Open(fmt.Sprintf("/proc/%d/fd/%s", pid, n.Name())); err == nil {
				f.Close()
				ok = append(ok, "/proc/PID/fd")
				break
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil && len(b) > 0 {
		ok = append(ok, "/proc/PID/environ")
	}
	return ok
}

// readMemory reads a word of the target's stack (or, when its maps are
// hidden, of a likely address: EFAULT then still means the kernel let the
// read through).
func readMemory(pid int) bool {
	addr := uintptr(0x400000)
	if maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid)); err == nil {
		for _, l := range strings.Split(string(maps), "\n") {
			var lo uint64
			if strings.HasSuffix(l, "[stack]") {
				if _, err := fmt.Sscanf(l, "%x-", &lo); err == nil {
					addr = uintptr(lo)
				}
			}
		}
	}
	buf := make([]byte, 8)
	local := []unix.Iovec{{Base: &buf[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: addr, Len: 8}}
	_, err := unix.ProcessVMReadv(pid, local, remote, 0)
	return err == nil || err == unix.EFAULT
}

func ppid(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
