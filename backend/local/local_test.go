package local

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/testwait"
	"github.com/vmservice/vmservice/sandbox"
)

// newTestProvider makes a provider with its own state directory.
func newTestProvider(t testing.TB) *Provider {
	t.Helper()
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	p, err := New(Options{StateDir: dir, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, p.Close())
		require.NoError(t, os.RemoveAll(dir))
	})
	return p
}

func testConfig() sandbox.Config {
	return sandbox.Config{}.WithDefaults(sandbox.DefaultSettings())
}

func newTestInstance(t testing.TB, p *Provider, mod func(*sandbox.Config)) *Instance {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	in, err := p.CreateLocal(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, in.Destroy(context.Background())) })
	return in
}

func run(t testing.TB, in *Instance, cmd string) *sandbox.CommandResult {
	t.Helper()
	res, err := in.Run(context.Background(), sandbox.CommandRequest{Command: cmd, Timeout: 60 * time.Second})
	require.NoError(t, err, cmd)
	return res
}

func ok(t testing.TB, in *Instance, cmd string) string {
	t.Helper()
	res := run(t, in, cmd)
	require.Equal(t, 0, res.ExitCode, "%q: stdout %q stderr %q", cmd, res.Stdout, res.Stderr)
	return res.Stdout
}

func procUID(pid int) int {
	var st syscall.Stat_t
	if syscall.Stat("/proc/"+strconv.Itoa(pid), &st) != nil {
		return -1
	}
	return int(st.Uid)
}

// footprint is everything of a sandbox that must be gone after Destroy.
type footprint struct {
	pids  []int
	paths []string
}

func footprintOf(in *Instance) footprint {
	f := footprint{pids: in.cg.pids()}
	f.paths = append(f.paths, in.cg.dirs...)
	f.paths = append(f.paths, in.dir, xLockPath(in.slot.display), xSocketPath(in.slot.display))
	return f
}

func (f footprint) assertGone(t *testing.T) {
	t.Helper()
	for _, pid := range f.pids {
		// A killed process may linger briefly as a zombie until its new
		// parent (the host's init) reaps it; that is gone enough.
		assert.Eventually(t, func() bool {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			return err != nil || strings.Contains(string(b), ") Z ")
		}, 5*time.Second, 10*time.Millisecond, "process %d still exists", pid)
	}
	for _, p := range f.paths {
		_, err := os.Lstat(p)
		assert.True(t, os.IsNotExist(err), "%s still exists", p)
	}
}

func TestIdentityAndFilesystemView(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()

	assert.Equal(t, "1000 1000 sandbox\n", ok(t, in, "echo $(id -u) $(id -g) $(hostname)"))
	// The sandbox's own accounts, never the host's: one user, `user`.
	assert.Equal(t, "user user user sandbox\n", ok(t, in, "echo $(id -un) $(id -gn) $(whoami) $(cat /etc/hostname)"))
	assert.Equal(t, "user:x:1000:1000:user:/home/user:/bin/bash\n", ok(t, in, "getent passwd 1000"))
	assert.Equal(t, "nobody\nroot\nuser\n", ok(t, in, "getent passwd | cut -d: -f1 | sort"))
	assert.Equal(t, "nogroup\nroot\nuser\n", ok(t, in, "getent group | cut -d: -f1 | sort"))
	assert.Contains(t, ok(t, in, "getent hosts sandbox"), "127.0.1.1")
	res := run(t, in, "cat /etc/shadow")
	assert.NotEqual(t, 0, res.ExitCode)
	assert.Contains(t, res.Stderr, "Permission denied")

	// Every process of the sandbox runs as its own uid on the host.
	pids := in.cg.pids()
	require.NotEmpty(t, pids)
	for _, pid := range pids {
		assert.Equal(t, in.slot.uid, procUID(pid), "pid %d", pid)
	}
	assert.Contains(t, pids, in.xvfb.Process.Pid)
	assert.Contains(t, pids, in.bwrap.Process.Pid)

	// Files written inside belong to the sandbox uid outside; the home is private.
	ok(t, in, "echo hi > owned.txt; mkdir -p d/e")
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(in.home, "owned.txt"), &st))
	assert.Equal(t, uint32(in.slot.uid), st.Uid)
	require.NoError(t, syscall.Stat(in.home, &st))
	assert.Equal(t, uint32(in.slot.uid), st.Uid)
	assert.Equal(t, uint32(0o700), st.Mode&0o777)

	// Nothing of the host's state is visible.
	wd, _ := os.Getwd()
	for _, hidden := range []string{"/root", "/run/vmservice", p.opts.StateDir, p.opts.LockDir, wd, "/work", "/.vmservice/agent-state",
		xSocketPath(in.slot.display), "/sys/fs/cgroup"} {
		ok(t, in, fmt.Sprintf("test ! -e %q", hidden))
	}
	assert.Equal(t, "X0\n", ok(t, in, "ls /tmp/.X11-unix"))
	assert.NotContains(t, ok(t, in, "env"), reexecEnv)
	assert.NotContains(t, ok(t, in, "env"), cgroupsEnv)
	// Only the sandbox's processes (the agent is pid 1).
	ps := ok(t, in, "ps -eo pid,args --no-headers")
	assert.NotContains(t, ps, "Xvfb")
	assert.Contains(t, ps, "openbox")
	// The agent cannot be tampered with: its protocol pipes are out of
	// reach, and its command line names no host path.
	res = run(t, in, "cat /proc/1/cmdline; echo injected > /proc/1/fd/5")
	assert.NotEqual(t, 0, res.ExitCode)
	assert.Equal(t, "/proc/self/fd/"+strconv.Itoa(agentExeFD)+"\x00", res.Stdout)
	assert.Equal(t, "agent\n", ok(t, in, "cat /proc/1/comm"))
	// A machine id of its own: not the host's, not another sandbox's.
	id := ok(t, in, "cat /etc/machine-id")
	assert.Regexp(t, `^[0-9a-f]{32}\n$`, id)
	if host, err := os.ReadFile("/etc/machine-id"); err == nil {
		assert.NotEqual(t, string(host), id)
	}
	// Read-only system directories.
	res = run(t, in, "touch /usr/x /etc/x /x 2>&1")
	assert.NotEqual(t, 0, res.ExitCode)
	// A planted symlink to another sandbox's home on the host leads nowhere.
	other := newTestInstance(t, p, nil)
	require.NoError(t, other.WriteFile(ctx, "secret.txt", []byte("other's secret")))
	ok(t, in, fmt.Sprintf("ln -s %q link-to-other", filepath.Join(other.home, "secret.txt")))
	assert.NotEqual(t, id, ok(t, other, "cat /etc/machine-id"))
	_, err := in.ReadFile(ctx, "link-to-other", 0)
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	require.NoError(t, in.WriteFile(ctx, "../../etc/../home/user/x.txt", []byte("ok")))
	_, err = os.Stat(filepath.Join(in.home, "x.txt"))
	assert.NoError(t, err)
	err = in.WriteFile(ctx, "/etc/passwd", []byte("x"))
	assert.Equal(t, sandbox.CodePermissionDenied, sandbox.CodeOf(err))
	_, err = in.ReadFile(ctx, "/etc/shadow", 0)
	se := sandbox.AsError(err)
	assert.Equal(t, sandbox.CodePermissionDenied, se.Code)
	assert.NotContains(t, se.Message, p.opts.StateDir)

	d := in.Details()
	assert.Equal(t, map[string]any{"backend": "local", "display": ":0", "network": "none", "input": "x11-direct"}, d)
}

func TestCgroupLimits(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, func(c *sandbox.Config) { c.MemoryMB = 768; c.CPUCount = 3 })
	if in.cg.v2 {
		b, err := os.ReadFile(filepath.Join(in.cg.leaf(userLeaf)[0], "memory.max"))
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(768<<20), strings.TrimSpace(string(b)))
		return
	}
	read := func(ctrl, leaf, file string) string {
		b, err := os.ReadFile(filepath.Join(cgroupRoot, ctrl, p.opts.CgroupParent, p.cgroupName(in.slot), leaf, file))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	// The user's processes get memory_mb; the desktop a reserve on top.
	assert.Equal(t, strconv.Itoa(768<<20), read("memory", userLeaf, "memory.limit_in_bytes"))
	assert.Equal(t, strconv.Itoa((768+reserveMemoryMB)<<20), read("memory", "", "memory.limit_in_bytes"))
	if _, err := os.Stat(filepath.Join(in.cg.dirs[0], "memory.memsw.limit_in_bytes")); err == nil {
		assert.Equal(t, strconv.Itoa(768<<20), read("memory", userLeaf, "memory.memsw.limit_in_bytes"))
	}
	assert.Equal(t, "300000", read("cpu", "", "cpu.cfs_quota_us"))
	assert.Equal(t, "100000", read("cpu", "", "cpu.cfs_period_us"))
	assert.Equal(t, strconv.Itoa(p.opts.PidsMax), read("pids", "", "pids.max"))
	assert.Equal(t, strconv.Itoa(p.opts.PidsMax-reservePids), read("pids", userLeaf, "pids.max"))

	// The desktop's own processes are in sys, what the user runs (the
	// window manager and the session bus included: sandbox code can drive
	// them) in user, in every controller.
	ok(t, in, "sleep 100 & sleep 100 & true")
	for i := range in.cg.dirs {
		sys := strings.Fields(read(v1Controllers[i], sysLeaf, "cgroup.procs"))
		user := strings.Fields(read(v1Controllers[i], userLeaf, "cgroup.procs"))
		assert.Contains(t, sys, strconv.Itoa(in.xvfb.Process.Pid))
		assert.Contains(t, sys, strconv.Itoa(in.bwrap.Process.Pid))
		assert.Len(t, sys, 5, "Xvfb and its 2 bwrap, the sandbox's bwrap and agent")
		// (A background sleep is a forked bash until it execs.)
		var comms []string
		assert.Eventually(t, func() bool {
			comms = nil
			for _, pid := range strings.Fields(read(v1Controllers[i], userLeaf, "cgroup.procs")) {
				comm, _ := os.ReadFile("/proc/" + pid + "/comm")
				comms = append(comms, strings.TrimSpace(string(comm)))
			}
			sort.Strings(comms)
			return slices.Equal(comms, []string{"dbus-daemon", "openbox", "sleep", "sleep"})
		}, 30*time.Second, 20*time.Millisecond, "user leaf: %v", comms)
		assert.Len(t, user, 4)
		assert.Empty(t, strings.Fields(read(v1Controllers[i], "", "cgroup.procs")))
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	p := newTestProvider(t)
	ctx := context.Background()
	cfg := testConfig()
	cfg.AllowInternetAccess = true
	in, err := p.CreateLocal(ctx, cfg, nil)
	require.NoError(t, err)
	ok(t, in, "sleep 1000 & (setsid sleep 1000 &) ; true")
	_, err = in.Launch(ctx, "terminal", "")
	require.NoError(t, err)
	f := footprintOf(in)
	require.NotEmpty(t, f.pids)
	require.NoError(t, in.Destroy(ctx))
	f.assertGone(t)
	require.NoError(t, in.Destroy(ctx), "destroy is idempotent")
	assert.Error(t, in.Alive(ctx))
	_, err = in.Run(ctx, sandbox.CommandRequest{Command: "true"})
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))

	// Close destroys what is still there.
	a := newTestInstanceNoCleanup(t, p)
	b := newTestInstanceNoCleanup(t, p)
	fa, fb := footprintOf(a), footprintOf(b)
	require.NoError(t, p.Close())
	fa.assertGone(t)
	fb.assertGone(t)
	_, err = p.Create(ctx, testConfig(), nil)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}

func newTestInstanceNoCleanup(t *testing.T, p *Provider) *Instance {
	in, err := p.CreateLocal(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	return in
}

func TestFailedCreateLeavesNothing(t *testing.T) {
	// A cgroup parent, slot locks and uids of its own: the machine's other
	// servers (other tests) create and remove sandbox cgroups under the
	// default parent meanwhile.
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	parent := "vmservice-failtest-" + strconv.Itoa(os.Getpid())
	p, err := New(Options{StateDir: dir, LockDir: filepath.Join(dir, "locks"), UIDBase: 291000, DisplayBase: 2950,
		CgroupParent: parent, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, p.Close())
		for _, d := range p.cg.dirs("") {
			_ = syscall.Rmdir(d)
		}
		require.NoError(t, os.RemoveAll(dir))
	})
	before, _ := os.ReadDir(filepath.Join(p.opts.StateDir, "sb"))
	cgBefore := p.cg.existing()
	cfg := testConfig()
	// bubblewrap cannot create a working directory in the read-only /usr:
	// creation fails after the cgroup, Xvfb and the home exist.
	cfg.WorkingDirectory = "/usr/vmservice-no-such-dir"
	_, err = p.Create(context.Background(), cfg, nil)
	require.Error(t, err)
	se := sandbox.AsError(err)
	assert.Contains(t, []sandbox.Code{sandbox.CodeCreationFailed, sandbox.CodeBackendUnavailable}, se.Code)
	assert.NotContains(t, se.Message, p.opts.StateDir)
	after, _ := os.ReadDir(filepath.Join(p.opts.StateDir, "sb"))
	assert.Equal(t, len(before), len(after))
	assert.ElementsMatch(t, cgBefore, p.cg.existing())
	p.mu.Lock()
	assert.Empty(t, p.instances)
	p.mu.Unlock()
	// The slot is free again and works.
	in := newTestInstance(t, p, nil)
	assert.Equal(t, "ok\n", ok(t, in, "echo ok"))
}

func TestInternetAccessThroughSlirp(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, func(c *sandbox.Config) { c.AllowInternetAccess = true })
	assert.Equal(t, "slirp4netns", in.Details()["network"])
	for _, pid := range in.cg.pids() { // slirp4netns too
		if uid := procUID(pid); uid != -1 { // -1: gone since the listing (a start-up helper exiting)
			assert.Equal(t, in.slot.uid, uid, "pid %d", pid)
		}
	}
	// slirp4netns, which parses the sandbox's packets as the slot's uid in
	// the host's user namespace, sees no process of the sandbox (nor of
	// the host) it could ptrace or open: a pid namespace and /proc of its
	// own.
	slirp := in.slirp.Process.Pid
	self, _ := os.Readlink("/proc/self/ns/pid")
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(slirp) + "/ns/pid")
	require.NoError(t, err)
	assert.NotEqual(t, self, theirs)
	procs, err := filepath.Glob("/proc/" + strconv.Itoa(slirp) + "/root/proc/[0-9]*")
	require.NoError(t, err)
	assert.NotEmpty(t, procs)
	for _, p := range procs {
		n, _ := strconv.Atoi(filepath.Base(p))
		assert.Less(t, n, 10, "slirp4netns sees pid %d", n)
	}
	_, err = os.Stat("/proc/" + strconv.Itoa(slirp) + "/root/proc/" + strconv.Itoa(in.agentPID()))
	assert.True(t, os.IsNotExist(err), "slirp4netns sees the agent")

	routes := ok(t, in, "cat /proc/net/route")
	assert.Regexp(t, `(?m)^tap0\s+00000000\s+0202000A`, routes, "default route via 10.0.2.2")
	assert.Contains(t, ok(t, in, "cat /proc/net/dev"), "tap0")

	// A service on the host's loopback stays out of reach.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("host secret\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"10.0.2.2", "127.0.0.1", "10.0.2.3"} {
		res := run(t, in, fmt.Sprintf("timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%d; cat <&3'", host, port))
		assert.NotEqual(t, 0, res.ExitCode, host)
		assert.NotContains(t, res.Stdout, "host secret", host)
	}
}

// A desktop whose X server, window manager or agent stops comes back by
// itself: same instance, same home; what used the part is gone. Alive says
// so meanwhile; a part that keeps stopping is given up, and Alive says why.
func TestRecovery(t *testing.T) {
	p := newTestProvider(t)
	ctx := context.Background()
	a := newTestInstance(t, p, nil)
	neighbour := newTestInstance(t, p, nil)
	require.NoError(t, a.WriteFile(ctx, "/home/user/kept.txt", []byte("kept")))
	works := func(want int) {
		t.Helper()
		require.Eventually(t, func() bool { return a.Restarts() == want && a.Alive(ctx) == nil }, 60*time.Second, 50*time.Millisecond,
			"the sandbox came back (restarts: %d)", a.Restarts())
		assert.Equal(t, "kept", ok(t, a, "cat kept.txt"))
		assert.Contains(t, ok(t, a, "xdpyinfo | head -1"), "name of display")
		_, err := a.Desktop().Screenshot(ctx, image.Rectangle{})
		require.NoError(t, err)
		assert.Contains(t, ok(t, a, "ps -eo comm"), "openbox")
	}
	for i, kill := range []func(){
		func() { require.NoError(t, syscall.Kill(a.xvfbPID(), syscall.SIGKILL)) },
		func() { ok(t, a, "pkill -KILL -x openbox; true") },
		func() { require.NoError(t, syscall.Kill(a.agentPID(), syscall.SIGKILL)) },
		// The server's X connection ends (the guard cut a subverted X
		// server off, say) while the X server lives: redialled.
		func() { require.NoError(t, a.display().Close()) },
	} {
		kill()
		works(i + 1)
	}
	assert.NoError(t, neighbour.Alive(ctx))

	// A display killed again and again is given up within the window
	// (4 restarts so far).
	require.NoError(t, syscall.Kill(a.xvfbPID(), syscall.SIGKILL))
	require.Eventually(t, func() bool {
		err := a.Alive(ctx)
		return err != nil && strings.Contains(err.Error(), "no longer restarted")
	}, 60*time.Second, 50*time.Millisecond)
	err := a.Alive(ctx)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
	assert.Contains(t, err.Error(), "the X server was killed (SIGKILL)")
	assert.NoError(t, neighbour.Alive(ctx))
}

func TestStaleStateCleanedByNew(t *testing.T) {
	// A private slot range, so no other server on the machine takes the
	// slot this test abandons.
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	parent := "vmservice-test-" + strconv.Itoa(os.Getpid())
	opts := Options{StateDir: dir, LockDir: filepath.Join(dir, "locks"), UIDBase: 260000, DisplayBase: 2600,
		CgroupParent: parent, Log: zerolog.New(zerolog.NewTestWriter(t))}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		for _, c := range v1Controllers {
			_ = syscall.Rmdir(filepath.Join(cgroupRoot, c, parent))
		}
		_ = syscall.Rmdir(filepath.Join(cgroupRoot, parent))
	})
	p, err := New(opts)
	require.NoError(t, err)
	in, err := p.CreateLocal(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	ok(t, in, "sleep 1000 & true")
	f := footprintOf(in)
	// And a process of the slot's uid outside the cgroup.
	stray := exec.Command("sleep", "1000")
	stray.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(in.slot.uid), Gid: uint32(in.slot.uid)}}
	require.NoError(t, stray.Start())
	go func() { _ = stray.Wait() }()
	f.pids = append(f.pids, stray.Process.Pid)
	// Pretend the server was killed: the slot lock is gone, the rest stays.
	in.slot.release()
	p2, err := New(opts)
	require.NoError(t, err)
	f.assertGone(t)
	require.NoError(t, p2.Close())
	_ = in.Destroy(context.Background())
	require.NoError(t, p.Close())
}

func TestProcessAPI(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()

	var out strings.Builder
	proc, err := in.Start(ctx, ProcessSpec{Command: "tr a-z A-Z", Stdin: true, OnOutput: func(s string, b []byte) {
		if s == "stdout" {
			out.Write(b)
		}
	}})
	require.NoError(t, err)
	assert.Greater(t, proc.PID(), 1)
	require.NoError(t, proc.Write(ctx, []byte("hello ")))
	require.NoError(t, proc.Write(ctx, []byte("world\n")))
	require.NoError(t, proc.CloseStdin(ctx))
	st, err := proc.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code)
	assert.Equal(t, "HELLO WORLD\n", out.String())

	proc, err = in.Start(ctx, ProcessSpec{Command: "sleep 100"})
	require.NoError(t, err)
	require.NoError(t, proc.Signal(ctx, syscall.SIGTERM))
	st, err = proc.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, 15, st.Signal)
	assert.Equal(t, 143, st.Code)
	assert.Error(t, proc.Write(ctx, []byte("x")))

	// A relative program runs from the process's working directory.
	require.NoError(t, in.WriteFile(ctx, "bin/hello.sh", []byte("#!/bin/sh\necho hello from $(pwd)\n")))
	ok(t, in, "chmod +x bin/hello.sh")
	var hello strings.Builder
	proc, err = in.Start(ctx, ProcessSpec{Argv: []string{"./hello.sh"}, Cwd: "bin", OnOutput: func(_ string, b []byte) { hello.Write(b) }})
	require.NoError(t, err)
	_, err = proc.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hello from /home/user/bin\n", hello.String())
	_, err = in.Start(ctx, ProcessSpec{Argv: []string{"no-such-program"}})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))

	require.NoError(t, in.MakeDir(ctx, "a/b/c"))
	fi, err := in.Stat(ctx, "a/b")
	require.NoError(t, err)
	assert.Equal(t, "dir", fi.Type)
	assert.Equal(t, homeDir+"/a/b", fi.Path)
	ok(t, in, "ln -s /etc/shadow a/link")
	fi, err = in.Stat(ctx, "a/link")
	require.NoError(t, err)
	assert.Equal(t, "symlink", fi.Type)
	assert.Equal(t, "/etc/shadow", fi.Target)
	require.NoError(t, in.Remove(ctx, "a"))
	_, err = in.Stat(ctx, "a")
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	assert.Equal(t, sandbox.CodePermissionDenied, sandbox.CodeOf(in.Remove(ctx, "/usr/bin")))
	assert.Equal(t, sandbox.CodePermissionDenied, sandbox.CodeOf(in.Remove(ctx, "/home/user")))
}

func TestApplications(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	names, err := in.Applications(ctx)
	require.NoError(t, err)
	for _, n := range []string{"firefox", "google-chrome", "chromium", "terminal", "text-editor", "file-manager"} {
		assert.Contains(t, names, n)
	}
	if !installed("code") {
		_, err := in.Launch(ctx, "vscode", "")
		se := sandbox.AsError(err)
		require.NotNil(t, se)
		assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
		assert.Contains(t, se.Message, "not installed")
		assert.Equal(t, names, se.Details["available"])
	}
	_, err = in.Launch(ctx, "firefox", "--evil")
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	assert.Equal(t, "org.xfce.mousepad.desktop\nfirefox-esr.desktop\n",
		ok(t, in, "xdg-mime query default text/plain; xdg-mime query default text/html"))

	// An HTML file opens in the default browser.
	require.NoError(t, in.WriteFile(ctx, "page.html", []byte("<html><head><title>vmservice-page</title></head><body>hi</body></html>")))
	require.NoError(t, in.OpenFile(ctx, "page.html"))
	require.Eventually(t, func() bool {
		ids, err := in.Desktop().ApplicationWindows(ctx, "firefox")
		if err != nil {
			return false
		}
		for _, id := range ids {
			if title, _ := in.Desktop().WindowTitle(ctx, id); strings.Contains(title, "vmservice-page") {
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "firefox shows page.html")

	// Both browsers start and draw a window in the sandbox (no network).
	for _, app := range []struct{ name, class string }{{"chromium", "chromium"}, {"firefox", "firefox"}} {
		lr, err := in.Launch(ctx, app.name, "about:blank")
		require.NoError(t, err, app.name)
		assert.Greater(t, lr.PID, 1)
		require.Eventually(t, func() bool {
			ids, err := in.Desktop().ApplicationWindows(ctx, app.class)
			return err == nil && len(ids) > 0
		}, 60*time.Second, 200*time.Millisecond, "%s window", app.name)
	}
}

func TestWarmPoolAdopt(t *testing.T) {
	p := newTestProvider(t)
	base := testConfig()
	base.MemoryMB, base.CPUCount = sandbox.MaxMemoryMB, sandbox.MaxCPU
	pool := sandbox.NewPool(p, sandbox.PoolOptions{Size: 1, Template: base.Template, Resolution: base.Resolution, Base: base,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	t.Cleanup(func() { _ = pool.Close() })
	require.Eventually(t, func() bool { return pool.Stats().Warm == 1 }, 30*time.Second, 20*time.Millisecond)

	cfg := testConfig()
	cfg.MemoryMB, cfg.CPUCount, cfg.AllowInternetAccess = 640, 1, true
	cfg.WorkingDirectory = "/home/user/project"
	cfg.Environment = map[string]string{"OWNER_VAR": "mine"}
	inst, err := pool.Create(context.Background(), cfg, map[string]string{"k": "v"})
	require.NoError(t, err)
	assert.Equal(t, 1, pool.Stats().Hits)
	in := inst.(*Instance)
	t.Cleanup(func() { _ = in.Destroy(context.Background()) })
	if !in.cg.v2 {
		b, err := os.ReadFile(filepath.Join(in.cg.leaf(userLeaf)[0], "memory.limit_in_bytes"))
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(640<<20), strings.TrimSpace(string(b)))
		b, err = os.ReadFile(filepath.Join(in.cg.dirs[1], "cpu.cfs_quota_us"))
		require.NoError(t, err)
		assert.Equal(t, "100000", strings.TrimSpace(string(b)))
	}
	assert.Equal(t, "mine /home/user/project\n", ok(t, in, "echo $OWNER_VAR $(pwd)"))
	// The disk quota follows the owner's memory (half of 640 MiB), not the
	// pool's: home and /tmp in MiB.
	assert.Equal(t, "320 320\n", ok(t, in, `echo $(( $(stat -f -c '%b*%S' /home/user) >> 20 )) $(( $(stat -f -c '%b*%S' /tmp) >> 20 ))`))
	assert.Contains(t, ok(t, in, "cat /proc/net/dev"), "tap0")
	assert.Equal(t, "slirp4netns", in.Details()["network"])
}

func TestNewChecksStateDir(t *testing.T) {
	dir := t.TempDir() // 0700: sandbox uids could not reach their homes
	require.NoError(t, os.Chmod(dir, 0o700))
	_, err := New(Options{StateDir: filepath.Join(dir, "state")})
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
	assert.Contains(t, sandbox.AsError(err).Message, "StateDir")
}

func TestConcurrentCreates(t *testing.T) {
	p := newTestProvider(t)
	const n = 6
	ins := make([]*Instance, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := 0; i < n; i++ {
		go func() {
			ins[i], errs[i] = p.CreateLocal(context.Background(), testConfig(), nil)
			done <- i
		}()
	}
	for i := 0; i < n; i++ {
		<-done
	}
	uids, displays := map[int]bool{}, map[int]bool{}
	for i, in := range ins {
		require.NoError(t, errs[i])
		t.Cleanup(func() { _ = in.Destroy(context.Background()) })
		uids[in.slot.uid], displays[in.slot.display] = true, true
		assert.Equal(t, strconv.Itoa(i)+"\n", ok(t, in, "echo "+strconv.Itoa(i)))
	}
	assert.Len(t, uids, n)
	assert.Len(t, displays, n)
}

// crashEnv makes the test binary a server that creates one sandbox, says
// so and waits to be killed (TestServerKilled).
const crashEnv = "VMSERVICE_LOCAL_TEST_CRASH_DIR"

func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestServerKilled")
	}
	p, err := New(crashOptions(dir))
	require.NoError(t, err)
	in, err := p.CreateLocal(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	ok(t, in, "sleep 1000 & (setsid sleep 1000 &); true")
	fmt.Println("READY", in.slot.n)
	time.Sleep(time.Minute)
}

func crashOptions(dir string) Options {
	return Options{StateDir: dir, LockDir: filepath.Join(dir, "locks"), UIDBase: 290000, DisplayBase: 2900,
		CgroupParent: "vmservice-crashtest"}
}

// TestServerKilled kills a server with SIGKILL while it has a sandbox: the
// sandbox's processes die with it, and the next New cleans up the rest.
// startCrashHelper runs TestCrashHelper (a server with one sandbox) in a
// process of its own, with a state directory of its own, and returns them
// and the sandbox's slot once it is up.
func startCrashHelper(t *testing.T) (dir string, cmd *exec.Cmd, slotN int) {
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	require.NoError(t, err)
	cmd = exec.Command(self, "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	slotN = -1
	for sc.Scan() {
		if n, found := strings.CutPrefix(sc.Text(), "READY "); found {
			slotN, _ = strconv.Atoi(n)
			break
		}
	}
	require.GreaterOrEqual(t, slotN, 0, "helper never got ready")
	return dir, cmd, slotN
}

func TestServerKilled(t *testing.T) {
	t.Cleanup(func() {
		for _, c := range v1Controllers {
			_ = syscall.Rmdir(filepath.Join(cgroupRoot, c, "vmservice-crashtest"))
		}
		_ = syscall.Rmdir(filepath.Join(cgroupRoot, "vmservice-crashtest"))
	})
	dir, cmd, slotN := startCrashHelper(t)
	opts := crashOptions(dir)
	opts.defaults()
	cg := &cgroups{parent: opts.CgroupParent, root: cgroupRoot}
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(cgroupRoot, &st))
	cg.v2 = st.Type == 0x63677270
	g := &sandboxCgroup{v2: cg.v2, dirs: cg.dirs("s" + strconv.Itoa(slotN))}
	pids := g.pids()
	require.GreaterOrEqual(t, len(pids), 6)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	// Every sandbox process dies with the server (parent-death signals,
	// and the pid namespaces' init going away).
	require.Eventually(t, func() bool { return len(g.pids()) == 0 }, 60*time.Second, 20*time.Millisecond,
		"left running: %v", g.pids())
	p, err := New(opts)
	require.NoError(t, err)
	defer p.Close()
	footprint{paths: append(append([]string{}, g.dirs...), filepath.Join(dir, "sb", "s"+strconv.Itoa(slotN)),
		xLockPath(opts.DisplayBase+slotN), xSocketPath(opts.DisplayBase+slotN))}.assertGone(t)
}

func TestCPULimitThrottles(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, func(c *sandbox.Config) { c.CPUCount = 1 })
	// Four busy loops for 2 s against a one-CPU quota use at most ~2 s of
	// CPU (without the quota: up to 4 s on this 2-core machine). bash's
	// times prints the children's user and system time.
	out := ok(t, in, `for i in 1 2 3 4; do timeout 2 sh -c 'while :; do :; done' & done; wait; times > /tmp/times; tail -1 /tmp/times`)
	var um, us, sm, ss float64
	_, err := fmt.Sscanf(strings.TrimSpace(out), "%fm%fs %fm%fs", &um, &us, &sm, &ss)
	require.NoError(t, err, out)
	used := um*60 + us + sm*60 + ss
	t.Logf("4 busy loops for 2 s used %.2f s of CPU", used)
	assert.Less(t, used, 2.3)
}

// TestDisplayFailureLeavesNothing: the X server fails while the sandbox's
// bubblewrap is still starting (maybe before its launcher joined the
// cgroup); nothing may survive.
func TestDisplayFailureLeavesNothing(t *testing.T) {
	p := newTestProvider(t)
	testXvfbArgs = []string{"-no-such-option"}
	t.Cleanup(func() { testXvfbArgs = nil })
	for i := 0; i < 10; i++ {
		_, err := p.Create(context.Background(), testConfig(), nil)
		require.Error(t, err)
		assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
	}
	// Every process of the sandbox uids is gone (none of this test's slots
	// is in use any more); one still exiting on a busy machine gets time.
	leaked := func() []string {
		var out []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
			if strings.Contains(string(b), "/"+p.opts.CgroupParent+"/") && procUID(pid) >= p.opts.UIDBase && procUID(pid) < p.opts.UIDBase+p.opts.MaxSlots {
				st, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
				if strings.Contains(string(st), ") Z ") {
					continue
				}
				// Only processes of slots no one holds are leaks.
				n := procUID(pid) - p.opts.UIDBase
				if f := p.tryLock(n); f != nil {
					f.Close()
					cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
					out = append(out, fmt.Sprintf("process %d (slot %d): %q", pid, n, cmdline))
				}
			}
		}
		return out
	}
	testwait.Until(t, 60*time.Second, "nothing left", func() error {
		if l := leaked(); len(l) > 0 {
			return fmt.Errorf("leaked: %v", l)
		}
		return nil
	})
}

// The X server sees /usr and its own /tmp, no host /etc or /opt: X clients
// can point it at files (font paths), so nothing there should be the
// host's beyond the software (before: the host's /etc and /opt).
func TestXServerSeesOnlyUsr(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	root := "/proc/" + strconv.Itoa(in.xvfbPID()) + "/root"
	_, err := os.Stat(root + "/usr/bin")
	require.NoError(t, err, "the X server's root is readable here")
	for _, d := range []string{"/etc", "/opt", "/home", "/root", "/run", p.opts.StateDir} {
		_, err := os.Stat(root + d)
		assert.True(t, os.IsNotExist(err), "the X server sees %s", d)
	}
}

// TestDisplayTakenMeanwhile: a display another server claims between the
// check and the claim (servers of other users, without root, do not share
// our slot locks) sends the sandbox to the next slot instead of failing it
// ("display :100 is taken" failed a rootless run beside the root tests). A
// directory where the lock goes looks free to the check and fails the claim.
func TestDisplayTakenMeanwhile(t *testing.T) {
	p := newTestProvider(t)
	s, err := p.acquireSlot()
	require.NoError(t, err)
	taken := s.display
	releaseDisplay(taken)
	s.release()
	require.NoError(t, os.Mkdir(xLockPath(taken), 0o700))
	t.Cleanup(func() { _ = os.Remove(xLockPath(taken)) })
	require.False(t, displayBusy(taken), "the check must see the display free")

	in := newTestInstance(t, p, nil)
	assert.NotEqual(t, taken, in.slot.display)
	assert.Equal(t, "ok\n", ok(t, in, "echo ok"))
	st, err := os.Lstat(xLockPath(taken))
	require.NoError(t, err)
	assert.True(t, st.IsDir(), "the other server's claim is left alone")
}
