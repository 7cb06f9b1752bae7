package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetDesktop: the mouse, keyboard and screen of a sandbox.
const SetDesktop = "desktop"

var _ = register(SetDesktop, click, moveMouse, drag, scroll, typeText, pressKey, pressKeyCombination,
	getCursorPosition, getScreenSize, screenshot)

// Button is a mouse button argument.
type Button string

// JSONSchema declares the enum and default.
func (Button) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Enum: []any{"left", "right", "middle"}, Default: "left"}
}

func (b Button) value() (sandbox.Button, error) { return sandbox.ParseButton(string(b)) }

// ScrollDirection accepts the VM Service SDK's 1 (down) / -1 (up) or a word.
type ScrollDirection string

// JSONSchema declares both spellings.
func (ScrollDirection) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "integer", Enum: []any{1, -1}},
			{Type: "string", Enum: []any{"up", "down", "left", "right"}},
		},
	}
}

// UnmarshalJSON accepts a number or a string.
func (d *ScrollDirection) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		switch n.String() {
		case "1":
			*d = "down"
			return nil
		case "-1":
			*d = "up"
			return nil
		}
		return sandbox.InvalidArgument("direction", "direction must be 1 (down), -1 (up), \"up\", \"down\", \"left\" or \"right\"")
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return sandbox.InvalidArgument("direction", "direction must be 1, -1 or a word such as \"down\"")
	}
	*d = ScrollDirection(strings.ToLower(s))
	return nil
}

func (d ScrollDirection) value() (sandbox.ScrollDirection, error) {
	switch d {
	case "1":
		return sandbox.ScrollDown, nil
	case "-1":
		return sandbox.ScrollUp, nil
	}
	dir, err := sandbox.ParseScrollDirection(string(d))
	if err != nil {
		return "", sandbox.InvalidArgument("direction", "direction must be 1 (down), -1 (up), \"up\", \"down\", \"left\" or \"right\", got %q", string(d))
	}
	return dir, nil
}

// ClickArgs are click's arguments.
type ClickArgs struct {
	PointArgs
	Button Button `json:"button,omitempty" jsonschema_description:"Mouse button: left (default), right or middle."`
	Double bool   `json:"double,omitempty" jsonschema_description:"Double-click instead of a single click."`
}

// PointArgs are move_mouse's arguments.
type PointArgs struct {
	SandboxRef
	X int `json:"x" jsonschema_description:"Horizontal screen pixel, 0 at the left edge."`
	Y int `json:"y" jsonschema_description:"Vertical screen pixel, 0 at the top edge."`
}

// JSONSchemaExtend bounds the point to the largest screen (sandbox.MaxWidth
// x MaxHeight); ClickArgs shares it.
func (PointArgs) JSONSchemaExtend(s *jsonschema.Schema) { onScreen(s, "x", "y") }

// onScreen bounds coordinate properties, x then y, to the largest screen.
func onScreen(s *jsonschema.Schema, xy ...string) {
	for i := 0; i+1 < len(xy); i += 2 {
		toolkit.Bound(s, xy[i], 0, sandbox.MaxWidth-1)
		toolkit.Bound(s, xy[i+1], 0, sandbox.MaxHeight-1)
	}
}

// DragArgs are drag's arguments.
type DragArgs struct {
	SandboxRef
	FromX  int    `json:"from_x" jsonschema_description:"Start point, horizontal pixel."`
	FromY  int    `json:"from_y" jsonschema_description:"Start point, vertical pixel."`
	ToX    int    `json:"to_x" jsonschema_description:"End point, horizontal pixel."`
	ToY    int    `json:"to_y" jsonschema_description:"End point, vertical pixel."`
	Button Button `json:"button,omitempty" jsonschema_description:"Mouse button: left (default), right or middle."`
}

// JSONSchemaExtend bounds both points to the largest screen.
func (DragArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	onScreen(s, "from_x", "from_y", "to_x", "to_y")
}

// ScrollArgs are scroll's arguments.
type ScrollArgs struct {
	SandboxRef
	Direction ScrollDirection `json:"direction" jsonschema_description:"Where to scroll: 1 = down, -1 = up, or \"up\", \"down\", \"left\", \"right\"."`
	Amount    int             `json:"amount,omitempty" jsonschema:"minimum=1,maximum=100,default=1" jsonschema_description:"Wheel notches (default 1)."`
	X         *int            `json:"x,omitempty" jsonschema_description:"Move the pointer here first (with y); default: scroll where the pointer is."`
	Y         *int            `json:"y,omitempty" jsonschema_description:"Move the pointer here first (with x)."`
}

// JSONSchemaExtend bounds the point to the largest screen.
func (ScrollArgs) JSONSchemaExtend(s *jsonschema.Schema) { onScreen(s, "x", "y") }

// TypeArgs are type_text's arguments.
type TypeArgs struct {
	SandboxRef
	Text      string `json:"text" jsonschema:"maxLength=100000" jsonschema_description:"Text to type into the focused window; any Unicode, newlines press Enter."`
	ChunkSize int    `json:"chunk_size,omitempty" jsonschema:"minimum=1,maximum=10000,default=25" jsonschema_description:"Characters typed per chunk (default 25)."`
	DelayMS   *int   `json:"delay_ms,omitempty" jsonschema:"minimum=0,maximum=5000,default=75" jsonschema_description:"Pause between chunks in milliseconds (default 75; 0 types as fast as possible)."`
}

// TypeResult says how much was typed.
type TypeResult struct {
	OK    bool `json:"ok"`
	Typed int  `json:"typed"`
}

// KeyArgs are press_key's arguments.
type KeyArgs struct {
	SandboxRef
	Key string `json:"key" jsonschema:"minLength=1,maxLength=64" jsonschema_description:"Key name: enter, tab, esc, backspace, delete, space, up/down/left/right, home, end, pageup, pagedown, F1-F12, or an X keysym such as Return or a single character. A combination may be written \"ctrl+c\"."`
}

// KeysArgs are press_key_combination's arguments.
type KeysArgs struct {
	SandboxRef
	Keys []string `json:"keys" jsonschema:"minItems=1,maxItems=8" jsonschema_description:"Keys pressed together in order and released in reverse, e.g. [\"ctrl\",\"c\"] or [\"ctrl\",\"shift\",\"t\"]."`
}

// PointResult is a cursor position.
type PointResult struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// SizeResult is a screen size.
type SizeResult struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Region is a rectangle of the screen.
type Region struct {
	X      int `json:"x" jsonschema:"minimum=0" jsonschema_description:"Left edge in screen pixels."`
	Y      int `json:"y" jsonschema:"minimum=0" jsonschema_description:"Top edge in screen pixels."`
	Width  int `json:"width" jsonschema:"minimum=1" jsonschema_description:"Width in pixels."`
	Height int `json:"height" jsonschema:"minimum=1" jsonschema_description:"Height in pixels."`
}

// ScreenshotArgs are screenshot's arguments.
type ScreenshotArgs struct {
	SandboxRef
	Format  string  `json:"format,omitempty" jsonschema:"enum=png,enum=jpeg,default=png" jsonschema_description:"png (default: lossless, and for desktop content usually the smaller) or jpeg (lossy; smaller for photos)."`
	Quality int     `json:"quality,omitempty" jsonschema:"minimum=1,maximum=100,default=80" jsonschema_description:"JPEG quality (ignored for PNG)."`
	ScaleTo string  `json:"scale_to,omitempty" jsonschema:"pattern=^[0-9]{2\\,4}x[0-9]{2\\,4}$" jsonschema_description:"Resize the image to WIDTHxHEIGHT, e.g. 1024x768 (default: no scaling)."`
	Region  *Region `json:"region,omitempty" jsonschema_description:"Capture only this rectangle of the screen (default: the whole screen)."`
	SettleArg
}

// ScreenshotResult describes the image returned as image content.
type ScreenshotResult struct {
	Width        int           `json:"width" jsonschema_description:"Width of the returned image."`
	Height       int           `json:"height" jsonschema_description:"Height of the returned image."`
	Format       imgenc.Format `json:"format" jsonschema:"enum=png,enum=jpeg"`
	ScreenWidth  int           `json:"screen_width" jsonschema_description:"Width of the sandbox screen."`
	ScreenHeight int           `json:"screen_height" jsonschema_description:"Height of the sandbox screen."`
	Bytes        int           `json:"bytes" jsonschema_description:"Size of the encoded image."`
	Waited

	img *capture.Image
}

// Text is the short text block.
func (r ScreenshotResult) Text() string {
	return fmt.Sprintf("screenshot %dx%d %s (%d bytes)%s", r.Width, r.Height, r.Format, r.Bytes, r.Waited.text())
}

// Content is the image block.
func (r ScreenshotResult) Content() []mcp.Content {
	return []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(r.img.Data), r.img.MIME())}
}

// screenshotResult takes a screenshot of sb (capture.Take) as a tool result.
func screenshotResult(ctx context.Context, sb *sandbox.Sandbox, s capture.Shot) (ScreenshotResult, error) {
	img, err := capture.Take(ctx, sb, s)
	if err != nil {
		return ScreenshotResult{}, err
	}
	return ScreenshotResult{Width: img.Width, Height: img.Height, Format: img.Format,
		ScreenWidth: img.ScreenWidth, ScreenHeight: img.ScreenHeight, Bytes: len(img.Data), img: img}, nil
}

// inputHints are the hints of the tools that send input to the sandbox's
// own desktop (click, drag, type_text, press_key, press_key_combination,
// computer, act_on_element): not destructive, for clients confirm
// destructive tools and an agent clicks many times a minute; a disposable
// desktop is what they act on, and what is lost there (a typed-over
// field) is the sandbox's alone.
var inputHints = toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false}

// SettleArg lets a tool wait for the screen before its screenshot or its
// answer (on by default).
type SettleArg struct {
	Settle *bool `json:"settle,omitempty" jsonschema:"default=true" jsonschema_description:"Wait for the screen to be still 100 ms first (at most 3 s)."`
}

func (a SettleArg) on() bool { return a.Settle == nil || *a.Settle }

// Waited says how a tool waited for the screen.
type Waited struct {
	WaitedMS int   `json:"waited_ms,omitempty" jsonschema_description:"How long it waited for the screen to stop changing."`
	Settled  *bool `json:"settled,omitempty" jsonschema_description:"false: the screen was still changing when the wait ended."`
}

// settle waits for sb's screen when on (the default settle options).
func settle(ctx context.Context, sb *sandbox.Sandbox, on bool) (Waited, error) {
	if !on {
		return Waited{}, nil
	}
	s, err := sb.WaitSettled(ctx, sandbox.SettleOptions{})
	if err != nil {
		return Waited{}, err
	}
	return Waited{WaitedMS: int(s.Waited.Milliseconds()), Settled: &s.Settled}, nil
}

// text is a clause for a result's text: "; screen still after 120 ms".
func (w Waited) text() string {
	switch {
	case w.Settled == nil:
		return ""
	case *w.Settled:
		return fmt.Sprintf("; screen still after %d ms", w.WaitedMS)
	default:
		return fmt.Sprintf("; screen still changing after %d ms", w.WaitedMS)
	}
}

// inScreen checks that a point lies on sb's screen, before the backend
// does, so that the error names the tool's own argument.
func inScreen(sb *sandbox.Sandbox, field string, x, y int) error {
	r := sb.Config().Resolution
	return sandbox.CheckPoint(sandbox.Point{X: x, Y: y}, r.Width, r.Height, field)
}

// fromDesktop reads one value from sb's desktop, in order with its input.
func fromDesktop[T any](ctx context.Context, sb *sandbox.Sandbox, get func(d sandbox.Desktop) (T, error)) (T, error) {
	var v T
	err := sb.Input(ctx, func(d sandbox.Desktop) error {
		var err error
		v, err = get(d)
		return err
	})
	return v, err
}

func click(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "click", Title: "Click",
		Description: "Move the pointer to (x, y) and click a mouse button (left by default; double for a double click).",
		Hints:       inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *ClickArgs) (OK, error) {
			b, err := a.Button.value()
			if err != nil {
				return OK{}, err
			}
			n := 1
			if a.Double {
				n = 2
			}
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				if err := inScreen(sb, "x", a.X, a.Y); err != nil {
					return err
				}
				return d.Click(ctx, &sandbox.Point{X: a.X, Y: a.Y}, b, n, nil)
			})
		})
}

func moveMouse(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "move_mouse", Title: "Move mouse",
		Description: "Move the pointer to (x, y) without clicking (hover).",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *PointArgs) (OK, error) {
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				if err := inScreen(sb, "x", a.X, a.Y); err != nil {
					return err
				}
				return d.MoveMouse(ctx, sandbox.Point{X: a.X, Y: a.Y})
			})
		})
}

func drag(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "drag", Title: "Drag",
		Description: "Press a mouse button at (from_x, from_y), move to (to_x, to_y) and release it (drag and drop, selections).",
		Hints:       inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *DragArgs) (OK, error) {
			b, err := a.Button.value()
			if err != nil {
				return OK{}, err
			}
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				if err := inScreen(sb, "from_x", a.FromX, a.FromY); err != nil {
					return err
				}
				if err := inScreen(sb, "to_x", a.ToX, a.ToY); err != nil {
					return err
				}
				return d.Drag(ctx, sandbox.Point{X: a.FromX, Y: a.FromY}, sandbox.Point{X: a.ToX, Y: a.ToY}, b)
			})
		})
}

func scroll(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "scroll", Title: "Scroll",
		Description: "Turn the mouse wheel: direction 1/down, -1/up, or left/right, amount notches, optionally at (x, y).",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *ScrollArgs) (OK, error) {
			dir, err := a.Direction.value()
			if err != nil {
				return OK{}, err
			}
			if a.Amount == 0 {
				a.Amount = 1
			}
			if (a.X == nil) != (a.Y == nil) {
				return OK{}, sandbox.InvalidArgument("x", "give both x and y, or neither")
			}
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				var p *sandbox.Point
				if a.X != nil {
					if err := inScreen(sb, "x", *a.X, *a.Y); err != nil {
						return err
					}
					p = &sandbox.Point{X: *a.X, Y: *a.Y}
				}
				return d.Scroll(ctx, p, dir, a.Amount, nil)
			})
		})
}

func typeText(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "type_text", Title: "Type text",
		Description: "Type text into the focused window as keyboard input, in chunks of chunk_size characters with delay_ms between chunks. Any Unicode text works.",
		Hints:       inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *TypeArgs) (TypeResult, error) {
			chunk, delay := a.ChunkSize, 75
			if chunk == 0 {
				chunk = 25
			}
			if a.DelayMS != nil {
				delay = *a.DelayMS
			}
			n, err := fromDesktop(ctx, sb, func(d sandbox.Desktop) (int, error) {
				return d.TypeText(ctx, a.Text, chunk, time.Duration(delay)*time.Millisecond)
			})
			if err != nil {
				return TypeResult{}, err
			}
			return TypeResult{OK: true, Typed: n}, nil
		})
}

func pressKey(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "press_key", Title: "Press key",
		Description: "Press and release one key (enter, esc, tab, F5, Return, ...); \"ctrl+c\" style combinations are accepted too.",
		Hints:       inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *KeyArgs) (OK, error) {
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				return d.PressKeys(ctx, []string{a.Key}) // the backend splits "ctrl+c"
			})
		})
}

func pressKeyCombination(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "press_key_combination", Title: "Press key combination",
		Description: "Press keys together, e.g. [\"ctrl\",\"c\"]: pressed in order, released in reverse order.",
		Hints:       inputHints},
		func(ctx context.Context, sb *sandbox.Sandbox, a *KeysArgs) (OK, error) {
			return OK{OK: true}, sb.Input(ctx, func(d sandbox.Desktop) error {
				return d.PressKeys(ctx, a.Keys)
			})
		})
}

func getCursorPosition(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_cursor_position", Title: "Get cursor position",
		Description: "Return the pointer's position in screen pixels.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (PointResult, error) {
			p, err := fromDesktop(ctx, sb, func(d sandbox.Desktop) (sandbox.Point, error) { return d.CursorPosition(ctx) })
			return PointResult(p), err
		})
}

func getScreenSize(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "get_screen_size", Title: "Get screen size",
		Description: "Return the sandbox screen's width and height in pixels.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (SizeResult, error) {
			r, err := fromDesktop(ctx, sb, func(d sandbox.Desktop) (sandbox.Resolution, error) { return d.ScreenSize(ctx) })
			return SizeResult{Width: r.Width, Height: r.Height}, err
		})
}

func screenshot(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "screenshot", Title: "Screenshot",
		Description: "Capture the sandbox screen (or a region of it) as an image: PNG by default, JPEG on request, optionally scaled to scale_to.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		Meta:        mcpapp.ToolMeta()},
		func(ctx context.Context, sb *sandbox.Sandbox, a *ScreenshotArgs) (ScreenshotResult, error) {
			s := capture.Shot{Format: imgenc.Format(a.Format), Quality: a.Quality}
			if a.ScaleTo != "" {
				var err error
				if s.ScaleTo, err = sandbox.ParseResolution("scale_to", a.ScaleTo); err != nil {
					return ScreenshotResult{}, err
				}
				if s.ScaleTo.Width < 16 || s.ScaleTo.Height < 16 || s.ScaleTo.Width > sandbox.MaxWidth || s.ScaleTo.Height > sandbox.MaxHeight {
					return ScreenshotResult{}, sandbox.InvalidArgument("scale_to", "scale_to must be between 16x16 and %dx%d", sandbox.MaxWidth, sandbox.MaxHeight)
				}
			}
			if a.Region != nil {
				if a.Region.Width < 1 || a.Region.Height < 1 {
					return ScreenshotResult{}, sandbox.InvalidArgument("region", "region width and height must be positive")
				}
				s.Region = image.Rect(a.Region.X, a.Region.Y, a.Region.X+a.Region.Width, a.Region.Y+a.Region.Height)
			}
			w, err := settle(ctx, sb, a.on())
			if err != nil {
				return ScreenshotResult{}, err
			}
			r, err := screenshotResult(ctx, sb, s)
			r.Waited = w
			return r, err
		})
}
