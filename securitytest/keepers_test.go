package securitytest

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
)

// buildInto builds one of internal/'s attack programs (static) and writes
// it into the sandbox's home as name.
func buildInto(t *testing.T, m *mcpc, id, name string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, "./internal/"+name)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	m.OK("write_file", map[string]any{"sandbox_id": id, "path": name, "content": base64.StdEncoding.EncodeToString(b), "encoding": "base64"})
	m.sh(id, "chmod +x ~/"+name, 30)
}

// innerPids maps the host pids of a cgroup to their pids as the sandbox
// sees them (the last NSpid).
func innerPids(cg string) map[int]bool {
	out := map[int]bool{}
	for _, pid := range mcptest.CgroupPids(cg) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f, ok := strings.CutPrefix(l, "NSpid:"); ok {
				fs := strings.Fields(f)
				n, _ := strconv.Atoi(fs[len(fs)-1])
				out[n] = true
			}
		}
	}
	return out
}

// TestSandboxCannotReachItsKeepers: code inside a sandbox attacks every
// process it can see that it does not own: the agent (whose descriptors
// are the server's channel into the sandbox), bubblewrap's init and
// whatever else of the sandbox's infrastructure it finds. It may reach
// only processes of its own (the user cgroup leaf: its commands and the
// window manager, which any X client can drive anyway). Before the fix
// bubblewrap's pid 1 (holding the agent's stdin and stdout) and openbox
// were reachable: pidfd_getfd gave sandbox code the agent-to-server pipe,
// and the agent could be killed.
func TestSandboxCannotReachItsKeepers(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id, cg := newCgroup(t, alice, nil)
	buildInto(t, alice, id, "procattack")

	out := alice.sh(id, "~/procattack", 120)
	stdout := out["stdout"].(string)
	t.Logf("attack:\n%s", stdout)
	require.Contains(t, stdout, "DONE", "stderr: %s", out["stderr"])
	require.Contains(t, stdout, "CONTROL 6 of 6", "the attacks work on a process the sandbox owns")
	own := innerPids(filepath.Join(cg, "user"))
	require.NotEmpty(t, own, "the user leaf has processes (the window manager at least)")
	for _, l := range strings.Split(stdout, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != "REACHED" {
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		assert.True(t, own[pid], "sandbox code reached a process it does not own: %s", l)
	}

	// Signals: the sandbox's init (the agent) takes none from inside, so
	// nothing there can stop or kill it; the sandbox carries on.
	alice.sh(id, "for s in STOP TERM HUP INT USR1 SEGV KILL; do kill -$s 1; done; pkill -KILL -x agent; pkill -KILL -x bwrap; true", 30)
	assert.Equal(t, "alive\n", alice.sh(id, "echo alive", 30)["stdout"])
	assert.Equal(t, "running", alice.OK("get_sandbox_info", map[string]any{"sandbox_id": id})["state"])
}
