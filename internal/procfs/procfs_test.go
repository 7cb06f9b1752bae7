package procfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatusKB(t *testing.T) {
	f := filepath.Join(t.TempDir(), "status")
	assert.NoError(t, os.WriteFile(f, []byte("Name:\tx\nVmRSS:\t   12345 kB\nPss:  7 kB\n"), 0o600))
	assert.Equal(t, 12345, StatusKB(f, "VmRSS"))
	assert.Equal(t, 7, StatusKB(f, "Pss"))
	assert.Equal(t, 0, StatusKB(f, "VmSwap"))
	assert.Equal(t, 0, StatusKB(filepath.Join(t.TempDir(), "missing"), "VmRSS"))
	assert.Positive(t, StatusKB("/proc/self/status", "VmRSS"), "this process has a resident set")
}
