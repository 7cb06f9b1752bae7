package local

import (
	"context"

	"github.com/vmservice/vmservice/sandbox"
)

// StartVNC is not wired yet: the streaming engineer fills this file.
func (in *Instance) StartVNC(context.Context, sandbox.StreamOptions) (*sandbox.StreamEndpoint, error) {
	return nil, unavailable("streaming not available")
}

// StopVNC is not wired yet (see StartVNC).
func (in *Instance) StopVNC(context.Context) error {
	return unavailable("streaming not available")
}
