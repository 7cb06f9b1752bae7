package tools

import (
	"context"

	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetAdmin: tools for administrator principals only (listed to no one
// else).
const SetAdmin = "admin"

var _ = register(SetAdmin, cleanupAllSandboxes)

func cleanupAllSandboxes(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "cleanup_all_sandboxes", Title: "Clean up all sandboxes", AdminOnly: true,
		Description: "Destroy every sandbox of every user (administrators only) and return how many were destroyed.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, _ *NoArgs) (CountResult, error) {
			return CountResult{Destroyed: tb.Manager.CleanupAll(ctx)}, nil
		})
}
