// Package helperbin carries the e2b backend's in-sandbox X11 helper
// (cmd/vmhelper: static, linux/amd64, what E2B sandboxes run) inside the
// server binary, so a copied binary needs no Go toolchain to drive an E2B
// desktop at helper speed. `go generate ./internal/helperbin` builds it into
// bin/ (`make build` and `make release` do); a checkout that has not run it
// embeds nothing, and Binary says so.
package helperbin

import "embed"

//go:generate env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath "-ldflags=-s -w" -o bin/vmhelper-linux-amd64 ../../cmd/vmhelper

// bin always holds its README, so the pattern matches in a fresh checkout.
//
//go:embed bin
var bin embed.FS

// Name is the embedded helper's file name.
const Name = "vmhelper-linux-amd64"

// Binary is the embedded helper, or nil when the build embedded none.
func Binary() []byte {
	b, err := bin.ReadFile("bin/" + Name)
	if err != nil {
		return nil
	}
	return b
}
