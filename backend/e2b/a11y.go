package e2b

import (
	"context"

	"github.com/vmservice/vmservice/sandbox"
)

// The accessibility tree is read by the uploaded helper (cmd/vmhelper runs
// driver/atspi beside the sandbox's applications); without the helper
// (xdotool path) there is none.

var _ sandbox.Accessibility = (*Instance)(nil)

func (in *Instance) accessibility() (sandbox.Accessibility, error) {
	if acc, ok := in.driver().(sandbox.Accessibility); ok {
		return acc, nil
	}
	return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the accessibility tree needs the desktop helper, which is not running in this sandbox")
}

// A11ySnapshot renders the sandbox's accessibility tree.
func (in *Instance) A11ySnapshot(ctx context.Context, q sandbox.A11yQuery) (*sandbox.A11ySnapshot, error) {
	acc, err := in.accessibility()
	if err != nil {
		return nil, err
	}
	return acc.A11ySnapshot(ctx, q)
}

// A11yFind searches the sandbox's accessibility tree.
func (in *Instance) A11yFind(ctx context.Context, q sandbox.A11yQuery) ([]sandbox.A11yElement, error) {
	acc, err := in.accessibility()
	if err != nil {
		return nil, err
	}
	return acc.A11yFind(ctx, q)
}

// A11yAct acts on an element by reference.
func (in *Instance) A11yAct(ctx context.Context, a sandbox.A11yAction) (*sandbox.A11yActResult, error) {
	acc, err := in.accessibility()
	if err != nil {
		return nil, err
	}
	return acc.A11yAct(ctx, a)
}
