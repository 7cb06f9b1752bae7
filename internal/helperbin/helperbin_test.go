package helperbin

import (
	"bytes"
	"debug/elf"
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
