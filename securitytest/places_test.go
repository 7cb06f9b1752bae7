package securitytest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritablePlacesAreBounded: every place sandbox code can write is a
// size-bounded file system (its pages are RAM); the rest is read-only.
// Before the fix /, /run, /dev and /dev/shm were tmpfs without a size (df:
// half the host's RAM) while only the home and /tmp had quotas.
func TestWritablePlacesAreBounded(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(map[string]any{"memory_mb": 512})
	// memory_mb 512: the quota is 256 MiB.
	const quotaMB = 256
	script := strings.Join([]string{
		`for d in / /dev /.vmservice /etc /usr; do touch $d/sectest-probe 2>/dev/null && echo "WROTE $d"; done`,
		`for d in /home/user /tmp /var/tmp /run /dev/shm; do`,
		`  kb=$(df -k --output=size "$d" | tail -1 | tr -d ' ')`,
		fmt.Sprintf(`  [ "$kb" -le %d ] || echo "UNBOUNDED $d $kb"`, quotaMB<<10),
		`  touch $d/sectest-probe || echo "NOT WRITABLE $d"`,
		`done`,
		// A filler of /dev/shm and /run stops at their size.
		`head -c 400M /dev/zero > /dev/shm/fill 2>/dev/null && echo "FILLED /dev/shm"`,
		`head -c 400M /dev/zero > /run/fill 2>/dev/null && echo "FILLED /run"`,
		`rm -f /dev/shm/fill /run/fill`,
		`echo CHECKED`,
	}, "\n")
	out := alice.sh(id, script, 120)
	stdout := out["stdout"].(string)
	t.Logf("%s", stdout)
	require.Contains(t, stdout, "CHECKED", "stderr: %s", out["stderr"])
	for _, bad := range []string{"WROTE", "UNBOUNDED", "NOT WRITABLE", "FILLED"} {
		assert.NotContains(t, stdout, bad)
	}
	assert.Equal(t, "ok\n", alice.sh(id, "echo ok", 30)["stdout"], "the sandbox works after the fillers")
}

// TestSandboxSeesNoHostPaths: nothing a sandbox can read about itself
// (pid 1's command line, its mounts) names the server's state or lock
// directories. Before the fix /proc/1/cmdline was bubblewrap's (every bind
// with its host path) and mountinfo showed the host paths of the X socket
// directory, the agent binary and the cookie.
func TestSandboxSeesNoHostPaths(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(nil)
	out := alice.sh(id, "cat /proc/[0-9]*/cmdline /proc/self/mountinfo /proc/1/mountinfo 2>/dev/null | tr '\\0' ' '", 30)
	stdout := out["stdout"].(string)
	require.Contains(t, stdout, "/tmp/.X11-unix", "mountinfo was read")
	for _, p := range []string{localOpts.StateDir, localOpts.LockDir, "/run/vmservice", "vmservice-sectest"} {
		assert.NotContains(t, stdout, p)
	}
}

// TestXServerSurvivesAllocations: an X client in the sandbox asks its X
// server (outside the user leaf, so not bounded by memory_mb) for 2 GiB of
// pixmaps. Before the fix the out-of-memory killer took the X server and
// the sandbox was broken; now the server refuses what exceeds its data
// limit (BadAlloc to that client) and the desktop carries on.
func TestXServerSurvivesAllocations(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(map[string]any{"memory_mb": 1024})
	buildInto(t, alice, id, "pixmapbomb")
	out := alice.sh(id, "~/pixmapbomb 8", 180)
	t.Logf("%s %s", out["stdout"], out["stderr"])
	assert.Contains(t, out["stdout"], "ALLOCATED")
	assert.NotContains(t, out["stdout"], "ALLOCATED 8 ", "the X server took 2 GiB")
	alice.OK("screenshot", map[string]any{"sandbox_id": id})
	assert.Equal(t, "running", alice.OK("get_sandbox_info", map[string]any{"sandbox_id": id})["state"])
	assert.Contains(t, alice.sh(id, "xdpyinfo | head -1", 30)["stdout"], "name of display")
}
