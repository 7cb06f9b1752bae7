package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetUI: the desktop as structure, from the accessibility tree its
// applications publish: what is on the screen as text with references,
// and actions on those references. Screenshots and the pointer stay.
const SetUI = "ui"

var _ = register(SetUI, uiSnapshot, findElements, actOnElement)

// UIScope is where a snapshot or a search looks.
type UIScope struct {
	WindowID    uint32 `json:"window_id,omitempty" jsonschema_description:"Only this top-level window (ids from get_application_windows); default: the whole desktop."`
	App         string `json:"app,omitempty" jsonschema:"maxLength=128" jsonschema_description:"Only the windows of applications whose name contains this (firefox, chromium, mousepad, ...)."`
	Interactive bool   `json:"interactive,omitempty" jsonschema_description:"Only elements one can act on (buttons, fields, links, menus, ...)."`
}

func (s UIScope) query() sandbox.A11yQuery {
	return sandbox.A11yQuery{Window: sandbox.WindowID(s.WindowID), App: s.App, Interactive: s.Interactive}
}

// UISnapshotArgs are ui_snapshot's arguments.
type UISnapshotArgs struct {
	SandboxRef
	UIScope
	MaxDepth int  `json:"max_depth,omitempty" jsonschema_description:"Levels below each window (0 = all, at most {max})."`
	MaxBytes int  `json:"max_bytes,omitempty" jsonschema_description:"Size bound of the text (default {default}, at most {max}); the rest is cut at a line."`
	Bounds   bool `json:"bounds,omitempty" jsonschema_description:"Add each element's screen rectangle: @x,y,width,height."`
}

// JSONSchemaExtend takes the bounds from the SDK.
func (UISnapshotArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	toolkit.Bound(s, "max_depth", 0, sandbox.A11yMaxDepth)
	toolkit.Bound(s, "max_bytes", 0, sandbox.A11yMaxBytes)
	toolkit.Fill(s, "max_bytes", "default", sandbox.A11yDefaultMaxBytes)
}

// UISnapshotResult is a rendered tree.
type UISnapshotResult struct {
	Snapshot  string `json:"snapshot" jsonschema_description:"One line per element: ref role \"name\" [states] = value."`
	Elements  int    `json:"elements"`
	Truncated bool   `json:"truncated,omitempty"`
	// NoAccessibility are windows without a tree (xterm): use screenshots.
	NoAccessibility []sandbox.A11yWindow `json:"no_accessibility,omitempty"`
}

// Text is the snapshot itself: the structured copy is for programs.
func (r UISnapshotResult) Text() string { return r.Snapshot }

func uiSnapshot(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "ui_snapshot", Title: "UI snapshot",
		Description: "The desktop (or one window) as text from its accessibility tree: one line per element, `ref role \"name\" [states] = value`, indented by nesting. " +
			"Act on a ref with act_on_element. Far fewer tokens than a screenshot; applications without a tree (xterm) are listed as such.",
		Hints: toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *UISnapshotArgs) (UISnapshotResult, error) {
			acc, err := sb.Accessibility()
			if err != nil {
				return UISnapshotResult{}, err
			}
			q := a.query()
			q.MaxDepth, q.MaxBytes, q.Bounds = a.MaxDepth, a.MaxBytes, a.Bounds
			s, err := acc.A11ySnapshot(ctx, q)
			if err != nil {
				return UISnapshotResult{}, err
			}
			return UISnapshotResult{Snapshot: s.Text, Elements: s.Elements, Truncated: s.Truncated, NoAccessibility: s.NoAccessibility}, nil
		})
}

// FindElementsArgs are find_elements' arguments.
type FindElementsArgs struct {
	SandboxRef
	UIScope
	Role  string `json:"role,omitempty" jsonschema:"maxLength=64" jsonschema_description:"Role, as the snapshot shows it or as ARIA names it: button, textbox, link, menuitem, checkbox, combobox, ..."`
	Name  string `json:"name,omitempty" jsonschema:"maxLength=256" jsonschema_description:"Text the element's name (or text) contains, any case."`
	Limit int    `json:"limit,omitempty" jsonschema_description:"At most this many (default {default}, at most {max})."`
}

// JSONSchemaExtend takes the bounds from the SDK.
func (FindElementsArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	toolkit.Bound(s, "limit", 0, sandbox.A11yMaxLimit)
	toolkit.Fill(s, "limit", "default", sandbox.A11yDefaultLimit)
}

// FindElementsResult lists elements.
type FindElementsResult struct {
	Elements []sandbox.A11yElement `json:"elements"`
}

// Text is one line per element, as in a snapshot, with its bounds and
// window.
func (r FindElementsResult) Text() string {
	if len(r.Elements) == 0 {
		return "no element matches"
	}
	var b strings.Builder
	for _, e := range r.Elements {
		b.WriteString(elementLine(e))
		b.WriteByte('\n')
	}
	return b.String()
}

func elementLine(e sandbox.A11yElement) string {
	l := e.Ref + " " + e.Role
	if e.Name != "" {
		l += fmt.Sprintf(" %q", e.Name)
	}
	if len(e.States) > 0 {
		l += " [" + strings.Join(e.States, " ") + "]"
	}
	if e.Value != "" {
		l += fmt.Sprintf(" = %q", e.Value)
	}
	if e.Bounds != nil {
		l += fmt.Sprintf(" @%d,%d,%d,%d", e.Bounds.X, e.Bounds.Y, e.Bounds.W, e.Bounds.H)
	}
	if e.Window != "" {
		l += fmt.Sprintf(" in %q", e.Window)
	}
	return l
}

func findElements(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "find_elements", Title: "Find UI elements",
		Description: "Find elements of the desktop's accessibility tree by role and/or name, with their refs, states and screen rectangles.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *FindElementsArgs) (FindElementsResult, error) {
			acc, err := sb.Accessibility()
			if err != nil {
				return FindElementsResult{}, err
			}
			q := a.query()
			q.Role, q.Name, q.Limit = a.Role, a.Name, a.Limit
			els, err := acc.A11yFind(ctx, q)
			if err != nil {
				return FindElementsResult{}, err
			}
			return FindElementsResult{Elements: els}, nil
		})
}

// ActOnElementArgs are act_on_element's arguments.
type ActOnElementArgs struct {
	SandboxRef
	Ref    string `json:"ref" jsonschema:"pattern=^e[0-9]+$,maxLength=16" jsonschema_description:"The element's ref from ui_snapshot or find_elements (e12)."`
	Action string `json:"action" jsonschema:"enum=click,enum=set_text,enum=type,enum=focus,enum=select" jsonschema_description:"click; set_text (replace its text); type (focus, then type with the keyboard); focus; select (it, in its list or tabs, or its option named text)."`
	Text   string `json:"text,omitempty" jsonschema:"maxLength=100000" jsonschema_description:"The text for set_text and type; the option's name for select."`
	Via    string `json:"via,omitempty" jsonschema:"enum=pointer,enum=action" jsonschema_description:"How to click: pointer (a real click at its centre) or action (the element's own action, for one off screen). Default: the pointer when it is on screen."`
}

// ActOnElementResult says what was done and how the element is now.
type ActOnElementResult struct {
	Done    string              `json:"done" jsonschema_description:"How: pointer, action:NAME, set_text, keyboard, focus, select."`
	Element sandbox.A11yElement `json:"element"`
}

// Text is the element's line after the action.
func (r ActOnElementResult) Text() string { return r.Done + ": " + elementLine(r.Element) }

func actOnElement(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "act_on_element", Title: "Act on a UI element",
		Description: "Click, set or type text into, focus or select an element by its ref from ui_snapshot / find_elements. " +
			"A ref whose element is gone is INVALID_ARGUMENT: take a new snapshot.",
		Hints: inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *ActOnElementArgs) (ActOnElementResult, error) {
			res, err := sb.A11yAct(ctx, sandbox.A11yAction{Ref: a.Ref, Action: a.Action, Text: a.Text, Via: a.Via})
			if err != nil {
				return ActOnElementResult{}, err
			}
			return ActOnElementResult{Done: res.Done, Element: res.Element}, nil
		})
}
