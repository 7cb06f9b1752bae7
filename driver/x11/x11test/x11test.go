// Package x11test starts throwaway X servers (real Xvfb) for tests and
// benchmarks of everything that talks X11.
package x11test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartXvfb starts `Xvfb :N -screen 0 WxHx24` on a free display number with
// a fresh MIT-MAGIC-COOKIE-1 cookie, waits until it accepts clients and
// kills it in t.Cleanup. It returns the server's unix socket, the raw
// 16-byte cookie, the display name (":N") and an Xauthority file holding
// the cookie (for command-line clients: DISPLAY=display XAUTHORITY=authFile).
func StartXvfb(t testing.TB, w, h int) (socketPath string, cookie []byte, display string, authFile string) {
	t.Helper()
	return StartXvfbAs(t, w, h, -1)
}

// StartXvfbAs is StartXvfb with the server running as uid (and gid = uid)
// when uid >= 0, as the local backend runs it; it needs root for that.
func StartXvfbAs(t testing.TB, w, h, uid int) (socketPath string, cookie []byte, display string, authFile string) {
	t.Helper()
	cookie = make([]byte, 16)
	if _, err := rand.Read(cookie); err != nil {
		t.Fatalf("x11test: cookie: %v", err)
	}
	dir := t.TempDir()
	if uid >= 0 {
		// The server must be able to read its -auth file.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatalf("x11test: %v", err)
		}
	}
	authFile = filepath.Join(dir, "Xauthority")

	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		n, unlock, err := claimDisplay()
		if err != nil {
			t.Fatalf("x11test: %v", err)
		}
		display = ":" + strconv.Itoa(n)
		// A fresh file per attempt: Xvfb trusts every cookie in it.
		_ = os.Remove(authFile)
		out, err := exec.Command("xauth", "-f", authFile, "add", display, ".", hex.EncodeToString(cookie)).CombinedOutput()
		if err != nil {
			unlock()
			t.Fatalf("x11test: xauth: %v: %s", err, out)
		}
		if uid >= 0 {
			if err := os.Chmod(authFile, 0o644); err != nil {
				t.Fatalf("x11test: %v", err)
			}
		}
		if err := startXvfb(t, n, w, h, uid, authFile); err != nil {
			unlock()
			lastErr = err
			continue
		}
		socket := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		// Runs after the server's own clean-up (LIFO). A server killed on
		// purpose leaves its socket; the display's lock makes it ours.
		t.Cleanup(func() { _ = os.Remove(socket); unlock() })
		return socket, cookie, display, authFile
	}
	t.Fatalf("x11test: could not start Xvfb: %v", lastErr)
	return
}

var (
	displayMu sync.Mutex
	pids      = map[string]int{}
)

// Pid is the process id of the Xvfb StartXvfb started for display (0 if
// none), for tests that kill the server on purpose.
func Pid(display string) int {
	displayMu.Lock()
	defer displayMu.Unlock()
	return pids[display]
}

// claimDisplay picks a display number with neither a lock file nor a
// socket and takes its lock file. Xvfb started with -displayfd and a number
// neither takes nor checks the lock, and would steal a live server's
// socket, so the lock is ours: it holds our pid in the X server's format,
// which other X servers honour (and break once we are gone).
func claimDisplay() (n int, unlock func(), err error) {
	r, _ := rand.Int(rand.Reader, big.NewInt(4000))
	for n, tries := 100+int(r.Int64()), 0; tries < 5000; n, tries = n+1, tries+1 {
		if n > 5000 {
			n = 100
		}
		lock := fmt.Sprintf("/tmp/.X%d-lock", n)
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); !os.IsNotExist(err) {
			continue
		}
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			continue
		}
		_, err = fmt.Fprintf(f, "%10d\n", os.Getpid())
		f.Close()
		if err != nil {
			os.Remove(lock)
			continue
		}
		return n, func() { os.Remove(lock) }, nil
	}
	return 0, nil, fmt.Errorf("no free X display number")
}

func startXvfb(t testing.TB, n, w, h, uid int, authFile string) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	var logBuf bytes.Buffer
	cmd := exec.Command("Xvfb", ":"+strconv.Itoa(n),
		"-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-nolisten", "tcp", "-nolisten", "local",
		"-auth", authFile, "-displayfd", "3", "-noreset")
	cmd.ExtraFiles = []*os.File{pw} // fd 3
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	pw.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	// Xvfb writes the display number to fd 3 once it accepts clients.
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case got := <-ready:
		if got != strconv.Itoa(n) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("Xvfb :%d did not start (%q): %s", n, got, logBuf.String())
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("Xvfb :%d not ready after 15s: %s", n, logBuf.String())
	}
	displayMu.Lock()
	pids[":"+strconv.Itoa(n)] = cmd.Process.Pid
	displayMu.Unlock()
	t.Cleanup(func() {
		displayMu.Lock()
		delete(pids, ":"+strconv.Itoa(n))
		displayMu.Unlock()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return nil
}

// Env returns os.Environ() with DISPLAY and XAUTHORITY pointing at the server.
func Env(display, authFile string) []string {
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DISPLAY=") || strings.HasPrefix(kv, "XAUTHORITY=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DISPLAY="+display, "XAUTHORITY="+authFile)
}

// Start runs an X client (xterm, openbox, ...) on the display and kills it
// (and its process group) in t.Cleanup.
func Start(t testing.TB, display, authFile, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = Env(display, authFile)
	var logBuf bytes.Buffer
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("x11test: start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	return cmd
}

// Run runs an X client to completion and returns its trimmed stdout.
func Run(t testing.TB, display, authFile, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = Env(display, authFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("x11test: %s %v: %v: %s", name, args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
