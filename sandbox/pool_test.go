package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

// The warm pool over the real local backend, driven through a Manager as
// the server does.

const poolCgroupParent = "vmservice-pooltest"

type poolEnv struct {
	state string
	pool  *sandbox.Pool
	m     *sandbox.Manager
}

func newPoolEnv(t testing.TB, size int, st sandbox.Settings) *poolEnv {
	t.Helper()
	state, err := os.MkdirTemp("", "vmservice-pool-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(state, 0o711))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	lp, err := local.New(local.Options{StateDir: state, CgroupParent: poolCgroupParent, Log: log})
	require.NoError(t, err)
	base := sandbox.Config{}.WithDefaults(sandbox.DefaultSettings())
	base.CPUCount, base.MemoryMB = sandbox.MaxCPU, sandbox.MaxMemoryMB
	pool := sandbox.NewPool(lp, sandbox.PoolOptions{Size: size, Base: base, Log: log})
	m, err := sandbox.NewManager(pool, st, log)
	require.NoError(t, err)
	e := &poolEnv{state: state, pool: pool, m: m}
	t.Cleanup(func() {
		require.NoError(t, m.Close())
		e.assertNothingLeft(t)
		require.NoError(t, os.RemoveAll(state))
	})
	return e
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitWarm waits until the pool holds n ready desktops.
func (e *poolEnv) waitWarm(t testing.TB, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return e.pool.Stats().Warm == n }, 90*time.Second, 20*time.Millisecond,
		"pool never reached %d warm: %+v", n, e.pool.Stats())
}

func (e *poolEnv) create(t testing.TB, owner string, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	sb, err := e.m.Create(ctxT(t), sandbox.CreateRequest{Owner: owner, Config: cfg})
	require.NoError(t, err)
	return sb
}

func sh(t *testing.T, sb *sandbox.Sandbox, cmd string) string {
	t.Helper()
	res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: cmd, Timeout: time.Minute})
	require.NoError(t, err, cmd)
	require.Equal(t, 0, res.ExitCode, "%q: %s %s", cmd, res.Stdout, res.Stderr)
	return res.Stdout
}

// hostPID finds the host pid of the process whose command line contains
// marker.
func hostPID(t *testing.T, marker string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		ents, _ := os.ReadDir("/proc")
		for _, de := range ents {
			n, err := strconv.Atoi(de.Name())
			if err != nil {
				continue
			}
			b, _ := os.ReadFile(filepath.Join("/proc", de.Name(), "cmdline"))
			if strings.HasPrefix(string(b), marker+"\x00") { // exec -a: argv[0]
				pid = n
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no process %s", marker)
	return pid
}

// cgroupLimit reads a limit file of the controller's cgroup of pid, walking
// up to the first ancestor (within ours) where it is set; it returns "" when
// none is.
func cgroupLimit(t *testing.T, pid int, controller, file, unset string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		dir := ""
		switch {
		case f[1] == "" && f[0] == "0": // v2
			dir = "/sys/fs/cgroup" + f[2]
		case strings.Contains(","+f[1]+",", ","+controller+","):
			dir = "/sys/fs/cgroup/" + f[1] + f[2]
		default:
			continue
		}
		for strings.Contains(dir, poolCgroupParent+"/") {
			if v, err := os.ReadFile(filepath.Join(dir, file)); err == nil && strings.TrimSpace(string(v)) != unset {
				return strings.TrimSpace(string(v))
			}
			dir = filepath.Dir(dir)
		}
	}
	return ""
}

// assertNothingLeft: no sandbox cgroup, state directory or process of ours.
func (e *poolEnv) assertNothingLeft(t testing.TB) {
	t.Helper()
	for _, root := range []string{"/sys/fs/cgroup/memory/" + poolCgroupParent, "/sys/fs/cgroup/" + poolCgroupParent} {
		ents, _ := os.ReadDir(root)
		for _, de := range ents {
			assert.False(t, de.IsDir(), "cgroup %s/%s left", root, de.Name())
		}
	}
	sb, _ := os.ReadDir(filepath.Join(e.state, "sb"))
	assert.Empty(t, sb, "sandbox directories left")
	ents, _ := os.ReadDir("/proc")
	for _, de := range ents {
		if _, err := strconv.Atoi(de.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", de.Name(), "cmdline"))
		if strings.Contains(string(b), e.state) {
			assert.Fail(t, "process left", "%s: %s", de.Name(), strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	st := e.pool.Stats()
	assert.Zero(t, st.Warm)
	assert.Zero(t, st.Booting)
}

// TestPoolHandOut: a pooled create gets the owner's environment, working
// directory, limits and network, and the pool refills behind it.
func TestPoolHandOut(t *testing.T) {
	e := newPoolEnv(t, 1, sandbox.Settings{})
	e.waitWarm(t, 1)

	cfg := sandbox.Config{MemoryMB: 640, CPUCount: 1, AllowInternetAccess: true,
		WorkingDirectory: "/home/user/project", Environment: map[string]string{"OWNER_VAR": "alice's"}}
	sb := e.create(t, "alice", cfg)
	st := e.pool.Stats()
	assert.Equal(t, 1, st.Hits, "not served warm: %+v", st)
	assert.Equal(t, "alice", sb.Owner())
	assert.Equal(t, "alice", sb.Info().UserID)
	assert.Equal(t, 640, sb.Info().MemoryMB)
	assert.Equal(t, 1, sb.Info().CPUCount)
	assert.True(t, sb.Info().AllowInternetAccess)

	assert.Equal(t, "alice's /home/user/project\n", sh(t, sb, "echo $OWNER_VAR $(pwd)"))
	assert.Contains(t, sh(t, sb, "cat /proc/net/dev"), "tap0", "internet access not applied")
	assert.Equal(t, "slirp4netns", sb.Info().Details["network"])

	_, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: "exec -a pooltest-limits-marker sleep 300", Background: true})
	require.NoError(t, err)
	pid := hostPID(t, "pooltest-limits-marker")
	// The agent moves user processes into the user leaf, which has the
	// owner's memory limit (its parent adds the desktop's reserve).
	limit := func(controller, file, unset string) func() string {
		return func() string { return cgroupLimit(t, pid, controller, file, unset) }
	}
	want := func(what string, f func() string, v string) {
		assert.Eventually(t, func() bool { return f() == v }, 60*time.Second, 10*time.Millisecond, "%s is %s, want %s", what, f(), v)
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err == nil {
		want("memory limit", limit("memory", "memory.limit_in_bytes", "9223372036854771712"), strconv.Itoa(640<<20))
		want("cpu quota", limit("cpu", "cpu.cfs_quota_us", "-1"), "100000")
	} else { // cgroup v2
		want("memory limit", limit("memory", "memory.max", "max"), strconv.Itoa(640<<20))
		want("cpu quota", limit("cpu", "cpu.max", "max 100000"), "100000 100000")
	}

	// The pool refills in the background.
	e.waitWarm(t, 1)

	// A request that does not fit (another resolution) boots cold.
	other := e.create(t, "bob", sandbox.Config{Resolution: sandbox.Resolution{Width: 800, Height: 600}})
	assert.Equal(t, 1, e.pool.Stats().Misses)
	size, err := other.Instance().Desktop().ScreenSize(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, sandbox.Resolution{Width: 800, Height: 600}, size)

	gs := e.m.Stats("")
	require.NotNil(t, gs.WarmPool)
	assert.Equal(t, 1, gs.WarmPool.Size)
	assert.Equal(t, 2, gs.TotalActiveSandboxes, "warm desktops are not sandboxes")
}

// TestPoolNoStateCarriesOver: files, processes and windows of an earlier
// owner never reach a later one; a handed-out desktop is never handed out
// again.
func TestPoolNoStateCarriesOver(t *testing.T) {
	e := newPoolEnv(t, 1, sandbox.Settings{})
	e.waitWarm(t, 1)
	a := e.create(t, "alice", sandbox.Config{})
	aInst := a.Instance()
	ctx := ctxT(t)
	require.NoError(t, aInst.WriteFile(ctx, "/home/user/alice-secret.txt", []byte("alice only")))
	sh(t, a, "echo alice > /tmp/alice-tmp.txt; mkdir -p ~/.config/alice")
	_, err := aInst.Run(ctx, sandbox.CommandRequest{Command: "exec -a pooltest-alice-marker sleep 300", Background: true})
	require.NoError(t, err)
	_, err = aInst.Launch(ctx, "terminal", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ids, err := aInst.Desktop().ApplicationWindows(ctx, "xterm")
		return err == nil && len(ids) > 0
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, e.m.Destroy(ctx, a))
	assert.Error(t, aInst.Alive(ctx), "alice's desktop still alive after destroy")

	e.waitWarm(t, 1)
	b := e.create(t, "bob", sandbox.Config{})
	assert.Equal(t, 2, e.pool.Stats().Hits)
	assert.NotEqual(t, aInst.ID(), b.Instance().ID(), "a desktop was handed out twice")
	assert.Equal(t, "", sh(t, b, "ls -A /home/user | grep -i alice || true; ls -A /tmp | grep alice || true"))
	assert.NotContains(t, sh(t, b, "ps -eo args"), "pooltest-alice-marker")
	ids, err := b.Instance().Desktop().ApplicationWindows(ctx, "xterm")
	require.NoError(t, err)
	assert.Empty(t, ids, "bob sees alice's window")
	_, err = b.Instance().ReadFile(ctx, "/home/user/alice-secret.txt", 1<<20)
	assert.Error(t, err, "bob reads alice's file")
}

// TestPoolBudget: warm desktops count toward max_concurrent_sandboxes; the
// pool fills only the headroom and gives room back to a cold create.
func TestPoolBudget(t *testing.T) {
	e := newPoolEnv(t, 2, sandbox.Settings{MaxConcurrentSandboxes: 2})
	e.waitWarm(t, 2)
	a := e.create(t, "alice", sandbox.Config{})
	assert.Equal(t, 1, e.pool.Stats().Hits)
	// One live: room for one warm desktop only.
	time.Sleep(300 * time.Millisecond)
	st := e.pool.Stats()
	assert.LessOrEqual(t, st.Warm+st.Booting, 1, "%+v", st)

	// A cold create (another resolution) takes the warm one's room.
	b := e.create(t, "bob", sandbox.Config{Resolution: sandbox.Resolution{Width: 800, Height: 600}})
	require.Eventually(t, func() bool { st := e.pool.Stats(); return st.Warm+st.Booting == 0 }, 30*time.Second, 20*time.Millisecond)
	assert.GreaterOrEqual(t, e.pool.Stats().Discarded, 1)
	// The limit is still the limit.
	_, err := e.m.Create(ctxT(t), sandbox.CreateRequest{Owner: "carol"})
	assert.Equal(t, sandbox.CodeQuotaExceeded, sandbox.CodeOf(err))

	// Room again after a destroy: the pool refills.
	require.NoError(t, e.m.Destroy(ctxT(t), b))
	e.waitWarm(t, 1)
	require.NoError(t, e.m.Destroy(ctxT(t), a))
	e.waitWarm(t, 2)
}

// TestPoolClose: closing with warm desktops, one booting and a live sandbox
// leaves no process, directory or cgroup (checked in newPoolEnv's cleanup).
func TestPoolClose(t *testing.T) {
	t.Run("Warm", func(t *testing.T) {
		e := newPoolEnv(t, 2, sandbox.Settings{})
		e.waitWarm(t, 2)
		e.create(t, "alice", sandbox.Config{})
		require.Eventually(t, func() bool { return e.pool.Stats().Booting == 1 }, 60*time.Second, 5*time.Millisecond)
	})
	t.Run("WhileBooting", func(t *testing.T) {
		e := newPoolEnv(t, 3, sandbox.Settings{})
		require.Eventually(t, func() bool { return e.pool.Stats().Booting == 1 }, 60*time.Second, time.Millisecond)
	})
}

// TestPoolClasses: one pool keeps desktops of several resolutions; each
// request is served from its own class.
func TestPoolClasses(t *testing.T) {
	state, err := os.MkdirTemp("", "vmservice-pool-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(state, 0o711))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	lp, err := local.New(local.Options{StateDir: state, CgroupParent: poolCgroupParent, Log: log})
	require.NoError(t, err)
	classes, err := sandbox.ParsePoolClasses("800x600=1", sandbox.DefaultTemplate)
	require.NoError(t, err)
	base := sandbox.Config{}.WithDefaults(sandbox.DefaultSettings())
	pool := sandbox.NewPool(lp, sandbox.PoolOptions{Size: 1, Classes: classes, Base: base, Log: log})
	m, err := sandbox.NewManager(pool, sandbox.Settings{}, log)
	require.NoError(t, err)
	e := &poolEnv{state: state, pool: pool, m: m}
	t.Cleanup(func() {
		require.NoError(t, m.Close())
		e.assertNothingLeft(t)
		require.NoError(t, os.RemoveAll(state))
	})
	e.waitWarm(t, 2)
	assert.Equal(t, "1 x desktop@1024x768, 1 x desktop@800x600", pool.String())

	small := e.create(t, "alice", sandbox.Config{Resolution: sandbox.Resolution{Width: 800, Height: 600}})
	size, err := small.Instance().Desktop().ScreenSize(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, sandbox.Resolution{Width: 800, Height: 600}, size)
	e.create(t, "bob", sandbox.Config{})
	st := pool.Stats()
	assert.Equal(t, 2, st.Hits, "%+v", st)
	assert.Zero(t, st.Misses)
	for _, c := range st.Classes {
		assert.Equal(t, 1, c.Hits, "%+v", c)
	}
	e.waitWarm(t, 2)
}

func TestParsePoolClasses(t *testing.T) {
	got, err := sandbox.ParsePoolClasses("2, 1920x1080=1,kiosk@1280x800=3", "desktop")
	require.NoError(t, err)
	assert.Equal(t, []sandbox.PoolClass{
		{Template: "desktop", Resolution: sandbox.DefaultResolution, Size: 2},
		{Template: "desktop", Resolution: sandbox.Resolution{Width: 1920, Height: 1080}, Size: 1},
		{Template: "kiosk", Resolution: sandbox.Resolution{Width: 1280, Height: 800}, Size: 3},
	}, got)
	for _, bad := range []string{"x", "1920x1080", "1920x1080=-1", "99", "10x10=1", "a b@800x600=1"} {
		_, err := sandbox.ParsePoolClasses(bad, "desktop")
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), bad)
	}
}
