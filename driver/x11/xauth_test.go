package x11

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The file xauth(1) reads back is the one written; the reader finds the
// cookie of the right display among several entries.
func TestXauthority(t *testing.T) {
	dir := t.TempDir()
	cookie := bytes.Repeat([]byte{0xab}, 16)
	f := filepath.Join(dir, "a")
	require.NoError(t, WriteXauthority(f, 7, cookie))
	out, err := exec.Command("xauth", "-f", f, "list").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), ":7  MIT-MAGIC-COOKIE-1  abababababababababababababababab")

	// xauth adds a host-bound entry for :3.
	other := bytes.Repeat([]byte{0x01}, 16)
	out, err = exec.Command("xauth", "-f", f, "add", "somehost/unix:3", ".", "01010101010101010101010101010101").CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(f)
	require.NoError(t, err)
	assert.Equal(t, cookie, XauthorityCookie(data, "7"))
	assert.Equal(t, other, XauthorityCookie(data, "3"))
	assert.Nil(t, XauthorityCookie(data, "8"))
	for _, n := range []string{"3", "7"} {
		i := bytes.Index(data, []byte(n+"\x00\x12MIT-MAGIC-COOKIE-1"))
		require.Greater(t, i, 0)
		assert.Nil(t, XauthorityCookie(data[:i+30], n), "entry cut short")
	}
}
