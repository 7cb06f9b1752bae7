//go:build !linux

package local

import (
	"context"

	"github.com/vmservice/vmservice/sandbox"
)

// The local backend is made of Linux parts (namespaces, cgroups, Xvfb). On
// other systems the server is built with it as this stub, so its flags
// parse and choosing it gets a clear answer.

// Provider is the local backend (unavailable on this system).
type Provider struct{}

var unsupported = "the local backend runs on Linux only: use --backend e2b (with E2B_API_KEY), " +
	"or run the vmservice container image (README \"Container\")"

// New fails: the local backend runs on Linux only.
func New(Options) (*Provider, error) {
	return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s", unsupported)
}

// Name is "local".
func (*Provider) Name() string { return "local" }

// Create fails: the local backend runs on Linux only.
func (*Provider) Create(context.Context, sandbox.Config, map[string]string) (sandbox.Instance, error) {
	return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s", unsupported)
}

// Close does nothing.
func (*Provider) Close() error { return nil }
