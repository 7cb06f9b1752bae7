package tools

import (
	"context"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetApps: desktop applications and their windows.
const SetApps = "apps"

var _ = register(SetApps, launchApplication, listApplications, getCurrentWindowID, getApplicationWindows, getWindowTitle)

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

func launchApplication(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "launch_application", Title: "Launch application",
		Description: "Start a desktop application in the sandbox by common name (firefox, google-chrome, vscode, terminal, text-editor, file-manager), " +
			"optionally opening a URL or file. Take a screenshot after a moment to see its window.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *LaunchArgs) (LaunchResult, error) {
			toolkit.Progress(ctx, 0, 1, "launching "+a.Application)
			r, err := sb.Instance().Launch(ctx, a.Application, a.URI)
			if err != nil {
				return LaunchResult{}, err
			}
			toolkit.Progress(ctx, 1, 1, "started "+r.Command)
			return LaunchResult{OK: true, PID: r.PID, Command: r.Command}, nil
		})
}

func listApplications(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "list_applications", Title: "List applications",
		Description: "List the application names launch_application accepts in this sandbox.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (AppsResult, error) {
			apps, err := sb.Instance().Applications(ctx)
			if apps == nil {
				apps = []string{}
			}
			return AppsResult{Applications: apps}, err
		})
}

func getCurrentWindowID(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_current_window_id", Title: "Get current window",
		Description: "Return the id of the window that has the keyboard focus.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (WindowResult, error) {
			w, err := fromDesktop(ctx, sb, func(d sandbox.Desktop) (sandbox.WindowID, error) { return d.CurrentWindow(ctx) })
			return WindowResult{WindowID: uint32(w)}, err
		})
}

func getApplicationWindows(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_application_windows", Title: "Get application windows",
		Description: "List the ids of the top-level windows of an application (matched by WM_CLASS or title, case-insensitively).",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *AppWindowsArgs) (WindowsResult, error) {
			out := WindowsResult{WindowIDs: []uint32{}}
			err := sb.Input(ctx, func(d sandbox.Desktop) error {
				ws, err := d.ApplicationWindows(ctx, strings.TrimSpace(a.Application))
				for _, w := range ws {
					out.WindowIDs = append(out.WindowIDs, uint32(w))
				}
				return err
			})
			return out, err
		})
}

func getWindowTitle(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_window_title", Title: "Get window title",
		Description: "Return the title of a window.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *WindowArgs) (TitleResult, error) {
			t, err := fromDesktop(ctx, sb, func(d sandbox.Desktop) (string, error) {
				return d.WindowTitle(ctx, sandbox.WindowID(a.WindowID))
			})
			return TitleResult{WindowID: a.WindowID, Title: t}, err
		})
}
