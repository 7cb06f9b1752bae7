package e2b

import (
	"context"
	"strings"

	"github.com/vmservice/vmservice/driver/apps"
	"github.com/vmservice/vmservice/sandbox"
)

// installedPrograms asks the sandbox which of programs exist (one command).
func (in *Instance) installedPrograms(ctx context.Context, programs []string) (map[string]bool, error) {
	q := make([]string, len(programs))
	for i, p := range programs {
		q[i] = shq(p)
	}
	out, err := in.sh(ctx, "for p in "+strings.Join(q, " ")+"; do command -v \"$p\" >/dev/null 2>&1 && echo \"$p\"; done; true")
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, l := range strings.Fields(out) {
		have[l] = true
	}
	return have, nil
}

// homeDir is the home of E2B's sandbox user.
const homeDir = "/home/user"

// installedFunc asks the sandbox once which of the table's programs it has.
func (in *Instance) installedFunc(ctx context.Context) (func(string) bool, error) {
	have, err := in.installedPrograms(ctx, apps.Programs())
	if err != nil {
		return nil, err
	}
	return func(p string) bool { return have[p] }, nil
}

// Applications lists the names Launch accepts on this sandbox.
func (in *Instance) Applications(ctx context.Context) ([]string, error) {
	installed, err := in.installedFunc(ctx)
	if err != nil {
		return nil, err
	}
	return apps.Available(installed), nil
}

// Launch starts an application by common name, with uri when given.
func (in *Instance) Launch(ctx context.Context, app, uri string) (*sandbox.LaunchResult, error) {
	installed, err := in.installedFunc(ctx)
	if err != nil {
		return nil, err
	}
	argv, err := apps.Command(app, uri, homeDir, installed)
	if err != nil {
		return nil, err
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shq(a)
	}
	cmd := strings.Join(q, " ")
	// With accessibility on, for the UI tools (driver/apps.AccessibilityEnv).
	res, err := in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "exec " + cmd + " >/dev/null 2>&1", Environment: apps.AccessibilityEnv})
	if err != nil {
		return nil, err
	}
	return &sandbox.LaunchResult{Command: cmd, PID: res.PID}, nil
}
