package securitytest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/mcptest"
)

// TestTenantIsolation: two principals with a sandbox each (bob's with
// internet access). Over HTTP neither can touch, see or count the other's
// sandbox; from inside, neither can reach the other's display, stream,
// files or processes, the host, or the MCP server.
func TestTenantIsolation(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	bob := connectHTTP(t, e.URL, bobToken)
	a := alice.create(nil)
	b := bob.create(map[string]any{"allow_internet_access": true})
	// A stream on bob's sandbox, so its VNC server exists while alice probes.
	bob.OK("start_stream", map[string]any{"sandbox_id": b})
	bob.OK("write_file", map[string]any{"sandbox_id": b, "path": "bob-secret.txt", "content": "BOB-SECRET"})

	t.Run("handles", func(t *testing.T) {
		for _, id := range []string{a, b} {
			assert.Regexp(t, `^sb_[a-z2-7]{26}$`, id, "sandbox ids carry 128 random bits")
		}
	})

	t.Run("cross-tenant over HTTP", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		// Every per-sandbox tool, with alice's id, as bob: the answer is the
		// same as for an id that never existed.
		guessed := "sb_" + strings.Repeat("a", 26)
		calls := []struct {
			tool string
			args map[string]any
		}{
			{"get_sandbox_info", nil}, {"destroy_sandbox", nil}, {"set_sandbox_timeout", map[string]any{"timeout_seconds": 600}},
			{"run_command", map[string]any{"command": "id"}}, {"read_file", map[string]any{"path": "/etc/hostname"}},
			{"write_file", map[string]any{"path": "x", "content": "x"}}, {"list_files", map[string]any{"path": "/"}},
			{"open_file", map[string]any{"path": "/etc/hostname"}}, {"screenshot", nil}, {"click", map[string]any{"x": 1, "y": 1}},
			{"type_text", map[string]any{"text": "x"}}, {"press_key", map[string]any{"key": "a"}}, {"get_cursor_position", nil},
			{"launch_application", map[string]any{"application": "terminal"}}, {"start_stream", nil}, {"stop_stream", nil},
			{"computer", map[string]any{"action": "screenshot"}},
			{"run_actions", map[string]any{"steps": []any{map[string]any{"action": "press_key", "key": "a"}}}},
		}
		for _, c := range calls {
			for _, id := range []string{a, guessed} {
				args := map[string]any{"sandbox_id": id}
				for k, v := range c.args {
					args[k] = v
				}
				res := bob.Call(c.tool, args)
				require.True(t, res.IsError, "bob's %s on %s: %s", c.tool, id, text(res))
				got := structured(t, res)
				if c.tool == "run_actions" {
					assert.Contains(t, text(res), "SANDBOX_NOT_FOUND", c.tool)
					continue
				}
				assert.Equal(t, "SANDBOX_NOT_FOUND", got["error_code"], "%s: %v", c.tool, got)
				assert.Equal(t, fmt.Sprintf("sandbox %q does not exist or is not yours", id), got["message"], c.tool)
			}
		}
		// Listing, stats, clean-up and user_id impersonation.
		for _, s := range bob.OK("list_sandboxes", nil)["sandboxes"].([]any) {
			assert.NotEqual(t, a, s.(map[string]any)["sandbox_id"])
		}
		bob.Fails("PERMISSION_DENIED", "list_sandboxes", map[string]any{"user_id": "alice"})
		bob.Fails("PERMISSION_DENIED", "list_sandboxes", map[string]any{"user_id": "*"})
		bob.Fails("PERMISSION_DENIED", "cleanup_user_sandboxes", map[string]any{"user_id": "alice"})
		bob.Fails("PERMISSION_DENIED", "create_sandbox", map[string]any{"user_id": "alice"})
		res, err := bob.CallCtx(bob.Ctx, "cleanup_all_sandboxes", nil)
		var lt *mcp.ListToolsResult
		assert.True(t, err != nil || res.IsError, "cleanup_all_sandboxes is for administrators")
		stats := bob.OK("get_stats", nil)
		assert.NotContains(t, stats["sandboxes_by_user"], "alice")
		assert.EqualValues(t, 1, stats["total_active_sandboxes"], "bob counts only his own")
		// The admin tools are not even listed for bob.
		lt, err = bob.C.ListTools(bob.Ctx, mcp.ListToolsRequest{})
		require.NoError(t, err)
		for _, tool := range lt.Tools {
			assert.NotEqual(t, "cleanup_all_sandboxes", tool.Name)
		}
		// Resources.
		rl, err := bob.C.ReadResource(bob.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "vmservice://sandboxes"}})
		require.NoError(t, err)
		for _, c := range rl.Contents {
			assert.NotContains(t, c.(mcp.TextResourceContents).Text, a)
		}
		for _, u := range []string{"vmservice://sandboxes/" + a, "vmservice://sandboxes/" + a + "/screen",
			"vmservice://sandboxes/" + a + "/files/etc/hostname"} {
			_, err := bob.C.ReadResource(bob.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: u}})
			assert.Error(t, err, u)
		}
		// Completions of sandbox ids offer only one's own.
		for _, tmpl := range []string{"vmservice://sandboxes/{sandbox_id}", "vmservice://sandboxes/{sandbox_id}/screen"} {
			cr, err := bob.C.Complete(bob.Ctx, mcp.CompleteRequest{Params: mcp.CompleteParams{
				Ref:      mcp.ResourceReference{Type: "ref/resource", URI: tmpl},
				Argument: mcp.CompleteArgument{Name: "sandbox_id", Value: "sb_"}}})
			require.NoError(t, err)
			assert.NotContains(t, cr.Completion.Values, a)
			assert.Contains(t, cr.Completion.Values, b)
		}
		// A token alone picks the principal: a user_id-looking header or
		// argument changes nothing.
		modernHdr["X-User-Id"], modernHdr["X-Principal"] = "alice", "alice"
		status, body := modern(t, e.URL, bobToken, "tools/call", 1, map[string]any{"name": "get_sandbox_info",
			"arguments": map[string]any{"sandbox_id": a}})
		delete(modernHdr, "X-User-Id")
		delete(modernHdr, "X-Principal")
		assert.Equal(t, 200, status)
		assert.Contains(t, body, "SANDBOX_NOT_FOUND")
		// Alice's sandbox is untouched and still hers.
		assert.Equal(t, "alice", alice.OK("get_sandbox_info", map[string]any{"sandbox_id": a})["user_id"])
		assert.Equal(t, "still\n", alice.sh(a, "echo still", 10)["stdout"])
	})

	t.Run("from inside", func(t *testing.T) {
		alice, bob := alice.as(t), bob.as(t)
		u, _ := url.Parse(e.URL)
		port := u.Port()
		var hostIPs []string
		addrs, _ := net.InterfaceAddrs()
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				hostIPs = append(hostIPs, ipn.IP.String())
			}
		}
		// The host-side VNC socket of bob's stream, wherever it is.
		var vncSocks []string
		_ = filepath.Walk(localOpts.StateDir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode()&os.ModeSocket != 0 {
				vncSocks = append(vncSocks, p)
			}
			return nil
		})
		require.NotEmpty(t, vncSocks, "bob's stream has a VNC socket on the host")
		var displays []string
		for n := 1; n < 16; n++ {
			displays = append(displays, strconv.Itoa(n))
		}
		for n := localOpts.DisplayBase; n < localOpts.DisplayBase+localOpts.MaxSlots; n++ {
			displays = append(displays, strconv.Itoa(n))
		}
		for n := 100; n < 110; n++ { // the default backend's displays
			displays = append(displays, strconv.Itoa(n))
		}
		hosts := append([]string{"127.0.0.1", "10.0.2.2", "10.0.2.3"}, hostIPs...)
		script := probeScript(displays, hosts, port, vncSocks, os.Getpid())
		for _, c := range []struct {
			who *mcpc
			id  string
		}{{alice, a}, {bob, b}} {
			out := c.who.sh(c.id, script, 300)
			t.Logf("probe in %s:\n%s", c.id, out["stdout"])
			for _, l := range strings.Split(out["stdout"].(string), "\n") {
				assert.False(t, strings.HasPrefix(l, "LEAK"), "%s: %s", c.id, l)
			}
			assert.Contains(t, out["stdout"], "PROBE DONE", "stderr: %s", out["stderr"])
			// Its own display works (the probe's control case).
			assert.Contains(t, out["stdout"], "OWN DISPLAY OK")
		}
		// Nothing written inside landed on the host.
		for _, p := range []string{"/tmp/vmservice-sectest-inside", "/vmservice-sectest", "/usr/vmservice-sectest", "/etc/vmservice-sectest"} {
			_, err := os.Stat(p)
			assert.True(t, os.IsNotExist(err), p)
		}
		// Every process of every sandbox runs as an unprivileged host uid
		// of its slot, never root.
		n := 0
		for _, cg := range pidsCgroups() {
			for _, pid := range mcptest.CgroupPids(cg) {
				uid := procUID(pid)
				if uid < 0 {
					continue // exited meanwhile
				}
				n++
				assert.GreaterOrEqual(t, uid, localOpts.UIDBase, "pid %d (%s) runs as host uid %d", pid, comm(pid), uid)
			}
		}
		assert.Greater(t, n, 4)
		// On the host, as another slot's uid (what a subverted helper of
		// another sandbox, x11vnc or Xvfb, would run as): bob's VNC and X
		// sockets and files stay out of reach.
		other := localOpts.UIDBase + localOpts.MaxSlots - 1
		as := func(name string, args ...string) error {
			cmd := exec.Command(name, args...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "XAUTHORITY=/nonexistent", "HOME=/nonexistent"}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(other), Gid: uint32(other)}}
			return cmd.Run()
		}
		nv := 0
		for _, sock := range vncSocks {
			if strings.Contains(sock, "/x11/") {
				continue // the X socket: checked below
			}
			nv++
			assert.Error(t, as("perl", "-MSocket", "-e", `socket(S,AF_UNIX,SOCK_STREAM,0) or exit 2; connect(S, pack_sockaddr_un($ARGV[0])) or exit 1; exit 0`, sock),
				"uid %d connected to the VNC socket %s", other, sock)
		}
		assert.Positive(t, nv, "bob's stream socket was probed")
		// No host-side helper (Xvfb, x11vnc, slirp4netns) listens on any
		// host TCP or UDP port.
		for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"} {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, l := range strings.Split(string(b), "\n")[1:] {
				fs := strings.Fields(l)
				if len(fs) < 8 {
					continue
				}
				uid, _ := strconv.Atoi(fs[7])
				listening := fs[3] == "0A" || strings.HasPrefix(f, "/proc/net/udp")
				assert.False(t, listening && uid >= localOpts.UIDBase && uid < localOpts.UIDBase+localOpts.MaxSlots,
					"%s: a sandbox uid %d listens on %s", f, uid, fs[1])
			}
		}
		// X sockets accept connections, but not without the cookie.
		xs, _ := filepath.Glob(fmt.Sprintf("/tmp/.X11-unix/X%d*", localOpts.DisplayBase/100))
		nx := 0
		for _, x := range xs {
			d, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(x), "X"))
			if err != nil || d < localOpts.DisplayBase || d >= localOpts.DisplayBase+localOpts.MaxSlots {
				continue
			}
			nx++
			assert.Error(t, as("xdpyinfo", "-display", ":"+strconv.Itoa(d)), "uid %d opened display :%d without its cookie", other, d)
		}
		assert.GreaterOrEqual(t, nx, 2, "both sandboxes' displays are claimed on the host")
		// Nor plant files in its X socket directory (Xvfb makes it 1777;
		// before the fix its parent let every uid through).
		xdirs, _ := filepath.Glob(filepath.Join(localOpts.StateDir, "sb", "*", "x11"))
		assert.GreaterOrEqual(t, len(xdirs), 2)
		for _, d := range xdirs {
			planted := filepath.Join(d, "planted-by-another-slot")
			assert.Error(t, as("touch", planted), "uid %d wrote into %s", other, d)
			_ = os.Remove(planted)
		}
		for _, pat := range []string{"*/home", "*/Xauthority", "*/vnc-*", "*/vnc-*/Xauthority"} {
			ms, _ := filepath.Glob(filepath.Join(localOpts.StateDir, "sb", pat))
			for _, m := range ms {
				if st, err := os.Stat(m); err == nil && st.IsDir() {
					assert.Error(t, as("ls", m), "uid %d lists %s", other, m)
				} else {
					assert.Error(t, as("cat", m), "uid %d reads %s", other, m)
				}
			}
		}
		// Host processes are untouched: the test process lives, so does
		// the server.
		alive(t, e.URL)
	})
}

// probeScript tries every way out; each success prints a LEAK line.
func probeScript(displays, hosts []string, port string, vncSocks []string, hostPID int) string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	w(`connect_unix() { perl -MSocket -e '$p=$ARGV[0]; $p=~s/^@/\0/; socket(S,AF_UNIX,SOCK_STREAM,0) or exit 2; connect(S, pack_sockaddr_un($p)) or exit 1; exit 0' "$1"; }`)
	w(`connect_tcp() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }`)
	w(`leak() { echo "LEAK: $*"; }`)
	// Own display: the control case.
	w(`xdpyinfo >/dev/null 2>&1 && connect_unix /tmp/.X11-unix/X0 && echo "OWN DISPLAY OK"`)
	for _, d := range displays {
		w(`[ -e /tmp/.X11-unix/X%s ] && leak "X socket path X%s visible"`, d, d)
		w(`connect_unix /tmp/.X11-unix/X%s && leak "X socket X%s"`, d, d)
		w(`connect_unix @/tmp/.X11-unix/X%s && leak "abstract X socket X%s"`, d, d)
		w(`DISPLAY=:%s timeout 5 xdpyinfo >/dev/null 2>&1 && leak "display :%s"`, d, d)
	}
	w(`connect_unix @/tmp/.X11-unix/X0 && leak "abstract X socket X0"`)
	for _, h := range hosts {
		for _, d := range displays[:4] {
			n, _ := strconv.Atoi(d)
			w(`(connect_tcp %s %d && leak "X over TCP %s:%d") &`, h, 6000+n, h, 6000+n)
		}
		for _, d := range []int{0, 100, localOpts.DisplayBase} {
			w(`(connect_tcp %s %d && leak "X over TCP %s:%d") &`, h, 6000+d, h, 6000+d)
		}
		w(`(connect_tcp %s %s && leak "MCP server port %s:%s") &`, h, port, h, port)
		w(`(connect_tcp %s 5900 && leak "VNC TCP %s:5900") &`, h, h)
		w(`(connect_tcp %s 8080 && leak "default MCP port %s:8080") &`, h, h)
		w(`(connect_tcp %s 6080 && leak "default stream port %s:6080") &`, h, h)
	}
	w(`wait`)
	w(`timeout 5 curl -s -m 4 http://127.0.0.1:%s/metrics 2>/dev/null | grep -q vmservice && leak "metrics over loopback"`, port)
	w(`timeout 5 curl -s -m 4 http://10.0.2.2:%s/metrics 2>/dev/null | grep -q vmservice && leak "metrics via the gateway"`, port)
	for _, s := range vncSocks {
		w(`[ -e %q ] && leak "host socket path %s visible"`, s, s)
		w(`connect_unix %q && leak "host socket %s"`, s, s)
	}
	w(`[ -e %q ] && leak "state dir visible"`, localOpts.StateDir)
	w(`[ -e /run/vmservice ] && leak "default state dir visible"`)
	w(`ls /sys/fs/cgroup >/dev/null 2>&1 && leak "cgroup fs visible"`)
	for _, dev := range []string{"/dev/kvm", "/dev/mem", "/dev/kmem", "/dev/sda", "/dev/vda", "/dev/port", "/dev/net/tun"} {
		w(`[ -e %s ] && leak "device %s"`, dev, dev)
	}
	// Host processes.
	w(`n=$(ls /proc | grep -c '^[0-9]'); [ "$n" -gt 60 ] && leak "sees $n processes"`)
	w(`kill -0 %d 2>/dev/null && leak "can signal host pid %d"`, hostPID, hostPID)
	w(`[ -r /proc/%d/cmdline ] && grep -q . /proc/%d/cmdline 2>/dev/null && leak "reads host pid %d"`, hostPID, hostPID, hostPID)
	w(`ps -eo comm= | grep -qE '^(Xvfb|x11vnc|slirp4netns|vmservice|securitytest)' && leak "host-side processes visible: $(ps -eo comm= | tr '\n' ' ')"`)
	// Identity (the host side is checked by the test).
	w(`cat /etc/shadow >/dev/null 2>&1 && leak "reads /etc/shadow"`)
	w(`su -c id root </dev/null >/dev/null 2>&1 && leak "su works"`)
	w(`dmesg >/dev/null 2>&1 && leak "dmesg works"`)
	// Writes outside the home.
	// (/ and /.vmservice are the sandbox's own tmpfs; the test checks the
	// host's.)
	for _, p := range []string{"/usr/vmservice-sectest", "/etc/vmservice-sectest", "/opt/vmservice-sectest", "/.vmservice/agent", "/.vmservice/Xauthority"} {
		w(`touch %s 2>/dev/null && leak "wrote %s"`, p, p)
	}
	w(`touch /vmservice-sectest /.vmservice/vmservice-sectest 2>/dev/null; true`)
	w(`touch /tmp/vmservice-sectest-inside || leak "cannot write its own /tmp"`)
	// Another sandbox's files.
	w(`find / -maxdepth 5 -name 'bob-secret*' -not -path '/proc/*' -not -path '/usr/*' -not -path '/sys/*' 2>/dev/null | grep -v '^/home/user/bob-secret.txt$' | grep -q . && leak "finds another sandbox's file"`)
	w(`grep -rqs BOB-SECRET /run /tmp /var 2>/dev/null && leak "reads BOB-SECRET"`)
	w(`echo "PROBE DONE"`)
	return b.String()
}
