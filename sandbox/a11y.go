package sandbox

import (
	"context"
	"time"
)

// Accessibility is the UI as structure: the accessibility tree the
// applications of a sandbox publish (AT-SPI2 on Linux, read by
// driver/atspi), with short references to act on elements. Backends that
// have it implement it beside Desktop; pixels and structure are both there.
type Accessibility interface {
	// A11ySnapshot renders the tree of the desktop or one window.
	A11ySnapshot(ctx context.Context, q A11yQuery) (*A11ySnapshot, error)
	// A11yFind lists the elements matching a role and / or a name.
	A11yFind(ctx context.Context, q A11yQuery) ([]A11yElement, error)
	// A11yAct acts on an element by reference. What needs the pointer or
	// the keyboard comes back as Click / Type for the caller to do on the
	// Desktop (see Sandbox.A11yAct), so input keeps its order.
	A11yAct(ctx context.Context, a A11yAction) (*A11yActResult, error)
}

// Bounds of a query (tools take them into their schemas).
const (
	A11yMaxDepth        = 200
	A11yDefaultMaxBytes = 32 << 10
	A11yMaxBytes        = 1 << 20
	A11yDefaultLimit    = 20
	A11yMaxLimit        = 1000
)

// A11yQuery scopes and filters a snapshot or a search.
type A11yQuery struct {
	// Window limits it to one top-level window (0 = the whole desktop).
	Window WindowID `json:"window,omitempty"`
	// App limits it to the applications whose name (or window class)
	// contains App, case-insensitively.
	App string `json:"app,omitempty"`
	// Interactive keeps only elements one can act on (and the windows).
	Interactive bool `json:"interactive,omitempty"`
	// MaxDepth bounds the depth below each window (0 = no bound, at most
	// A11yMaxDepth).
	MaxDepth int `json:"max_depth,omitempty"`
	// MaxBytes bounds the rendered text (0 = A11yDefaultMaxBytes, at most
	// A11yMaxBytes); the rest is cut at a line and Truncated set.
	MaxBytes int `json:"max_bytes,omitempty"`
	// Bounds adds each element's screen rectangle to the text.
	Bounds bool `json:"bounds,omitempty"`
	// Role and Name select elements for A11yFind: Role is an ARIA-like or
	// AT-SPI role name ("button", "push button", "textbox"); Name matches
	// a substring, case-insensitively. Limit bounds the results (0 =
	// A11yDefaultLimit, at most A11yMaxLimit).
	Role  string `json:"role,omitempty"`
	Name  string `json:"name,omitempty"`
	Limit int    `json:"limit,omitempty"`
	// Windows are the top-level windows as the display server lists them;
	// backends fill it (the tree is matched to windows by process id) and
	// windows without a tree are reported as such.
	Windows []A11yWindow `json:"windows,omitempty"`
}

// A11yWindow is a top-level window of the display.
type A11yWindow struct {
	ID    WindowID `json:"id"`
	PID   int      `json:"pid,omitempty"`
	Title string   `json:"title,omitempty"`
	Class string   `json:"class,omitempty"`
}

// A11yRect is a screen rectangle.
type A11yRect struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Center is the middle of the rectangle.
func (r A11yRect) Center() Point { return Point{X: r.X + r.W/2, Y: r.Y + r.H/2} }

// A11yElement is one element of the tree.
type A11yElement struct {
	Ref     string    `json:"ref"`
	Role    string    `json:"role"`
	Name    string    `json:"name,omitempty"`
	Value   string    `json:"value,omitempty"`
	States  []string  `json:"states,omitempty"`
	Bounds  *A11yRect `json:"bounds,omitempty"`
	Actions []string  `json:"actions,omitempty"`
	// Window is the title of the element's top-level window.
	Window string `json:"window,omitempty"`
}

// A11ySnapshot is a rendered tree.
type A11ySnapshot struct {
	// Text has one line per element, indented by depth:
	// `ref role "name" [states] = value @x,y,w,h`.
	Text string `json:"text"`
	// Elements counts the lines with a reference; Nodes the elements read.
	Elements  int  `json:"elements"`
	Nodes     int  `json:"nodes,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
	// NoAccessibility are windows whose application publishes no tree
	// (xterm): screenshots and the pointer are the way to use them.
	NoAccessibility []A11yWindow  `json:"no_accessibility,omitempty"`
	Took            time.Duration `json:"-"`
}

// Actions on an element.
const (
	A11yClick   = "click"    // a pointer click at its centre, or the element's own action (A11yAction.Via)
	A11ySetText = "set_text" // replace the text of an editable element
	A11yType    = "type"     // focus it and type with the keyboard (key events, like a person)
	A11yFocus   = "focus"
	A11ySelect  = "select" // select it in its list / menu / tab list, or select the option named Text of it
	// A11yAwaitText waits (a few seconds at most) until the element's text
	// contains Text: A11yDo sends it after typing, so the next action
	// never overtakes keys the application has not read yet.
	A11yAwaitText = "await_text"
)

// A11yAction is an action on the element Ref of a snapshot or a search.
type A11yAction struct {
	Ref    string `json:"ref"`
	Action string `json:"action"`
	Text   string `json:"text,omitempty"`
	// Via says how a click is done: "pointer" (at the element's centre),
	// "action" (the element's own AT-SPI action, for an element off the
	// screen) or "" (the pointer when the element is on the screen, else
	// the action). The pointer is the default because a toolkit runs an
	// action inside its accessibility call: one that opens a modal dialog
	// (GTK's gtk_dialog_run) then leaves the application deaf to the
	// accessibility bus until the dialog closes.
	Via string `json:"via,omitempty"`
}

// A11yActResult says what was done. Click, Keys and Type are left to the
// caller, in that order (pointer and keyboard go through the Desktop).
type A11yActResult struct {
	Element A11yElement `json:"element"`
	// Done is how it was done: "action:click", "pointer", "set_text",
	// "focus", "select", "keyboard".
	Done  string `json:"done"`
	Click *Point `json:"click,omitempty"`
	// Keys are pressed (each a key or a combination) before Type is typed.
	Keys []string `json:"keys,omitempty"`
	Type string   `json:"type,omitempty"`
}

// Accessibility is the sandbox's accessibility tree, or
// BACKEND_UNAVAILABLE when its backend has none.
func (s *Sandbox) Accessibility() (Accessibility, error) {
	acc, ok := s.inst.(Accessibility)
	if !ok {
		return nil, Errorf(CodeBackendUnavailable, "the %s backend has no accessibility tree", s.m.provider.Name())
	}
	return acc, nil
}

// A11yAct acts on an element and does the pointer click or the typing it
// needs on the desktop, in input order with the sandbox's other input.
func (s *Sandbox) A11yAct(ctx context.Context, a A11yAction) (*A11yActResult, error) {
	acc, err := s.Accessibility()
	if err != nil {
		return nil, err
	}
	var res *A11yActResult
	err = s.Input(ctx, func(d Desktop) error {
		var err error
		res, err = A11yDo(ctx, acc, d, a)
		return err
	})
	return res, err
}

// A11yDo acts on an element of acc and does on d what the action left to
// the caller: the pointer click, the keys, the typing, then waits for the
// typed text to reach the element.
func A11yDo(ctx context.Context, acc Accessibility, d Desktop, a A11yAction) (*A11yActResult, error) {
	if a.Action == A11yAwaitText {
		return nil, InvalidArgument("action", "unknown action %q; one of click, set_text, type, focus, select", a.Action)
	}
	res, err := acc.A11yAct(ctx, a)
	if err != nil {
		return nil, err
	}
	if res.Click != nil {
		if err := d.Click(ctx, res.Click, ButtonLeft, 1, nil); err != nil {
			return nil, err
		}
	}
	for _, k := range res.Keys {
		if err := d.PressKeys(ctx, []string{k}); err != nil {
			return nil, err
		}
	}
	if res.Type != "" {
		if _, err := d.TypeText(ctx, res.Type, 25, 0); err != nil {
			return nil, err
		}
		if w, err := acc.A11yAct(ctx, A11yAction{Ref: a.Ref, Action: A11yAwaitText, Text: res.Type}); err == nil {
			res.Element = w.Element
		}
	}
	return res, nil
}
