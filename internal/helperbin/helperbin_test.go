package helperbin

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The embedded helper is what E2B sandboxes run: a static linux/amd64
// executable (no interpreter, so no libc is needed inside the sandbox).
func TestEmbeddedHelperIsStaticLinuxAMD64(t *testing.T) {
	b := Binary()
	require.NotNil(t, b, "no helper embedded: run `go generate ./internal/helperbin` (make build, make test and make release do)")
	f, err := elf.NewFile(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, elf.EM_X86_64, f.Machine)
	require.Equal(t, elf.ET_EXEC, f.Type)
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "the helper is dynamically linked")
	}
}

// The embedded helper is today's cmd/vmhelper: a change there without `go
// generate` (a plain go build or go test) would ship yesterday's helper.
// Go builds are reproducible, so the same command gives the same bytes.
func TestEmbeddedHelperIsCurrent(t *testing.T) {
	b := Binary()
	require.NotNil(t, b, "no helper embedded: run `go generate ./internal/helperbin`")
	out := filepath.Join(t.TempDir(), Name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "../../cmd/vmhelper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	fresh, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, bytes.Equal(fresh, b), "the embedded helper is stale: run `go generate ./internal/helperbin` (make build does)")
}
