package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

// LaunchArgs are launch_application's arguments.
type LaunchArgs struct {
	SandboxRef
	Application string `json:"application" jsonschema:"minLength=1,maxLength=128" jsonschema_description:"Application name: firefox, google-chrome (chrome, chromium), vscode, terminal, text-editor, file-manager; list_applications shows what this sandbox has."`
	URI         string `json:"uri,omitempty" jsonschema:"maxLength=8192" jsonschema_description:"URL or file path to open with the application."`
}

// LaunchResult says what was started.
type LaunchResult struct {
	OK      bool   `json:"ok"`
	PID     int    `json:"pid,omitempty"`
	Command string `json:"command" jsonschema_description:"The program that was started for the name."`
}

// AppsResult lists launchable applications.
type AppsResult struct {
	Applications []string `json:"applications"`
}

// WindowResult is one window id.
type WindowResult struct {
	WindowID uint32 `json:"window_id" jsonschema_description:"X11 window id (0 when no window has the focus)."`
}

// AppWindowsArgs are get_application_windows's arguments.
type AppWindowsArgs struct {
	SandboxRef
	Application string `json:"application" jsonschema:"minLength=1,maxLength=128" jsonschema_description:"Application name, WM_CLASS or part of a window title, e.g. firefox or xterm."`
}

// WindowsResult lists window ids.
type WindowsResult struct {
	WindowIDs []uint32 `json:"window_ids"`
}

// WindowArgs are get_window_title's arguments.
type WindowArgs struct {
	SandboxRef
	WindowID uint32 `json:"window_id" jsonschema:"minimum=1" jsonschema_description:"X11 window id from get_current_window_id or get_application_windows."`
}

// TitleResult is a window title.
type TitleResult struct {
	WindowID uint32 `json:"window_id"`
	Title    string `json:"title"`
}

func (tb *Toolbox) appTools() {
	define(tb, spec{name: "launch_application", toolset: SetApps, title: "Launch application",
		desc: "Start a desktop application in the sandbox by common name (firefox, google-chrome, vscode, terminal, text-editor, file-manager), " +
			"optionally opening a URL or file. Take a screenshot after a moment to see its window.",
		hints: hints{readOnly: false, destructive: false, idempotent: false, openWorld: true}},
		func(ctx context.Context, a *LaunchArgs) (LaunchResult, error) {
			sb, err := tb.Sandbox(ctx, a.SandboxID)
			if err != nil {
				return LaunchResult{}, err
			}
			progress(ctx, 0, 1, "launching "+a.Application)
			r, err := sb.Instance().Launch(ctx, a.Application, a.URI)
			if err != nil {
				return LaunchResult{}, err
			}
			progress(ctx, 1, 1, "started "+r.Command)
			return LaunchResult{OK: true, PID: r.PID, Command: r.Command}, nil
		})

	define(tb, spec{name: "list_applications", toolset: SetApps, title: "List applications",
		desc:  "List the application names launch_application accepts in this sandbox.",
		hints: hints{readOnly: true, destructive: false, idempotent: true, openWorld: false}},
		func(ctx context.Context, a *SandboxRef) (AppsResult, error) {
			sb, err := tb.Sandbox(ctx, a.SandboxID)
			if err != nil {
				return AppsResult{}, err
			}
			apps, err := sb.Instance().Applications(ctx)
			if apps == nil {
				apps = []string{}
			}
			return AppsResult{Applications: apps}, err
		})

	define(tb, spec{name: "get_current_window_id", toolset: SetApps, title: "Get current window",
		desc:  "Return the id of the window that has the keyboard focus.",
		hints: hints{readOnly: true, destructive: false, idempotent: true, openWorld: false}},
		func(ctx context.Context, a *SandboxRef) (WindowResult, error) {
			w, err := fromDesktop(ctx, tb, a.SandboxID, func(d sandbox.Desktop) (sandbox.WindowID, error) { return d.CurrentWindow(ctx) })
			return WindowResult{WindowID: uint32(w)}, err
		})

	define(tb, spec{name: "get_application_windows", toolset: SetApps, title: "Get application windows",
		desc:  "List the ids of the top-level windows of an application (matched by WM_CLASS or title, case-insensitively).",
		hints: hints{readOnly: true, destructive: false, idempotent: true, openWorld: false}},
		func(ctx context.Context, a *AppWindowsArgs) (WindowsResult, error) {
			out := WindowsResult{WindowIDs: []uint32{}}
			err := tb.withInput(ctx, a.SandboxID, func(_ *sandbox.Sandbox, d sandbox.Desktop) error {
				ws, err := d.ApplicationWindows(ctx, strings.TrimSpace(a.Application))
				for _, w := range ws {
					out.WindowIDs = append(out.WindowIDs, uint32(w))
				}
				return err
			})
			return out, err
		})

	define(tb, spec{name: "get_window_title", toolset: SetApps, title: "Get window title",
		desc:  "Return the title of a window.",
		hints: hints{readOnly: true, destructive: false, idempotent: true, openWorld: false}},
		func(ctx context.Context, a *WindowArgs) (TitleResult, error) {
			t, err := fromDesktop(ctx, tb, a.SandboxID, func(d sandbox.Desktop) (string, error) {
				return d.WindowTitle(ctx, sandbox.WindowID(a.WindowID))
			})
			return TitleResult{WindowID: a.WindowID, Title: t}, err
		})
}

// RunArgs are run_command's arguments.
type RunArgs struct {
	SandboxRef
	Command     string            `json:"command" jsonschema:"minLength=1,maxLength=100000" jsonschema_description:"Shell command, run with bash -c inside the sandbox as the sandbox user."`
	Timeout     int               `json:"timeout,omitempty" jsonschema:"minimum=1,maximum=3600,default=30" jsonschema_description:"Seconds before the command is killed (default 30); timed_out says so."`
	Cwd         string            `json:"cwd,omitempty" jsonschema:"maxLength=4096" jsonschema_description:"Working directory (default: the sandbox's working directory)."`
	Environment map[string]string `json:"environment,omitempty" jsonschema_description:"Extra environment variables for this command."`
	Background  bool              `json:"background,omitempty" jsonschema_description:"Start the command and return at once with its pid (output is not collected)."`
}

// RunResult is what a command left.
type RunResult struct {
	sandbox.CommandResult
}

// Text is the short text block.
func (r RunResult) Text() string {
	if r.PID != 0 && r.Stdout == "" && r.Stderr == "" {
		return fmt.Sprintf("started in the background, pid %d", r.PID)
	}
	s := fmt.Sprintf("exit code %d", r.ExitCode)
	if r.TimedOut {
		s += " (timed out)"
	}
	if r.Stdout != "" {
		s += "\nstdout:\n" + clip(r.Stdout, 8000)
	}
	if r.Stderr != "" {
		s += "\nstderr:\n" + clip(r.Stderr, 4000)
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n[... see structured content]"
}

const maxCommandOutput = 1 << 20

func (tb *Toolbox) commandTools() {
	define(tb, spec{name: "run_command", toolset: SetCommands, title: "Run command",
		desc: "Run a shell command inside the sandbox and return exit_code, stdout and stderr. " +
			"Graphical programs started here appear on the sandbox desktop. Output is streamed as progress notifications when the client asks for progress.",
		hints: hints{readOnly: false, destructive: true, idempotent: false, openWorld: true}},
		func(ctx context.Context, a *RunArgs) (RunResult, error) {
			sb, err := tb.Sandbox(ctx, a.SandboxID)
			if err != nil {
				return RunResult{}, err
			}
			if a.Timeout == 0 {
				a.Timeout = 30
			}
			if a.Timeout < 1 || a.Timeout > 3600 {
				return RunResult{}, sandbox.InvalidArgument("timeout", "timeout must be between 1 and 3600 seconds")
			}
			if err := sandbox.ValidateEnv("environment", a.Environment); err != nil {
				return RunResult{}, err
			}
			var sent int
			req := sandbox.CommandRequest{Command: a.Command, Cwd: a.Cwd, Environment: a.Environment,
				Timeout: time.Duration(a.Timeout) * time.Second, Background: a.Background, MaxOutput: maxCommandOutput,
				OnOutput: func(stream string, chunk []byte) {
					sent += len(chunk)
					progress(ctx, float64(sent), 0, stream+": "+clip(string(chunk), 2000))
				}}
			r, err := sb.Instance().Run(ctx, req)
			if err != nil {
				return RunResult{}, err
			}
			return RunResult{*r}, nil
		})
}
