package e2b

import (
	"context"
	"sort"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
)

// e2bApps maps the common application names to the programs that provide
// them on E2B's desktop template (and on Debian desktops), best first.
// TODO: share one table with sandbox/local once it exports its own.
var e2bApps = []struct {
	names    []string
	programs []string
}{
	{[]string{"firefox", "firefox-esr"}, []string{"firefox", "firefox-esr"}},
	{[]string{"google-chrome", "chrome", "chromium"}, []string{"google-chrome", "chromium", "chromium-browser"}},
	{[]string{"vscode", "code"}, []string{"code"}},
	{[]string{"terminal", "xterm"}, []string{"xfce4-terminal", "xterm", "x-terminal-emulator"}},
	{[]string{"text-editor", "editor", "gedit", "mousepad"}, []string{"gedit", "mousepad"}},
	{[]string{"file-manager", "files", "thunar", "pcmanfm"}, []string{"thunar", "pcmanfm", "nautilus"}},
}

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

// Applications lists the names Launch accepts on this sandbox.
func (in *Instance) Applications(ctx context.Context) ([]string, error) {
	var all []string
	for _, a := range e2bApps {
		all = append(all, a.programs...)
	}
	have, err := in.installedPrograms(ctx, all)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range e2bApps {
		for _, p := range a.programs {
			if have[p] {
				out = append(out, a.names...)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Launch starts an application by common name, with uri when given.
func (in *Instance) Launch(ctx context.Context, app, uri string) (*sandbox.LaunchResult, error) {
	key := strings.ToLower(strings.TrimSpace(app))
	for _, a := range e2bApps {
		for _, n := range a.names {
			if n != key {
				continue
			}
			have, err := in.installedPrograms(ctx, a.programs)
			if err != nil {
				return nil, err
			}
			for _, p := range a.programs {
				if !have[p] {
					continue
				}
				cmd := p
				if uri != "" {
					cmd += " " + shq(uri)
				}
				res, err := in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "exec " + cmd + " >/dev/null 2>&1"})
				if err != nil {
					return nil, err
				}
				return &sandbox.LaunchResult{Command: cmd, PID: res.PID}, nil
			}
			return nil, sandbox.InvalidArgument("application", "%s is not installed in this sandbox", app)
		}
	}
	names, _ := in.Applications(ctx)
	return nil, sandbox.InvalidArgument("application", "unknown application %q; available: %s", app, strings.Join(names, ", ")).
		WithDetail("available", names)
}
