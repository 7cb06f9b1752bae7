package mcpserver

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/tools"
)

// commonApps are the launch_application names every backend maps.
var commonApps = []string{"firefox", "google-chrome", "vscode", "terminal", "text-editor", "file-manager"}

// completer completes prompt arguments (application names) and resource
// template arguments (the caller's own sandbox ids).
type completer struct{ tb *tools.Toolbox }

func match(values []string, prefix string) *mcp.Completion {
	out := []string{}
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return &mcp.Completion{Values: out, Total: len(out)}
}

func (c completer) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if prompt == "desktop_task" && arg.Name == "application" {
		return match(commonApps, arg.Value), nil
	}
	return match(nil, ""), nil
}

func (c completer) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if arg.Name != "sandbox_id" {
		return match(nil, ""), nil
	}
	p, _ := auth.FromContext(ctx)
	var ids []string
	for _, i := range c.tb.Manager.List(p.ID) {
		ids = append(ids, i.SandboxID)
	}
	return match(ids, arg.Value), nil
}
