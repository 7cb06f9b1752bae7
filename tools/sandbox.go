package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetSandbox: the life of sandboxes (create, inspect, list, time out,
// destroy) and the caller's own stats and clean-up.
const SetSandbox = "sandbox"

var _ = register(SetSandbox, createSandbox, getSandboxInfo, listSandboxes, destroySandbox, setSandboxTimeout,
	getStats, cleanupUserSandboxes)

// CreateArgs are create_sandbox's arguments (the VM Service SDK's SandboxConfig).
type CreateArgs struct {
	Template            string            `json:"template,omitempty" jsonschema:"maxLength=64" jsonschema_description:"\"{default}\": a Linux desktop with browsers, terminal and editor."`
	CPUCount            int               `json:"cpu_count,omitempty" jsonschema_description:"CPU cores, {min}-{max} (default {default})."`
	MemoryMB            int               `json:"memory_mb,omitempty" jsonschema_description:"Memory in MiB, {min}-{max} (default {default})."`
	TimeoutSeconds      int               `json:"timeout_seconds,omitempty" jsonschema_description:"Lifetime in seconds (default {default})."`
	AllowInternetAccess bool              `json:"allow_internet_access,omitempty" jsonschema_description:"Outbound internet access (default: none, loopback only)."`
	Environment         map[string]string `json:"environment,omitempty" jsonschema_description:"Environment of every process in the sandbox."`
	WorkingDirectory    string            `json:"working_directory,omitempty" jsonschema:"maxLength=1024" jsonschema_description:"Directory of commands and relative paths (default {default})."`
	Resolution          string            `json:"resolution,omitempty" jsonschema:"pattern=^[0-9]{3\\,4}x[0-9]{3\\,4}$" jsonschema_description:"Screen WIDTHxHEIGHT, {min} to {max}."`
	UserID              string            `json:"user_id,omitempty" jsonschema:"maxLength=128" jsonschema_description:"Owner; only administrators may name another user."`
}

// JSONSchemaExtend declares the limits and defaults where they are defined
// (sandbox's constants and DefaultSettings).
func (CreateArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	d := sandbox.DefaultSettings()
	toolkit.Property(s, "template").Default = sandbox.DefaultTemplate
	toolkit.Fill(s, "template", "default", sandbox.DefaultTemplate)
	toolkit.Bound(s, "cpu_count", sandbox.MinCPU, sandbox.MaxCPU)
	toolkit.Fill(s, "cpu_count", "default", d.DefaultCPU)
	toolkit.Bound(s, "memory_mb", sandbox.MinMemoryMB, sandbox.MaxMemoryMB)
	toolkit.Fill(s, "memory_mb", "default", d.DefaultMemoryMB)
	toolkit.Bound(s, "timeout_seconds", int(sandbox.MinTimeout.Seconds()), int(sandbox.MaxTimeout.Seconds()))
	toolkit.Fill(s, "timeout_seconds", "default", int(d.DefaultTimeout.Seconds()))
	toolkit.Fill(s, "working_directory", "default", sandbox.DefaultWorkdir)
	toolkit.Fill(s, "resolution", "min", sandbox.Resolution{Width: sandbox.MinWidth, Height: sandbox.MinHeight},
		"max", sandbox.Resolution{Width: sandbox.MaxWidth, Height: sandbox.MaxHeight})
	toolkit.Property(s, "resolution").Default = sandbox.DefaultResolution.String()
}

// InfoResult is a sandbox's description.
type InfoResult struct {
	sandbox.Info
	// Problem says why a sandbox is broken (state "broken"); only
	// get_sandbox_info checks.
	Problem string `json:"problem,omitempty" jsonschema_description:"Set when the sandbox is broken (state \"broken\"), e.g. its display stopped: destroy it and create another."`
}

func infoResult(i sandbox.Info) InfoResult { return InfoResult{Info: i} }

// Text is the short text block.
func (r InfoResult) Text() string {
	return fmt.Sprintf("sandbox %s (%s, %s, %d CPU, %d MiB, %s) owned by %s expires %s",
		r.SandboxID, r.Template, r.State, r.CPUCount, r.MemoryMB, r.Resolution, r.UserID, r.ExpiresAt.Format(time.RFC3339))
}

// ListArgs are list_sandboxes's arguments.
type ListArgs struct {
	UserID string `json:"user_id,omitempty" jsonschema:"maxLength=128" jsonschema_description:"Whose sandboxes to list. Default: your own. Administrators may name any user, or \"*\" for everyone."`
}

// ListResult lists sandboxes.
type ListResult struct {
	Sandboxes []InfoResult `json:"sandboxes"`
	Count     int          `json:"count"`
}

// Text is the short text block.
func (r ListResult) Text() string {
	s := fmt.Sprintf("%d sandbox(es)", r.Count)
	for _, i := range r.Sandboxes {
		s += fmt.Sprintf("\n- %s (%s, expires %s)", i.SandboxID, i.State, i.ExpiresAt.Format(time.RFC3339))
	}
	return s
}

// DestroyResult says a sandbox is gone.
type DestroyResult struct {
	Destroyed bool   `json:"destroyed"`
	SandboxID string `json:"sandbox_id"`
}

// TimeoutArgs are set_sandbox_timeout's arguments.
type TimeoutArgs struct {
	SandboxRef
	TimeoutSeconds int `json:"timeout_seconds" jsonschema_description:"New lifetime in seconds, counted from now."`
}

// JSONSchemaExtend declares the limit where it is defined (sandbox).
func (TimeoutArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	toolkit.Bound(s, "timeout_seconds", int(sandbox.MinTimeout.Seconds()), int(sandbox.MaxTimeout.Seconds()))
}

// TimeoutResult is the new expiry.
type TimeoutResult struct {
	SandboxID string    `json:"sandbox_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StatsResult is get_stats's answer.
type StatsResult struct {
	sandbox.Stats
}

// CleanupUserArgs are cleanup_user_sandboxes's arguments.
type CleanupUserArgs struct {
	UserID string `json:"user_id,omitempty" jsonschema:"maxLength=128" jsonschema_description:"Whose sandboxes to destroy. Default: your own; only administrators may name another user."`
}

// CountResult counts destroyed sandboxes.
type CountResult struct {
	Destroyed int `json:"destroyed"`
}

func createSandbox(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "create_sandbox", Title: "Create sandbox",
		Description: "Create an isolated Linux desktop and return its sandbox_id, which every other tool takes. " +
			"It is destroyed after timeout_seconds (set_sandbox_timeout changes that), by destroy_sandbox, " +
			"when the MCP session that created it ends (stateless HTTP has none) and when the server stops.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false},
		Meta:  mcpapp.ToolMeta()},
		func(ctx context.Context, a *CreateArgs) (InfoResult, error) {
			user, err := toolkit.Owner(ctx, a.UserID)
			if err != nil {
				return InfoResult{}, err
			}
			cfg := sandbox.Config{Template: a.Template, CPUCount: a.CPUCount, MemoryMB: a.MemoryMB,
				Timeout: time.Duration(a.TimeoutSeconds) * time.Second, AllowInternetAccess: a.AllowInternetAccess,
				Environment: a.Environment, WorkingDirectory: a.WorkingDirectory}
			if a.Resolution != "" {
				if cfg.Resolution, err = sandbox.ParseResolution("resolution", a.Resolution); err != nil {
					return InfoResult{}, err
				}
			}
			toolkit.Progress(ctx, 0, 2, "creating sandbox")
			sb, err := tb.Manager.Create(ctx, sandbox.CreateRequest{Owner: user, Session: toolkit.SessionID(ctx), Config: cfg})
			if err != nil {
				return InfoResult{}, err
			}
			toolkit.Progress(ctx, 2, 2, "sandbox ready")
			return infoResult(sb.Info()), nil
		})
}

func getSandboxInfo(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_sandbox_info", Title: "Get sandbox info",
		Description: "Describe one sandbox: owner, state (running, or broken with the problem), template, resources, resolution, creation and expiry times.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (InfoResult, error) {
			r := infoResult(sb.Info())
			// A dead display or window manager is otherwise only seen as
			// BACKEND_UNAVAILABLE from the desktop tools.
			if err := sb.Instance().Alive(ctx); err != nil && r.State == sandbox.StateRunning {
				r.State, r.Problem = "broken", sandbox.AsError(err).Message
			}
			return r, nil
		})
}

func listSandboxes(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "list_sandboxes", Title: "List sandboxes",
		Description: "List your live sandboxes, oldest first.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, a *ListArgs) (ListResult, error) {
			var user string
			if a.UserID == "*" {
				if !toolkit.Principal(ctx).Admin {
					return ListResult{}, sandbox.Errorf(sandbox.CodePermissionDenied, "listing every user's sandboxes needs an admin token")
				}
			} else {
				u, err := toolkit.Owner(ctx, a.UserID)
				if err != nil {
					return ListResult{}, err
				}
				user = u
			}
			infos := tb.Manager.List(user)
			out := ListResult{Sandboxes: make([]InfoResult, 0, len(infos)), Count: len(infos)}
			for _, i := range infos {
				out.Sandboxes = append(out.Sandboxes, infoResult(i))
			}
			return out, nil
		})
}

func destroySandbox(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "destroy_sandbox", Title: "Destroy sandbox",
		Description: "Destroy a sandbox now: every process, file and stream of it is gone. Destroying it again answers SANDBOX_NOT_FOUND.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (DestroyResult, error) {
			if err := tb.Manager.Destroy(ctx, sb); err != nil {
				return DestroyResult{}, err
			}
			return DestroyResult{Destroyed: true, SandboxID: a.SandboxID}, nil
		})
}

// Destructive: a shorter timeout brings the sandbox's end closer.
func setSandboxTimeout(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "set_sandbox_timeout", Title: "Set sandbox timeout",
		Description: "Set a sandbox's remaining lifetime to timeout_seconds from now (extend or shorten it).",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *TimeoutArgs) (TimeoutResult, error) {
			exp, err := tb.Manager.SetTimeout(ctx, sb, time.Duration(a.TimeoutSeconds)*time.Second)
			if err != nil {
				return TimeoutResult{}, err
			}
			return TimeoutResult{SandboxID: a.SandboxID, ExpiresAt: exp}, nil
		})
}

func getStats(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "get_stats", Title: "Get stats",
		Description: "Count live sandboxes: total, users, per user. Administrators see everyone; others see themselves.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, _ *NoArgs) (StatsResult, error) {
			p := toolkit.Principal(ctx)
			who := p.ID
			if p.Admin {
				who = ""
			}
			st := tb.Manager.Stats(who)
			return StatsResult{st}, nil
		})
}

func cleanupUserSandboxes(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "cleanup_user_sandboxes", Title: "Clean up a user's sandboxes",
		Description: "Destroy every sandbox of a user (default: yours) and return how many were destroyed.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, a *CleanupUserArgs) (CountResult, error) {
			user, err := toolkit.Owner(ctx, a.UserID)
			if err != nil {
				return CountResult{}, err
			}
			return CountResult{Destroyed: tb.Manager.CleanupUser(ctx, user)}, nil
		})
}
