package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLocalBackendIsLinuxOnly: the local backend builds on Linux only, so
// that the macOS and Windows binaries (e2b backend) build at all. Every file
// of backend/local but options.go (its flags) and unsupported.go (its stub
// elsewhere) says so; an untagged new file would break `make release` much
// later and slower (e2e/release cross-builds every target).
func TestLocalBackendIsLinuxOnly(t *testing.T) {
	files, err := filepath.Glob("backend/local/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		switch filepath.Base(f) {
		case "options.go", "unsupported.go":
			continue
		}
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(b), "//go:build linux\n"),
			"%s: start it with //go:build linux (the local backend is Linux's; unsupported.go stands in elsewhere)", f)
	}
}
