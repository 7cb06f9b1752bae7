// Package buildinfo is what a build stamps into the binary: the version
// and commit `make build` / `make release` set with -ldflags -X. A plain
// `go build` in a checkout gets "dev" and the revision the Go toolchain
// recorded.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/vmservice/vmservice/internal/buildinfo.Version=v1.2.3 -X ...Commit=abc".
var (
	Version = "dev"
	Commit  = ""
)

func init() {
	if Commit != "" {
		return
	}
	Commit = "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		Commit = rev + dirty
	}
}

// String is the --version line: version, commit, toolchain and platform.
func String() string {
	return fmt.Sprintf("vmservice %s (commit %s, %s, %s/%s)", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
