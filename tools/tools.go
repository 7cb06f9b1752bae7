// Package tools declares every MCP tool of vmservice (../shared/spec/TOOLS.md)
// once: name, description, an argument struct whose JSON schema is reflected
// with invopop/jsonschema, the four annotation hints, an output schema, and a
// thin handler that parses arguments, calls the sandbox Manager and shapes the
// result. Tenancy (whose sandbox is this?) is decided here from the principal
// the transport put in the context; backends never see user ids.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

// Toolset names (the --toolsets flag).
const (
	SetSandbox  = "sandbox"
	SetDesktop  = "desktop"
	SetFiles    = "files"
	SetApps     = "apps"
	SetCommands = "commands"
	SetStream   = "stream"
	SetComputer = "computer"
	SetAdmin    = "admin"
)

// AllToolsets lists every toolset in a stable order.
var AllToolsets = []string{SetSandbox, SetDesktop, SetFiles, SetApps, SetCommands, SetStream, SetComputer, SetAdmin}

// Streams is what the stream tools need of the stream service.
type Streams interface {
	Start(ctx context.Context, sb *sandbox.Sandbox, o stream.Options) (*stream.Info, error)
	Stop(ctx context.Context, sandboxID string) error
}

// Options configure a Toolbox.
type Options struct {
	Manager *sandbox.Manager
	// Streams may be nil: the stream tools then answer BACKEND_UNAVAILABLE.
	Streams Streams
	// ComputerSize is the screen size the computer tool advertises
	// (screenshots scaled to it, coordinates mapped back). Default XGA.
	ComputerSize sandbox.Resolution
	// MaxSteps bounds run_actions (default 200).
	MaxSteps int
	// MaxReadBytes bounds read_file (default 10 MiB).
	MaxReadBytes int64
	Log          zerolog.Logger
}

// Tool is one declared tool.
type Tool struct {
	Name        string
	Toolset     string
	Title       string
	Description string
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
	// AdminOnly tools are listed and callable only by admin principals.
	AdminOnly bool
	Input     json.RawMessage
	Output    json.RawMessage

	validate *validator
	call     func(ctx context.Context, args json.RawMessage) *mcp.CallToolResult
}

// MCP returns the mcp-go tool definition.
func (t *Tool) MCP() mcp.Tool {
	mt := mcp.NewToolWithRawSchema(t.Name, t.Description, t.Input)
	mt.Title = t.Title
	mt.RawOutputSchema = t.Output
	mt.Annotations = mcp.ToolAnnotation{
		Title:           t.Title,
		ReadOnlyHint:    mcp.ToBoolPtr(t.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(t.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(t.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(t.OpenWorld),
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
		return t.call(ctx, raw), nil
	}
}

// Toolbox holds every tool, bound to one Manager.
type Toolbox struct {
	opts   Options
	tools  []*Tool
	byName map[string]*Tool
}

// New declares every tool.
func New(o Options) *Toolbox {
	if o.ComputerSize.IsZero() {
		o.ComputerSize = sandbox.DefaultResolution
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 200
	}
	if o.MaxReadBytes <= 0 {
		o.MaxReadBytes = 10 << 20
	}
	tb := &Toolbox{opts: o, byName: map[string]*Tool{}}
	tb.sandboxTools()
	tb.desktopTools()
	tb.fileTools()
	tb.appTools()
	tb.commandTools()
	tb.streamTools()
	tb.computerTools()
	tb.adminTools()
	return tb
}

// All returns every tool, sorted by name.
func (tb *Toolbox) All() []*Tool {
	out := append([]*Tool(nil), tb.tools...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns a tool by name.
func (tb *Toolbox) Get(name string) *Tool { return tb.byName[name] }

// ParseToolsets parses a comma-separated toolset list ("all" = every one).
func ParseToolsets(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		if f == "all" {
			return append([]string(nil), AllToolsets...), nil
		}
		ok := false
		for _, k := range AllToolsets {
			ok = ok || k == f
		}
		if !ok {
			return nil, fmt.Errorf("unknown toolset %q (known: all, %s)", f, strings.Join(AllToolsets, ", "))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no toolset selected (known: all, %s)", strings.Join(AllToolsets, ", "))
	}
	return out, nil
}

// Select returns the tools of the given toolsets; readOnly keeps only the
// tools that change nothing.
func (tb *Toolbox) Select(toolsets []string, readOnly bool) []*Tool {
	want := map[string]bool{}
	for _, s := range toolsets {
		want[s] = true
	}
	var out []*Tool
	for _, t := range tb.All() {
		if want[t.Toolset] && (!readOnly || t.ReadOnly) {
			out = append(out, t)
		}
	}
	return out
}

// hints are the four annotation hints, spelled out at every declaration.
type hints struct{ readOnly, destructive, idempotent, openWorld bool }

type spec struct {
	name, toolset, title, desc string
	hints
	adminOnly bool
}

var reflector = &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}

// schemaOf reflects v's type into a flat object schema.
func schemaOf(v any) json.RawMessage {
	s := reflector.Reflect(v)
	s.Version = ""
	if s.Properties == nil || s.Properties.Len() == 0 {
		// An argument-less tool still declares an (empty) object.
		b, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false})
		return b
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema of %T: %v", v, err))
	}
	return b
}

// errorSchema describes the structuredContent of an isError result.
var errorSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"error_code":{"type":"string","enum":["INVALID_ARGUMENT","SANDBOX_NOT_FOUND","SANDBOX_CREATION_FAILED","QUOTA_EXCEEDED","AUTHENTICATION_FAILED","PERMISSION_DENIED","TIMEOUT","BACKEND_UNAVAILABLE","INTERNAL"]},` +
	`"message":{"type":"string"},"details":{"type":"object"}},"required":["error_code","message","details"],"additionalProperties":false}`)

// outputSchemaOf describes R's structured content or the error shape
// (clients such as the TypeScript SDK validate the structuredContent of
// error results too). The properties of both sit at the top, for clients
// that only read properties; anyOf requires one complete shape.
func outputSchemaOf(v any) json.RawMessage {
	var ok, e map[string]any
	_ = json.Unmarshal(schemaOf(v), &ok)
	_ = json.Unmarshal(errorSchema, &e)
	props, _ := ok["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	for k, p := range e["properties"].(map[string]any) {
		if _, taken := props[k]; !taken {
			props[k] = p
		}
	}
	okRequired, _ := ok["required"].([]any)
	if okRequired == nil {
		okRequired = []any{}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false,
		"anyOf": []any{map[string]any{"required": okRequired}, map[string]any{"required": e["required"]}}}
	if d, _ := ok["description"].(string); d != "" {
		out["description"] = d
	}
	b, _ := json.Marshal(out)
	return b
}

// texter gives a result its short text block (default: compact JSON).
type texter interface{ Text() string }

// contenter adds content blocks (images) after the text block.
type contenter interface{ Content() []mcp.Content }

// define declares a tool whose arguments decode into A and whose result R is
// the structured content.
func define[A any, R any](tb *Toolbox, s spec, fn func(ctx context.Context, a *A) (R, error)) *Tool {
	var a A
	var r R
	t := &Tool{
		Name: s.name, Toolset: s.toolset, Title: s.title, Description: s.desc,
		ReadOnly: s.readOnly, Destructive: s.destructive, Idempotent: s.idempotent, OpenWorld: s.openWorld,
		AdminOnly: s.adminOnly,
		Input:     schemaOf(&a),
		Output:    outputSchemaOf(&r),
	}
	t.validate = compileSchema(t.Name, t.Input)
	t.call = func(ctx context.Context, raw json.RawMessage) *mcp.CallToolResult {
		var args A
		if err := t.validate.check(raw); err != nil {
			return tb.errorResult(ctx, t.Name, err)
		}
		if err := decodeArgs(raw, &args); err != nil {
			return tb.errorResult(ctx, t.Name, err)
		}
		if s.adminOnly {
			if p := principal(ctx); !p.Admin {
				return tb.errorResult(ctx, t.Name, sandbox.Errorf(sandbox.CodePermissionDenied, "%s is for administrators only", t.Name))
			}
		}
		res, err := fn(ctx, &args)
		if err != nil {
			return tb.errorResult(ctx, t.Name, err)
		}
		return successResult(res)
	}
	tb.tools = append(tb.tools, t)
	if _, dup := tb.byName[t.Name]; dup {
		panic("tools: declared twice: " + t.Name)
	}
	tb.byName[t.Name] = t
	return t
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

// decodeArgs decodes tool arguments strictly (unknown fields are errors,
// as the schema says), with messages that name the field.
func decodeArgs(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case asType(err, &te):
			return sandbox.InvalidArgument(te.Field, "argument %s must be of JSON type %s", te.Field, te.Type.Kind())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return sandbox.InvalidArgument(f, "unknown argument %q", f)
		default:
			if se, ok := err.(*sandbox.Error); ok {
				return se
			}
			return sandbox.InvalidArgument("arguments", "arguments are not a valid JSON object: %s", err.Error())
		}
	}
	return nil
}

func asType[T error](err error, target *T) bool {
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}

// errorResult turns any error into the isError result with
// {error_code, message, details}; internal causes go to the log only.
func (tb *Toolbox) errorResult(ctx context.Context, tool string, err error) *mcp.CallToolResult {
	se := sandbox.AsError(err)
	ev := tb.opts.Log.Debug()
	if se.Code == sandbox.CodeInternal || se.Code == sandbox.CodeBackendUnavailable || se.Code == sandbox.CodeCreationFailed {
		ev = tb.opts.Log.Warn()
	}
	ev.Str("tool", tool).Str("code", string(se.Code)).Str("principal", principal(ctx).ID).Err(se.Unwrap()).Msg(se.Message)
	return &mcp.CallToolResult{
		IsError:           true,
		StructuredContent: se.ToDict(),
		Content:           []mcp.Content{mcp.NewTextContent(string(se.Code) + ": " + se.Message)},
	}
}

// principal is the caller; a context without one (a bug in the transport
// wiring) gets an empty principal that owns nothing.
func principal(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}

// owner resolves a user_id argument: callers act for themselves; only admin
// principals may name another user.
func owner(ctx context.Context, userID string) (string, error) {
	p := principal(ctx)
	if p.ID == "" {
		return "", sandbox.Errorf(sandbox.CodeAuthenticationFailed, "no authenticated principal for this request")
	}
	if userID == "" || userID == p.ID {
		return p.ID, nil
	}
	if !p.Admin {
		return "", sandbox.Errorf(sandbox.CodePermissionDenied, "user_id may name only yourself (%s); acting for other users needs an admin token", p.ID).
			WithDetail("field", "user_id")
	}
	if !auth.ValidPrincipal(userID) {
		return "", sandbox.InvalidArgument("user_id", "user_id %q is not a valid user id", userID)
	}
	return userID, nil
}

// Sandbox returns the caller's sandbox id (any sandbox for admins); another
// tenant's sandbox is SANDBOX_NOT_FOUND.
func (tb *Toolbox) Sandbox(ctx context.Context, id string) (*sandbox.Sandbox, error) {
	if id == "" {
		return nil, sandbox.InvalidArgument("sandbox_id", "sandbox_id is required")
	}
	p := principal(ctx)
	if p.ID == "" {
		return nil, sandbox.NotFound(id)
	}
	if p.Admin {
		return tb.opts.Manager.GetAny(id)
	}
	return tb.opts.Manager.Get(p.ID, id)
}

// Manager is the Manager the tools act on.
func (tb *Toolbox) Manager() *sandbox.Manager { return tb.opts.Manager }

type progressKey struct{}

// progress sends a notifications/progress when the client asked for it.
// Failures (client gone, no session) are ignored: progress is advisory.
func progress(ctx context.Context, done, total float64, msg string) {
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
	SandboxID string `json:"sandbox_id" jsonschema:"minLength=1,maxLength=128" jsonschema_description:"The sandbox handle returned by create_sandbox (e.g. sb_...)."`
}

// OK is the result of tools that only act.
type OK struct {
	OK bool `json:"ok"`
}
