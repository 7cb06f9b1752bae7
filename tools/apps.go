package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetApps: desktop applications and their windows.
const SetApps = "apps"

var _ = register(SetApps, launchApplication, listApplications, getCurrentWindowID, getApplicationWindows, getWindowTitle)

// LaunchArgs are launch_application's arguments.
type LaunchArgs struct {
	SandboxRef
	Application string       `json:"application" jsonschema:"minLength=1,maxLength=128" jsonschema_description:"A name list_applications returns, e.g. firefox or terminal."`
	URI         toolkit.Path `json:"uri,omitempty" jsonschema:"maxLength=8192" jsonschema_description:"URL or file (~ is /home/user) to open."`
	WaitArg
}

// WaitArg lets a tool that opens a window answer once it is up.
type WaitArg struct {
	Wait *bool `json:"wait,omitempty" jsonschema:"default=true" jsonschema_description:"Answer once a new window is up (at most 30 s) and the screen still."`
}

// windowWait bounds the wait for a new window.
const windowWait = 30 * time.Second

// NewWindow is the window a launch or open brought up, and the wait.
type NewWindow struct {
	WindowID    uint32 `json:"window_id,omitempty" jsonschema_description:"The new window (none when no window appeared in time)."`
	WindowTitle string `json:"window_title,omitempty"`
	Waited
}

// newWindow runs start, then (when on) waits for a window that was not
// there before and for the screen to settle.
func newWindow(ctx context.Context, sb *sandbox.Sandbox, on bool, start func() error) (NewWindow, error) {
	if !on {
		return NewWindow{}, start()
	}
	t0 := time.Now()
	before, err := sb.Windows(ctx)
	if err != nil {
		return NewWindow{}, err
	}
	if err := start(); err != nil {
		return NewWindow{}, err
	}
	w, err := sb.WaitNewWindow(ctx, before, windowWait)
	if err != nil {
		return NewWindow{}, err
	}
	out := NewWindow{WindowID: uint32(w)}
	if w != 0 {
		if out.WindowTitle, err = fromDesktop(ctx, sb, func(d sandbox.Desktop) (string, error) { return d.WindowTitle(ctx, w) }); err != nil {
			return out, err
		}
		if out.Waited, err = settle(ctx, sb, true); err != nil {
			return out, err
		}
	}
	out.WaitedMS = int(time.Since(t0).Milliseconds())
	if w == 0 {
		no := false
		out.Settled = &no
	}
	return out, nil
}

// text is a clause for a result's text.
func (n NewWindow) text() string {
	switch {
	case n.Settled == nil:
		return ""
	case n.WindowID == 0:
		return fmt.Sprintf("; no new window within %d ms", n.WaitedMS)
	case *n.Settled:
		return fmt.Sprintf("; window %d %q up and the screen still after %d ms", n.WindowID, n.WindowTitle, n.WaitedMS)
	default:
		return fmt.Sprintf("; window %d %q up after %d ms, the screen still changing", n.WindowID, n.WindowTitle, n.WaitedMS)
	}
}

// LaunchResult says what was started.
type LaunchResult struct {
	OK      bool   `json:"ok"`
	PID     int    `json:"pid,omitempty"`
	Command string `json:"command" jsonschema_description:"The program that was started for the name."`
	NewWindow
}

// Text is the short text block.
func (r LaunchResult) Text() string { return "started " + r.Command + r.NewWindow.text() }

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
		Description: "Start an application by name (see list_applications), optionally opening a URL or file; " +
			"answers once its window is up and the screen still.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *LaunchArgs) (LaunchResult, error) {
			toolkit.Progress(ctx, 0, 2, "launching "+a.Application)
			var r *sandbox.LaunchResult
			w, err := newWindow(ctx, sb, a.Wait == nil || *a.Wait, func() error {
				var err error
				r, err = sb.Instance().Launch(ctx, a.Application, string(a.URI))
				if err == nil {
					toolkit.Progress(ctx, 1, 2, "started "+r.Command)
				}
				return err
			})
			if r == nil {
				return LaunchResult{}, err
			}
			toolkit.Progress(ctx, 2, 2, "done")
			return LaunchResult{OK: true, PID: r.PID, Command: r.Command, NewWindow: w}, err
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
