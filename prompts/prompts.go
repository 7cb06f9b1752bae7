// Package prompts holds the MCP prompts: how to work a sandbox desktop with
// these tools, and a task recipe that sets one up and works towards a goal.
package prompts

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ComputerUse is the system prompt for agents driving a sandbox.
const ComputerUse = `You control isolated Linux desktops through the vmservice MCP tools.

Workflow
1. create_sandbox once (keep its sandbox_id; every other tool takes it). Default screen 1024x768, 5 minutes of life: extend with set_sandbox_timeout for long work.
2. Look before you act: the computer tool with action "screenshot" shows the screen. Its coordinates are pixels of its screenshots (display_width x display_height in every result; the screen is scaled to fit, aspect ratio kept); zoom enlarges a region. Where the server offers ui_snapshot, it gives the screen as text (one line per element with a ref such as e12; far fewer tokens than an image) and act_on_element clicks, fills (set_text / type) or selects by ref; applications it lists as having no accessibility tree need the screenshot.
3. Act with the smallest reliable step: launch_application (a name list_applications returns, e.g. firefox, terminal, text-editor), then computer actions: left_click / double_click at a coordinate, type into the focused window, key ("Return", "ctrl+l"), scroll, left_click_drag.
4. Each computer action answers with a screenshot taken once the screen has been still for a moment (settled says whether it stopped changing within 3 s); launch_application and open_file answer once the new window is up. Check the result before the next step; if the screen was still changing, take another screenshot.
5. Prefer run_command for anything a shell does better (reading logs, creating files) and read_file / write_file / list_files for files (~ is /home/user); open_file shows a file in its desktop application.
6. Batch predictable sequences with run_actions (steps run in order, stop at the first failure, a final screenshot comes back).
7. When the task is done, destroy_sandbox. Sandboxes also die at their timeout and when your session ends.

Errors come back as results with error_code (INVALID_ARGUMENT, SANDBOX_NOT_FOUND, QUOTA_EXCEEDED, TIMEOUT, ...) and a message that says what to change; read it and adjust instead of repeating the same call.
To let a person watch or help, start_stream gives a browser URL (and auth key).`

// Register adds the prompts to s.
func Register(s *server.MCPServer) {
	s.AddPrompt(mcp.NewPrompt("computer_use",
		mcp.WithPromptTitle("Computer-use system prompt"),
		mcp.WithPromptDescription("How to work a vmservice sandbox desktop with these tools: look, act, check, clean up.")),
		func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return mcp.NewGetPromptResult("Working a vmservice desktop",
				[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(ComputerUse))}), nil
		})

	s.AddPrompt(mcp.NewPrompt("desktop_task",
		mcp.WithPromptTitle("Desktop task"),
		mcp.WithPromptDescription("Set up a sandbox and work towards a goal in a desktop application."),
		mcp.WithArgument("goal", mcp.RequiredArgument(), mcp.ArgumentDescription("What should be achieved, e.g. \"find the weather in Paris\".")),
		mcp.WithArgument("application", mcp.ArgumentDescription("Application to start with (firefox, google-chrome, vscode, terminal, text-editor, file-manager). Default: choose yourself."))),
		func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			goal := strings.TrimSpace(req.Params.Arguments["goal"])
			if goal == "" {
				return nil, fmt.Errorf("the goal argument is required")
			}
			app := strings.TrimSpace(req.Params.Arguments["application"])
			var b strings.Builder
			fmt.Fprintf(&b, "Goal: %s\n\n", goal)
			b.WriteString("Steps:\n1. Call create_sandbox (add allow_internet_access: true only if the goal needs the internet).\n")
			if app != "" {
				fmt.Fprintf(&b, "2. Call launch_application with application %q; it answers once the window is up.\n", app)
			} else {
				b.WriteString("2. Pick the application that fits the goal and start it with launch_application; it answers once the window is up.\n")
			}
			b.WriteString("3. Work towards the goal one action at a time, checking each with a screenshot.\n" +
				"4. Report what you achieved (and what you saw), then call destroy_sandbox.\n")
			return mcp.NewGetPromptResult("Desktop task: "+goal, []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(ComputerUse)),
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(b.String())),
			}), nil
		})
}
