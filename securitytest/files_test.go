package securitytest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFileToolsStayInside: read_file / write_file / list_files with "..",
// absolute host paths, symlinks planted by a command, device files and
// FIFOs. Nothing of the host is read or written, nothing hangs.
func TestFileToolsStayInside(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(nil)

	// Host files the sandbox must never see: one in the host's /tmp, one in
	// the server's state directory, both world-readable.
	hostTmp := filepath.Join(os.TempDir(), "vmservice-sectest-host-secret")
	require.NoError(t, os.WriteFile(hostTmp, []byte("HOST-SECRET-TMP"), 0o644))
	t.Cleanup(func() { os.Remove(hostTmp) })
	hostState := filepath.Join(localOpts.StateDir, "host-secret")
	require.NoError(t, os.WriteFile(hostState, []byte("HOST-SECRET-STATE"), 0o644))
	t.Cleanup(func() { os.Remove(hostState) })

	// Symlinks planted from inside, pointing at host files.
	alice.sh(id, strings.Join([]string{
		"ln -s /etc/shadow ~/shadow",
		"ln -s " + hostTmp + " ~/hosttmp",
		"ln -s " + hostState + " ~/hoststate",
		"ln -s " + localOpts.StateDir + " ~/statedir",
		"ln -s /proc/1/root/etc/shadow ~/procroot",
		"ln -s /etc/cron.d/vmservice-sectest ~/cron",
		"ln -s /dev/zero ~/zero",
		"mkfifo ~/fifo",
		"ln -s ~/fifo ~/fifolink",
		"mkdir -p ~/d && ln -s / ~/d/root",
	}, " && "), 10)

	secrets := []string{"root:", "HOST-SECRET"}
	noSecret := func(res map[string]any) {
		for _, s := range secrets {
			assert.NotContains(t, res["message"], s)
		}
	}
	for _, p := range []string{"/etc/shadow", "../../../etc/shadow", "/home/user/../../etc/shadow", "shadow", "procroot", "d/root/etc/shadow"} {
		noSecret(alice.Fails("PERMISSION_DENIED", "read_file", map[string]any{"sandbox_id": id, "path": p}))
	}
	for _, p := range []string{hostTmp, hostState, "hosttmp", "hoststate", "statedir/host-secret", "/run/vmservice-sectest/sb",
		"/dev/mem", "/dev/sda", "/dev/kvm", "/proc/kcore"} {
		res := alice.Call("read_file", map[string]any{"sandbox_id": id, "path": p})
		require.True(t, res.IsError, "%s: %s", p, text(res))
		for _, s := range secrets {
			assert.NotContains(t, text(res), s, p)
		}
		code := structured(t, res)["error_code"]
		assert.Contains(t, []any{"INVALID_ARGUMENT", "PERMISSION_DENIED"}, code, "%s: %s", p, text(res))
	}
	// list_files of host directories shows the sandbox's own view.
	ents := alice.OK("list_files", map[string]any{"sandbox_id": id, "path": "/run"})["entries"]
	assert.Empty(t, ents, "the sandbox's /run is its own tmpfs")
	res := alice.Call("list_files", map[string]any{"sandbox_id": id, "path": "statedir"})
	assert.True(t, res.IsError, text(res))

	// Writes outside the writable areas, directly or through a symlink.
	for _, p := range []string{"/etc/passwd", "../../etc/vmservice-sectest", "/usr/bin/evil", "/.vmservice/agent", hostState} {
		alice.Fails("PERMISSION_DENIED", "write_file", map[string]any{"sandbox_id": id, "path": p, "content": "x"})
	}
	res = alice.Call("write_file", map[string]any{"sandbox_id": id, "path": "cron", "content": "* * * * * root id\n"})
	assert.True(t, res.IsError, text(res))
	_, err := os.Stat("/etc/cron.d/vmservice-sectest")
	assert.True(t, os.IsNotExist(err), "a write through a planted symlink reached the host")
	before, _ := os.ReadFile(hostState)
	_ = alice.Call("write_file", map[string]any{"sandbox_id": id, "path": "hoststate", "content": "overwritten"})
	after, _ := os.ReadFile(hostState)
	assert.Equal(t, string(before), string(after))

	// Devices and FIFOs: a clear error, quickly, never a hang.
	for _, p := range []string{"zero", "/dev/zero", "/dev/urandom", "fifo", "fifolink"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r, err := alice.CallCtx(ctx, "read_file", map[string]any{"sandbox_id": id, "path": p})
		cancel()
		require.NoError(t, err, "read_file %s hung", p)
		assert.True(t, r.IsError, "read_file %s: %s", p, text(r))
		assert.Equal(t, "INVALID_ARGUMENT", structured(t, r)["error_code"], "read_file %s: %s", p, text(r))
	}
	for _, p := range []string{"fifo", "fifolink", "/dev/null"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r, err := alice.CallCtx(ctx, "write_file", map[string]any{"sandbox_id": id, "path": p, "content": "x"})
		cancel()
		require.NoError(t, err, "write_file %s hung", p)
		assert.True(t, r.IsError, "write_file %s: %s", p, text(r))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	r, err := alice.CallCtx(ctx, "list_files", map[string]any{"sandbox_id": id, "path": "fifo"})
	cancel()
	require.NoError(t, err, "list_files on a FIFO hung")
	assert.True(t, r.IsError, text(r))

	// Malformed paths.
	for _, p := range []string{"a\x00b", strings.Repeat("a/", 3000)} {
		r := alice.Call("read_file", map[string]any{"sandbox_id": id, "path": p})
		assert.True(t, r.IsError)
		assert.Equal(t, "INVALID_ARGUMENT", structured(t, r)["error_code"], text(r))
	}

	// The sandbox still works after all of it.
	out := alice.sh(id, "echo fine", 10)
	assert.Equal(t, "fine\n", out["stdout"])
	alice.OK("write_file", map[string]any{"sandbox_id": id, "path": "ok.txt", "content": "hello"})
	assert.Equal(t, "hello", text(alice.Call("read_file", map[string]any{"sandbox_id": id, "path": "ok.txt"})))
}
