package securitytest

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestXServerIsNoWindowIntoHostMemory: a program inside a sandbox asks its
// X server (MIT-SHM) to attach a world-readable shared memory segment of
// the host and copy it into a pixmap. The host's memory must not come back.
func TestXServerIsNoWindowIntoHostMemory(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(nil)

	// A host segment any user may read, holding a secret.
	secret := bytes.Repeat([]byte("HOSTSECRETSHM-42"), 8)
	shmid, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o644)
	require.NoError(t, err)
	mem, err := unix.SysvShmAttach(shmid, 0, 0)
	require.NoError(t, err)
	copy(mem, secret)
	t.Cleanup(func() {
		_ = unix.SysvShmDetach(mem)
		_, _ = unix.SysvShmCtl(shmid, unix.IPC_RMID, nil)
	})

	// The attacker's X client, built here and written into the sandbox.
	buildInto(t, alice, id, "shmprobe")
	res := alice.sh(id, "~/shmprobe "+strconv.Itoa(shmid), 60)
	got := strings.TrimSpace(res["stdout"].(string))
	t.Logf("probe: %s %s", got, res["stderr"])
	require.NotContains(t, got, "NOX", "the probe reached its own display")
	if data, ok := strings.CutPrefix(got, "DATA "); ok {
		raw, _ := hex.DecodeString(data)
		// 32 bits per pixel: compare the colour bytes.
		leaked := 0
		for i := 0; i+3 < len(raw) && i+3 < len(secret); i += 4 {
			if bytes.Equal(raw[i:i+3], secret[i:i+3]) {
				leaked++
			}
		}
		assert.Zero(t, leaked, "host shared memory read through the X server: %s", data)
	}
}
