package securitytest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
	"github.com/vmservice/vmservice/internal/procfs"
)

// The built binary runs on a slot range of its own (--local-* flags), so a
// SIGKILLed server's slot stays free for the restarted one to clean. Leaks
// are still judged by identity: a path counts as left behind only if it is
// the very inode (or mount, or process) the sandbox had.
const (
	binStateDir = "/run/vmservice-sectest-bin"
	binCgroup   = "vmservice-sectest-bin"
	binUIDBase  = 340000
	binDisplay  = 6700
)

// binServer is a running vmservice binary.
type binServer struct{ *mcptest.Binary }

func startBinary(t *testing.T) binServer {
	t.Helper()
	return binServer{mcptest.StartHTTPT(t, binary(t), aliceToken+" alice\n", append([]string{"--max-sandboxes", "4"}, binSlots...)...)}
}

// binSlots is the built binary's own slot range: a SIGKILLed server's slot
// stays free for the restarted one to clean, whatever else runs on the
// machine (other packages' tests use the default range in parallel).
var binSlots = []string{
	"--local-state-dir", binStateDir, "--local-lock-dir", binStateDir + "-slots",
	"--local-uid-base", strconv.Itoa(binUIDBase), "--local-display-base", strconv.Itoa(binDisplay), "--local-max-slots", "16",
	"--local-cgroup-parent", binCgroup,
}

// slots are the backend slots the server's sandboxes got (from its log).
func (s binServer) slots() map[int]bool {
	out := map[int]bool{}
	for _, l := range strings.Split(s.Log(), "\n") {
		var m struct {
			Message string `json:"message"`
			Slot    *int   `json:"slot"`
		}
		if json.Unmarshal([]byte(l), &m) == nil && m.Message == "sandbox created" && m.Slot != nil {
			out[*m.Slot] = true
		}
	}
	return out
}

// proc identifies a process across pid reuse.
type proc struct {
	pid   int
	start string
	comm  string
}

func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" {
		return "" // a zombie is gone enough
	}
	return f[19]
}

// trace is everything of some slots that must be gone.
type trace struct {
	procs  []proc
	inodes map[string]uint64
	mounts []string // mountinfo lines
}

func inode(p string) (uint64, bool) {
	var st syscall.Stat_t
	if syscall.Lstat(p, &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, l)
		}
	}
	return out
}

func traceOf(slots map[int]bool) trace {
	tr := trace{inodes: map[string]uint64{}}
	uids := map[int]bool{}
	for n := range slots {
		uids[binUIDBase+n] = true
		name := "s" + strconv.Itoa(n)
		paths := []string{filepath.Join(binStateDir, "sb", name), filepath.Join(binStateDir, "sb", name, "home"),
			fmt.Sprintf("/tmp/.X%d-lock", binDisplay+n), fmt.Sprintf("/tmp/.X11-unix/X%d", binDisplay+n)}
		for _, c := range []string{"memory", "cpu", "pids"} {
			paths = append(paths, filepath.Join("/sys/fs/cgroup", c, binCgroup, name))
		}
		for _, p := range paths {
			if ino, ok := inode(p); ok {
				tr.inodes[p] = ino
			}
		}
		tr.mounts = append(tr.mounts, mountsUnder(filepath.Join(binStateDir, "sb", name)+"/")...)
		tr.mounts = append(tr.mounts, mountsUnder(filepath.Join(binStateDir, "sb", name)+" ")...)
	}
	for _, pid := range procfs.Pids() {
		if uids[procUID(pid)] {
			tr.procs = append(tr.procs, proc{pid: pid, start: procStart(pid), comm: comm(pid)})
		}
	}
	return tr
}

// left lists what of tr still exists.
func (tr trace) left() []string {
	var out []string
	for _, p := range tr.procs {
		if p.start != "" && procStart(p.pid) == p.start {
			out = append(out, fmt.Sprintf("process %d (%s)", p.pid, p.comm))
		}
	}
	for p, ino := range tr.inodes {
		if now, ok := inode(p); ok && now == ino {
			out = append(out, p)
		}
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, m := range tr.mounts {
		if strings.Contains(string(b), m) {
			out = append(out, "mount "+strings.Fields(m)[4])
		}
	}
	return out
}

// populate gives the server sandboxes with everything that can leak: a
// stream (x11vnc), a background process, files.
// It returns the secrets it saw (stream keys), which must never be logged.
func populate(t *testing.T, url string, n int) []string {
	var secrets []string
	alice := connectHTTP(t, url, aliceToken)
	for i := 0; i < n; i++ {
		id := alice.OK("create_sandbox", map[string]any{"memory_mb": 1024, "cpu_count": 1})["sandbox_id"].(string)
		alice.OK("run_command", map[string]any{"sandbox_id": id, "command": "sleep 10000", "background": true})
		alice.OK("write_file", map[string]any{"sandbox_id": id, "path": "f.txt", "content": "x"})
		if i == 0 {
			st := alice.OK("start_stream", map[string]any{"sandbox_id": id})
			secrets = append(secrets, st["auth_key"].(string))
		}
	}
	return secrets
}

// TestSignalsLeaveNothing: SIGTERM and SIGINT of the server binary destroy
// every sandbox: no process, cgroup, mount, directory or socket is left.
func TestSignalsLeaveNothing(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startBinary(t)
			secrets := populate(t, s.URL, 2)
			slots := s.slots()
			require.Len(t, slots, 2, "slots from the log")
			tr := traceOf(slots)
			require.NotEmpty(t, tr.procs)
			require.NotEmpty(t, tr.mounts, "the homes are mounts")
			require.NoError(t, s.Cmd.Process.Signal(sig))
			select {
			case <-s.Exited():
				assert.NoError(t, s.Err(), "clean exit on %s", sig)
			case <-time.After(90 * time.Second):
				t.Fatalf("the server did not exit on %s", sig)
			}
			eventually(t, "nothing left", 60*time.Second, func() bool { return len(tr.left()) == 0 })
			// The debug log of the whole run holds no token and no stream key.
			for _, secret := range append(secrets, aliceToken) {
				assert.NotContains(t, s.Log(), secret)
			}
		})
	}
}

// TestSIGKILLThenRestartCleans: a server killed outright leaves state
// behind; the next start cleans it before it serves.
func TestSIGKILLThenRestartCleans(t *testing.T) {
	s := startBinary(t)
	populate(t, s.URL, 1)
	slots := s.slots()
	require.Len(t, slots, 1)
	// A viewer on the stream: x11vnc then holds MIT-SHM segments.
	alice := connectHTTP(t, s.URL, aliceToken)
	ids := alice.OK("list_sandboxes", nil)["sandboxes"].([]any)
	watchStream(t, alice, ids[0].(map[string]any)["sandbox_id"].(string))
	tr := traceOf(slots)
	vnc := map[int]bool{}
	for _, p := range tr.procs {
		if p.comm == "x11vnc" {
			vnc[p.pid] = true
		}
	}
	require.NotEmpty(t, vnc)
	assert.Empty(t, shmByCreator(t, vnc), "x11vnc's MIT-SHM segments are the X server's, not the host's")
	require.NoError(t, s.Cmd.Process.Kill())
	<-s.Exited()
	// What dies with the server (it is every sandbox process's parent or
	// death-signal) is gone; the rest stays for the next start.
	time.Sleep(time.Second)
	leftover := tr.left()
	t.Logf("left by SIGKILL: %v", leftover)
	require.NotEmpty(t, leftover, "SIGKILL leaves state for the next start")

	s2 := startBinary(t) // New() cleans stale slots before /healthz answers
	assert.Empty(t, tr.left(), "after the next start")
	assert.Empty(t, shmByCreator(t, vnc), "shared memory of the killed server's x11vnc")
	alive := connectHTTP(t, s2.URL, aliceToken)
	alive.OK("list_sandboxes", nil)
}
