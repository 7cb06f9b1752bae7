package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetCommands: shell commands inside a sandbox.
const SetCommands = "commands"

var _ = register(SetCommands, runCommand)

// RunArgs are run_command's arguments.
type RunArgs struct {
	SandboxRef
	Command     string            `json:"command" jsonschema:"minLength=1,maxLength=100000" jsonschema_description:"Run with bash -c as the sandbox user."`
	Timeout     int               `json:"timeout,omitempty" jsonschema:"minimum=1,maximum=3600,default=30" jsonschema_description:"Seconds before it is killed (timed_out says so)."`
	Cwd         toolkit.Path      `json:"cwd,omitempty" jsonschema:"maxLength=4096" jsonschema_description:"Working directory (~ is /home/user)."`
	Environment map[string]string `json:"environment,omitempty" jsonschema_description:"Extra environment variables for this command."`
	Background  bool              `json:"background,omitempty" jsonschema_description:"Answer at once with the pid; output is not kept."`
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

func runCommand(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "run_command", Title: "Run command",
		Description: "Run a shell command in the sandbox; returns exit_code, stdout and stderr (streamed as progress when asked). " +
			"Graphical programs appear on the desktop.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: true}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *RunArgs) (RunResult, error) {
			if a.Timeout == 0 {
				a.Timeout = 30
			}
			if err := sandbox.ValidateEnv("environment", a.Environment); err != nil {
				return RunResult{}, err
			}
			var sent int
			req := sandbox.CommandRequest{Command: a.Command, Cwd: string(a.Cwd), Environment: a.Environment,
				Timeout: time.Duration(a.Timeout) * time.Second, Background: a.Background, MaxOutput: maxCommandOutput,
				OnOutput: func(stream string, chunk []byte) {
					sent += len(chunk)
					toolkit.Progress(ctx, float64(sent), 0, stream+": "+clip(string(chunk), 2000))
				}}
			r, err := sb.Instance().Run(ctx, req)
			if err != nil {
				return RunResult{}, err
			}
			return RunResult{*r}, nil
		})
}
