package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/sandbox"
)

// TestRootlessSuite runs the behavioural suite and the TestUnprivileged
// tests again as unprivileged accounts (scripts/test-account.sh makes them):
// one with a subordinate id range, with no cgroup at all and inside a cgroup
// v2 group delegated to it the way systemd delegates user@UID.service, and
// one without a range. Run by a normal user, TestBehaviouralSuite is already
// such a run.
func TestRootlessSuite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: TestBehaviouralSuite ran without root already")
	}
	// This test binary, where the accounts may run it.
	dir, err := os.MkdirTemp("", "vmservice-rootless-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "local.test")
	copyFile(t, bin)

	for _, v := range []struct {
		name            string
		subIDs, cgroups bool
	}{{"subordinate-uids", true, false}, {"subordinate-uids-delegated-cgroup-v2", true, true}, {"own-uid", false, false}} {
		t.Run(v.name, func(t *testing.T) {
			args := []string{"../../scripts/test-account.sh"}
			if !v.subIDs {
				args = append(args, "--no-subids")
			}
			out, err := exec.Command("bash", args...).Output()
			require.NoError(t, err, "making the test account")
			acct, err := user.Lookup(strings.TrimSpace(string(out)))
			require.NoError(t, err)
			uid, _ := strconv.Atoi(acct.Uid)
			gid, _ := strconv.Atoi(acct.Gid)

			cmd := exec.Command(bin, "-test.run", "^(TestBehaviouralSuite|TestUnprivileged.*)$", "-test.count=1", "-test.v", "-test.timeout=20m")
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL,
				Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
			if v.cgroups {
				cg := delegateCgroup(t, uid, gid)
				cmd.SysProcAttr.UseCgroupFD = true
				cmd.SysProcAttr.CgroupFD = int(cg.Fd())
			}
			out, err = cmd.CombinedOutput()
			log := string(out)
			require.NoError(t, err, "the behavioural suite failed without root:\n%s", lastLines(withoutStartLogs(log), 150))
			// The server said what it runs sandboxes as and which
			// protections it lacks.
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "the local backend runs without root") {
					t.Log(strings.TrimSpace(l)) // what it said, for the record
					break
				}
			}
			assert.Contains(t, log, "the local backend runs without root")
			if v.subIDs {
				sub, err := subIDs("/etc/subuid", acct.Username, uid)
				require.NoError(t, err)
				assert.Contains(t, log, fmt.Sprintf("-%d (subordinate)", sub.start+sub.count-1))
			} else {
				assert.Contains(t, log, `"sandbox_uids":"the server's own"`)
				assert.Contains(t, log, "no uid of its own per sandbox")
			}
			if v.cgroups {
				assert.NotContains(t, log, "no cgroup:", "the delegated cgroup was not used")
			} else {
				assert.Contains(t, log, "no cgroup:")
			}
		})
	}
}

func copyFile(t *testing.T, dst string) {
	self, err := os.Executable()
	require.NoError(t, err)
	src, err := os.Open(self)
	require.NoError(t, err)
	defer src.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(f, src)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// delegateCgroup makes a cgroup v2 group owned by uid, with whatever
// memory, cpu and pids controllers the host's v2 hierarchy has (none on a
// cgroup v1 host), as systemd does for a user's service manager.
func delegateCgroup(t *testing.T, uid, gid int) *os.File {
	mnt, err := cgroup2Mount()
	require.NoError(t, err)
	for _, c := range []string{"memory", "cpu", "pids"} {
		_ = os.WriteFile(filepath.Join(mnt, "cgroup.subtree_control"), []byte("+"+c), 0)
	}
	dir := filepath.Join(mnt, fmt.Sprintf("vmservice-rootless-test-%d", os.Getpid()))
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() { removeCgroupTree(t, dir) })
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		require.NoError(t, os.Chown(filepath.Join(dir, f), uid, gid))
	}
	f, err := os.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// removeCgroupTree kills what is left in the cgroup tree at dir and removes
// it, children first.
func removeCgroupTree(t *testing.T, dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if de.IsDir() {
			removeCgroupTree(t, filepath.Join(dir, de.Name()))
		}
	}
	g := &sandboxCgroup{v2: true, dirs: []string{dir}}
	assert.Empty(t, g.pids(), "processes left in %s", dir)
	assert.NoError(t, g.destroy())
}

// withoutStartLogs drops the start-up statement every provider of the
// run logs (it is checked on its own), so a failure's lines show.
func withoutStartLogs(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "the local backend runs without root") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func TestSubIDs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "subuid")
	require.NoError(t, os.WriteFile(f, []byte("alice:100000:65536\nbroken:x:1\n1234:200000:10\nbob:300000:0\nbob:400000:5\n"), 0o644))
	r, err := subIDs(f, "alice", 1000)
	require.NoError(t, err)
	assert.Equal(t, idRange{100000, 65536}, r)
	r, err = subIDs(f, "carol", 1234) // by number
	require.NoError(t, err)
	assert.Equal(t, idRange{200000, 10}, r)
	r, err = subIDs(f, "bob", 1001) // an empty range is skipped
	require.NoError(t, err)
	assert.Equal(t, idRange{400000, 5}, r)
	_, err = subIDs(f, "dave", 1002)
	assert.Error(t, err)
	rl := &rootless{uid: 1000, gid: 1000, sub: idRange{100000, 65536}, subGID: idRange{500000, 1000}}
	uid, gid := rl.slotIDs(0)
	assert.Equal(t, []int{165535, 500999}, []int{uid, gid}, "slots count down from the top of the ranges")
	uid, gid = (&rootless{uid: 1000, gid: 1001}).slotIDs(7)
	assert.Equal(t, []int{1000, 1001}, []int{uid, gid}, "without a range, the server's own ids")
}

// TestGrant: an ACL entry lets exactly the named uid into a 0700 directory
// and read a 0600 file, and what that uid makes inside stays removable by
// the owner. Run as root here (to act as two users); the server uses it as
// the files' owner.
func TestGrant(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs two users: runs as root")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	d := filepath.Join(dir, "d")
	require.NoError(t, os.Mkdir(d, 0o700))
	f := filepath.Join(dir, "cookie")
	require.NoError(t, os.WriteFile(f, []byte("secret"), 0o600))
	as := func(uid int, script string) error {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	const granted, other = 290777, 290778
	mk := "cat " + f + " && mkdir " + d + "/sub && echo x > " + d + "/sub/file"
	require.Error(t, as(granted, mk), "no ACL yet")
	require.NoError(t, grant(d, granted, 7, true))
	require.NoError(t, grant(f, granted, 4, false))
	require.NoError(t, as(granted, mk))
	assert.Error(t, as(other, "cat "+f), "another uid reads the cookie")
	assert.Error(t, as(other, "ls "+d), "another uid lists the directory")
	// What the granted uid made inherits the default ACL: the server (here
	// root) keeps rwx on it, so it can always remove it.
	b := make([]byte, 256)
	n, err := unix.Getxattr(filepath.Join(d, "sub"), "system.posix_acl_access", b)
	require.NoError(t, err)
	users := map[uint32]uint16{}
	for e := b[4:n]; len(e) >= 8; e = e[8:] {
		if binary.LittleEndian.Uint16(e) == aclUser {
			users[binary.LittleEndian.Uint32(e[4:])] = binary.LittleEndian.Uint16(e[2:])
		}
	}
	assert.Equal(t, map[uint32]uint16{0: 7, granted: 7}, users)
}

// unprivileged skips a test written for a server without root when run as
// root: TestRootlessSuite runs it as its unprivileged account.
func unprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs without root, inside TestRootlessSuite")
	}
}

// descendants are the processes below pid (not pid itself).
func descendants(pid int) []int {
	parent := map[int]int{}
	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		p, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + de.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[0] != "Z" {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// TestUnprivilegedSandbox: a sandbox of a server without root. Every
// process of it runs as the slot's subordinate uid (or, without a range,
// the server's), its home and /tmp have their quota, get_sandbox_info says
// what is missing, internet access works or is refused plainly, and
// Destroy leaves nothing.
func TestUnprivilegedSandbox(t *testing.T) {
	unprivileged(t)
	p := newTestProvider(t)
	require.NotNil(t, p.rootless)
	in := newTestInstance(t, p, func(c *sandbox.Config) { c.MemoryMB = 1024 })

	uid := os.Geteuid()
	if p.rootless.separateUIDs() {
		uid, _ = p.rootless.slotIDs(in.slot.n)
		assert.NotEqual(t, os.Geteuid(), uid)
		assert.Equal(t, "subordinate", in.Details()["sandbox_uid"])
	} else {
		assert.Equal(t, "server", in.Details()["sandbox_uid"])
	}
	var procs []int
	for _, c := range []*exec.Cmd{in.xvfb, in.bwrap} {
		procs = append(append(procs, c.Process.Pid), descendants(c.Process.Pid)...)
	}
	assert.GreaterOrEqual(t, len(procs), 5, "bubblewrap, Xvfb, the agent, the window manager")
	for _, pid := range procs {
		assert.Equal(t, uid, procUID(pid), "process %d", pid)
	}
	assert.Equal(t, "1000\n", ok(t, in, "id -u"))
	assert.Contains(t, run(t, in, "cat /etc/shadow").Stderr, "Permission denied")
	// The quotas: bubblewrap's tmpfs mounts, half the memory each.
	assert.Equal(t, "512 512\n", ok(t, in, `echo $(( $(stat -f -c '%b*%S' /home/user) >> 20 )) $(( $(stat -f -c '%b*%S' /tmp) >> 20 ))`))
	assert.Contains(t, run(t, in, "head -c 600M /dev/zero > /home/user/fill").Stderr, "No space left")
	// Said plainly, and consistent with what the server found.
	missing, _ := in.Details()["missing_protections"].([]string)
	assert.Equal(t, !in.cg.has("memory"), strings.Contains(strings.Join(missing, "\n"), "no memory limit"), missing)
	assert.Equal(t, !in.cg.has("cpu"), strings.Contains(strings.Join(missing, "\n"), "no CPU limit"), missing)
	assert.Equal(t, !p.rootless.separateUIDs(), strings.Contains(strings.Join(missing, "\n"), "no uid of its own"), missing)

	// Internet access: slirp4netns as the sandbox's uid needs the host's
	// tun device; where it is root's only, a clear refusal.
	cfg := testConfig()
	cfg.AllowInternetAccess = true
	net, err := p.CreateLocal(context.Background(), cfg, nil)
	if p.rootless.tun {
		require.NoError(t, err)
		assert.Contains(t, ok(t, net, "cat /proc/net/dev"), "tap0")
		require.NoError(t, net.Destroy(context.Background()))
	} else {
		require.Error(t, err)
		assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
		assert.Contains(t, err.Error(), "/dev/net/tun")
	}

	require.NoError(t, in.Destroy(context.Background()))
	footprint{pids: procs, paths: []string{in.dir}}.assertGone(t)
	displayReleased(t, in.slot.display, in.dir, os.Getpid())
}

// displayReleased checks that display n is held neither for the slot
// directory dir nor by the server pid any more (the machine's other servers
// may take it at once).
func displayReleased(t *testing.T, n int, dir string, pid int) {
	t.Helper()
	if l, err := os.Readlink(xSocketPath(n)); err == nil {
		assert.NotEqual(t, filepath.Join(dir, ourSocketLink), l, "display :%d still ours", n)
	}
	if b, err := os.ReadFile(xLockPath(n)); err == nil {
		assert.NotEqual(t, strconv.Itoa(pid), strings.TrimSpace(string(b)), "display :%d still locked by us", n)
	}
}

// TestUnprivilegedServerKilled: a server without root killed outright takes
// its sandboxes' processes with it (no cgroup needed: parent-death signals
// and pid namespaces), and the next start clears what it left on disk.
func TestUnprivilegedServerKilled(t *testing.T) {
	unprivileged(t)
	dir, cmd, slotN := startCrashHelper(t)
	procs := descendants(cmd.Process.Pid)
	require.GreaterOrEqual(t, len(procs), 7, "the sandbox's processes, with the two sleeps")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	footprint{pids: procs}.assertGone(t)
	opts := crashOptions(dir)
	opts.defaults()
	p, err := New(opts)
	require.NoError(t, err)
	defer p.Close()
	footprint{paths: []string{filepath.Join(dir, "sb", "s"+strconv.Itoa(slotN))}}.assertGone(t)
	displayReleased(t, opts.DisplayBase+slotN, filepath.Join(dir, "sb", "s"+strconv.Itoa(slotN)), cmd.Process.Pid)
}

// TestUnprivilegedWarmPoolAdopt: a pooled sandbox of a server without root
// gets its owner's disk quota (both tmpfs mounts remounted in its own mount
// namespace), working directory and environment at hand-out.
func TestUnprivilegedWarmPoolAdopt(t *testing.T) {
	unprivileged(t)
	p := newTestProvider(t)
	base := testConfig()
	base.MemoryMB, base.CPUCount = sandbox.MaxMemoryMB, sandbox.MaxCPU
	pool := sandbox.NewPool(p, sandbox.PoolOptions{Size: 1, Template: base.Template, Resolution: base.Resolution, Base: base,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	t.Cleanup(func() { _ = pool.Close() })
	require.Eventually(t, func() bool { return pool.Stats().Warm == 1 }, 2*time.Minute, 20*time.Millisecond)

	cfg := testConfig()
	cfg.MemoryMB, cfg.CPUCount = 640, 1
	cfg.WorkingDirectory = "/home/user/project"
	cfg.Environment = map[string]string{"OWNER_VAR": "mine"}
	inst, err := pool.Create(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, pool.Stats().Hits, "the warm sandbox was handed out, not discarded")
	in := inst.(*Instance)
	t.Cleanup(func() { _ = in.Destroy(context.Background()) })
	assert.Equal(t, "mine /home/user/project\n", ok(t, in, "echo $OWNER_VAR $(pwd)"))
	assert.Equal(t, "320 320\n", ok(t, in, `echo $(( $(stat -f -c '%b*%S' /home/user) >> 20 )) $(( $(stat -f -c '%b*%S' /tmp) >> 20 ))`))
}

// TestUnprivilegedStream: a stream of a server without root. Its x11vnc runs
// as the slot's uid, serves the sandbox's screen (a viewer sees the root
// colour set inside) and is gone with the sandbox.
func TestUnprivilegedStream(t *testing.T) {
	unprivileged(t)
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	ok(t, in, "xsetroot -solid '#3366cc'")
	ep, err := in.StartVNC(ctx, sandbox.StreamOptions{Password: "k3y-0123", Quality: "high", FrameRate: 10})
	require.NoError(t, err)
	pid := x11vncOf(in)
	require.NotZero(t, pid)
	uid := os.Geteuid()
	if p.rootless.separateUIDs() {
		uid = in.slot.uid
	}
	assert.Equal(t, uid, procUID(pid), "x11vnc's uid")
	c, err := ep.Dial(ctx)
	require.NoError(t, err)
	defer c.Close()
	cl, _, err := vnctest.Handshake(c, "k3y-0123")
	require.NoError(t, err)
	px, err := cl.WaitPixel(10, 10, 0x3366cc, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x3366cc), px)

	require.NoError(t, in.Destroy(ctx))
	footprint{pids: []int{pid}}.assertGone(t)
}

// TestUnprivilegedDial: a server without root reaches a TCP service inside
// a sandbox's network namespace (the E2B emulator's way to its envd).
func TestUnprivilegedDial(t *testing.T) {
	unprivileged(t)
	dialInside(t, newTestInstance(t, newTestProvider(t), nil))
}
