// Package toolkit is the framework every MCP tool of vmservice is declared
// with, and the tenancy the tools and resources share:
//
//   - Define turns a Spec (name, title, description, the four annotation
//     hints) and a typed handler func(ctx, *Args) (Result, error) into a
//     Tool: the input schema is reflected from Args (invopop/jsonschema,
//     struct tags), the output schema from Result, arguments are checked
//     against the schema and decoded strictly, errors become the
//     {error_code, message, details} result, a Result's Text and Content
//     methods give its text and image blocks.
//   - Env holds what handlers act on (the sandbox Manager, limits, the log)
//     and answers "whose sandbox is this?": Owner resolves a user_id
//     argument, Env.Sandbox looks a sandbox up for the calling principal
//     (another tenant's is SANDBOX_NOT_FOUND). Backends never see user ids.
package toolkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vmservice/vmservice/sandbox"
)

// Hints are the four MCP annotation hints; every declaration spells out
// all four.
type Hints struct{ ReadOnly, Destructive, Idempotent, OpenWorld bool }

// Spec is what a tool says about itself.
type Spec struct {
	Name, Title, Description string
	Hints
	// AdminOnly tools are listed and callable only by admin principals.
	AdminOnly bool
	// Meta is the tool's _meta in tools/list (e.g. the MCP App a host shows
	// its results in: mcpapp.ToolMeta).
	Meta map[string]any
}

// Tool is one declared tool.
type Tool struct {
	Spec
	// Toolset is the group the tool belongs to (the --toolsets flag).
	Toolset string
	Input   json.RawMessage
	Output  json.RawMessage

	validate *validator
	call     func(ctx context.Context, args json.RawMessage) *mcp.CallToolResult
}

// MCP returns the mcp-go tool definition.
func (t *Tool) MCP() mcp.Tool {
	mt := mcp.NewToolWithRawSchema(t.Name, t.Description, t.Input)
	mt.Title = t.Title
	mt.RawOutputSchema = t.Output
	// The title is the tool's own (Tool.title); not repeated here.
	mt.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(t.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(t.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(t.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(t.OpenWorld),
	}
	if len(t.Meta) > 0 {
		mt.Meta = &mcp.Meta{AdditionalFields: t.Meta}
	}
	return mt
}

// Handler is the mcp-go handler of the tool.
func (t *Tool) Handler() server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw := req.Params.RawArguments
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if req.Params.Arguments != nil {
				raw, _ = json.Marshal(req.Params.Arguments)
			} else {
				raw = []byte("{}")
			}
		}
		if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
			ctx = context.WithValue(ctx, progressKey{}, req.Params.Meta.ProgressToken)
		}
		if len(req.Params.InputResponses) > 0 || req.Params.RequestState != "" {
			ctx = context.WithValue(ctx, roundTripKey{}, req.Params.MultiRoundTripParams)
		}
		return t.call(ctx, raw), nil
	}
}

// Call runs the tool on raw JSON arguments (run_actions calls its steps'
// tools this way).
func (t *Tool) Call(ctx context.Context, args json.RawMessage) *mcp.CallToolResult {
	return t.call(ctx, args)
}

// texter gives a result its short text block (default: compact JSON).
type texter interface{ Text() string }

// contenter adds content blocks (images) after the text block.
type contenter interface{ Content() []mcp.Content }

// Define declares a tool whose arguments decode into A and whose result R is
// the structured content.
func Define[A any, R any](env *Env, s Spec, fn func(ctx context.Context, a *A) (R, error)) *Tool {
	var a A
	var r R
	t := &Tool{Spec: s, Input: schemaOf(&a), Output: outputSchemaOf(&r)}
	t.validate = compileSchema(t.Name, t.Input)
	t.call = func(ctx context.Context, raw json.RawMessage) *mcp.CallToolResult {
		var args A
		if err := t.validate.check(raw); err != nil {
			return env.errorResult(ctx, t.Name, err)
		}
		if err := decodeArgs(raw, &args); err != nil {
			return env.errorResult(ctx, t.Name, err)
		}
		if s.AdminOnly {
			if p := Principal(ctx); !p.Admin {
				return env.errorResult(ctx, t.Name, sandbox.Errorf(sandbox.CodePermissionDenied, "%s is for administrators only", t.Name))
			}
		}
		res, err := fn(ctx, &args)
		var more *InputRequired
		if errors.As(err, &more) {
			return more.Result
		}
		if err != nil {
			return env.errorResult(ctx, t.Name, err)
		}
		return successResult(res)
	}
	return t
}

// sandboxArgs are argument types that embed SandboxRef.
type sandboxArgs[A any] interface {
	*A
	sandboxID() string
}

func (r SandboxRef) sandboxID() string { return r.SandboxID }

// DefineOn declares a tool that acts on one sandbox: its arguments embed
// SandboxRef, and the handler gets the caller's sandbox already looked up
// (Env.Sandbox: another tenant's answers SANDBOX_NOT_FOUND before the
// handler runs).
func DefineOn[A any, PA sandboxArgs[A], R any](env *Env, s Spec, fn func(ctx context.Context, sb *sandbox.Sandbox, a *A) (R, error)) *Tool {
	return Define(env, s, func(ctx context.Context, a *A) (R, error) {
		sb, err := env.Sandbox(ctx, PA(a).sandboxID())
		if err != nil {
			var none R
			return none, err
		}
		return fn(ctx, sb, a)
	})
}

func successResult(res any) *mcp.CallToolResult {
	var text string
	if tx, ok := res.(texter); ok {
		text = tx.Text()
	} else {
		b, _ := json.Marshal(res)
		text = string(b)
	}
	out := &mcp.CallToolResult{StructuredContent: res, Content: []mcp.Content{mcp.NewTextContent(text)}}
	if c, ok := res.(contenter); ok {
		out.Content = append(out.Content, c.Content()...)
	}
	return out
}

// errorResult turns any error into the isError result with
// {error_code, message, details}; internal causes go to the log only.
func (e *Env) errorResult(ctx context.Context, tool string, err error) *mcp.CallToolResult {
	se := sandbox.AsError(err)
	ev := e.Log.Debug()
	if se.Code == sandbox.CodeInternal || se.Code == sandbox.CodeBackendUnavailable || se.Code == sandbox.CodeCreationFailed {
		ev = e.Log.Warn()
	}
	ev.Str("tool", tool).Str("code", string(se.Code)).Str("principal", Principal(ctx).ID).Err(se.Unwrap()).Msg(se.Message)
	return &mcp.CallToolResult{
		IsError:           true,
		StructuredContent: se.ToDict(),
		Content:           []mcp.Content{mcp.NewTextContent(string(se.Code) + ": " + se.Message)},
	}
}

type progressKey struct{}

// Multi round-trip requests (protocol 2026-07-28): a handler that needs the
// person (elicitation) returns an *InputRequired as its error; the client
// answers and calls the tool again with the answers, which the handler then
// reads with RoundTrip. For clients of earlier protocol versions mcp-go asks
// on the session and calls again by itself.

// InputRequired is returned (as the error) by a handler that needs input
// from the client first; Result is built with server.InputRequestBuilder.
type InputRequired struct{ Result *mcp.CallToolResult }

func (e *InputRequired) Error() string { return "input required" }

type roundTripKey struct{}

// RoundTrip is what the client sent back on a retried call: the answers to
// the handler's input requests and the state it asked to see again; zero on
// a first call.
func RoundTrip(ctx context.Context) mcp.MultiRoundTripParams {
	p, _ := ctx.Value(roundTripKey{}).(mcp.MultiRoundTripParams)
	return p
}

// Progress sends a notifications/progress when the client asked for it.
// Failures (client gone, no session) are ignored: progress is advisory.
func Progress(ctx context.Context, done, total float64, msg string) {
	tok := ctx.Value(progressKey{})
	if tok == nil {
		return
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	params := map[string]any{"progressToken": tok, "progress": done}
	if total > 0 {
		params["total"] = total
	}
	if msg != "" {
		params["message"] = msg
	}
	_ = srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
}

// SandboxRef is the argument every per-sandbox tool takes.
type SandboxRef struct {
	SandboxID string `json:"sandbox_id" jsonschema_description:"From create_sandbox."`
}

// Path is a sandbox path argument: "~" and "~/..." mean the home, as the
// desktop's own window titles write it (mousepad: "~/notes.txt").
type Path string

// UnmarshalJSON expands the home.
func (p *Path) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Path(sandbox.ExpandHome(s))
	return nil
}

// OK is the result of tools that only act.
type OK struct {
	OK bool `json:"ok"`
}

// NoArgs is for tools without arguments.
type NoArgs struct{}
