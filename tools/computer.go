package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
	"github.com/vmservice/vmservice/sandbox/scaling"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetComputer: Anthropic-style computer use and scripted runs of steps.
const SetComputer = "computer"

var _ = register(SetComputer, computer, runActions)

// Computer-use actions (Anthropic computer_20251124).
var computerActions = []string{"key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
	"double_click", "triple_click", "left_mouse_down", "left_mouse_up", "scroll", "hold_key", "wait", "screenshot",
	"cursor_position", "zoom"}

// ComputerAction is the action enum.
type ComputerAction string

// JSONSchema lists the actions.
func (ComputerAction) JSONSchema() *jsonschema.Schema {
	enum := make([]any, len(computerActions))
	for i, a := range computerActions {
		enum[i] = a
	}
	return &jsonschema.Schema{Type: "string", Enum: enum}
}

// actionDoc explains every action (set on the property: a field's own
// description would replace one set by its type).
const actionDoc = "key: press text as a key or combo (\"ctrl+s\", \"Return\"; space-separated for a sequence). type: type text. " +
	"mouse_move, left_click, right_click, middle_click, double_click, triple_click: at coordinate (clicks default to the pointer; text holds modifiers such as \"shift\"). " +
	"left_click_drag: from start_coordinate to coordinate. left_mouse_down, left_mouse_up: the left button. " +
	"scroll: scroll_direction and scroll_amount at coordinate. hold_key: hold text's key for duration seconds. wait: duration seconds. " +
	"screenshot. cursor_position. zoom: region enlarged to the display size."

// JSONSchemaExtend documents the action property.
func (ComputerArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("action"); ok {
		p.Description = actionDoc
	}
}

// ComputerArgs are the computer tool's arguments (Anthropic's names).
type ComputerArgs struct {
	SandboxRef
	Action          ComputerAction `json:"action"`
	Coordinate      []int          `json:"coordinate,omitempty" jsonschema:"minItems=2,maxItems=2" jsonschema_description:"[x, y] in screenshot pixels."`
	StartCoordinate []int          `json:"start_coordinate,omitempty" jsonschema:"minItems=2,maxItems=2" jsonschema_description:"[x, y] where left_click_drag starts."`
	Text            string         `json:"text,omitempty" jsonschema:"maxLength=100000" jsonschema_description:"Text to type, the key(s) of key and hold_key, or modifiers held during a click or scroll."`
	ScrollDirection string         `json:"scroll_direction,omitempty" jsonschema:"enum=up,enum=down,enum=left,enum=right" jsonschema_description:"scroll: which way the wheel turns."`
	ScrollAmount    int            `json:"scroll_amount,omitempty" jsonschema:"minimum=1,maximum=100,default=3" jsonschema_description:"Wheel notches."`
	Duration        float64        `json:"duration,omitempty" jsonschema:"minimum=0,maximum=100" jsonschema_description:"Seconds (hold_key, wait)."`
	Region          []int          `json:"region,omitempty" jsonschema:"minItems=4,maxItems=4" jsonschema_description:"[x1, y1, x2, y2] for zoom."`
	ScreenshotAfter *bool          `json:"screenshot_after,omitempty" jsonschema:"default=true" jsonschema_description:"Answer with a screenshot."`
	SettleArg
}

// ImageInfo describes an image returned as image content.
type ImageInfo struct {
	Width  int           `json:"width"`
	Height int           `json:"height"`
	Format imgenc.Format `json:"format"`
}

// ComputerResult is the computer tool's structured content.
type ComputerResult struct {
	Action        string     `json:"action"`
	OK            bool       `json:"ok"`
	X             *int       `json:"x,omitempty" jsonschema_description:"cursor_position: pointer x in advertised coordinates."`
	Y             *int       `json:"y,omitempty" jsonschema_description:"cursor_position: pointer y in advertised coordinates."`
	DisplayWidth  int        `json:"display_width" jsonschema_description:"Advertised screen width all coordinates refer to."`
	DisplayHeight int        `json:"display_height" jsonschema_description:"Advertised screen height all coordinates refer to."`
	Screenshot    *ImageInfo `json:"screenshot,omitempty"`
	Waited

	shot *ScreenshotResult
}

// Text is the short text block.
func (r ComputerResult) Text() string {
	if r.X != nil && r.Y != nil {
		return fmt.Sprintf("X=%d,Y=%d", *r.X, *r.Y)
	}
	if r.shot != nil {
		return fmt.Sprintf("%s done%s; screenshot %dx%d", r.Action, r.Waited.text(), r.shot.Width, r.shot.Height)
	}
	return r.Action + " done"
}

// Content is the screenshot, if any.
func (r ComputerResult) Content() []mcp.Content {
	if r.shot == nil {
		return nil
	}
	return r.shot.Content()
}

// scaler maps between the advertised image (the screen fitted within
// ComputerSize, aspect ratio kept) and the real screen.
type scaler struct{ m scaling.Map }

func (tb *Toolbox) scalerFor(real sandbox.Resolution) scaler {
	return scaler{scaling.NewMap(real, tb.opts.ComputerSize)}
}

// adv is the advertised size: coordinates are pixels of the screenshot.
func (s scaler) adv() sandbox.Resolution { return s.m.View }

func (s scaler) toReal(field string, c []int) (sandbox.Point, error) {
	adv := s.adv()
	if len(c) != 2 {
		return sandbox.Point{}, sandbox.InvalidArgument(field, "%s must be [x, y]", field)
	}
	if c[0] < 0 || c[1] < 0 || c[0] >= adv.Width || c[1] >= adv.Height {
		return sandbox.Point{}, sandbox.InvalidArgument(field, "%s [%d, %d] is outside the %dx%d display", field, c[0], c[1], adv.Width, adv.Height).
			WithDetail("display_width", adv.Width).WithDetail("display_height", adv.Height)
	}
	return s.m.ToReal(c[0], c[1]), nil
}

func (s scaler) fromReal(p sandbox.Point) (int, int) { return s.m.FromReal(p) }

// modifiers are the keys a click or scroll holds ("shift", "ctrl+alt"):
// one Desktop key argument, which the backend splits on '+'.
func modifiers(text string) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	return []string{text}
}

func (tb *Toolbox) useComputer(ctx context.Context, sb *sandbox.Sandbox, a *ComputerArgs) (ComputerResult, error) {
	var err error
	sc := tb.scalerFor(sb.Config().Resolution)
	adv := sc.adv()
	res := ComputerResult{Action: string(a.Action), OK: true, DisplayWidth: adv.Width, DisplayHeight: adv.Height}
	act := string(a.Action)
	var point *sandbox.Point
	if a.Coordinate != nil {
		p, err := sc.toReal("coordinate", a.Coordinate)
		if err != nil {
			return res, err
		}
		point = &p
	}
	need := func(cond bool, field, msg string) error {
		if !cond {
			return sandbox.InvalidArgument(field, "%s: %s", act, msg)
		}
		return nil
	}
	shot := capture.Shot{ScaleTo: adv}
	wantShot := a.ScreenshotAfter == nil || *a.ScreenshotAfter
	input := func(fn func(d sandbox.Desktop) error) error { return sb.Input(ctx, fn) }

	switch act {
	case "screenshot":
		wantShot = true
	case "zoom":
		if err := need(len(a.Region) == 4, "region", "region [x1, y1, x2, y2] is required"); err != nil {
			return res, err
		}
		// Advertised pixels [x1, x2) x [y1, y2): the screen pixels they
		// show, enlarged to fill the display.
		if a.Region[0] < 0 || a.Region[1] < 0 || a.Region[2] <= a.Region[0] || a.Region[3] <= a.Region[1] || a.Region[2] > adv.Width || a.Region[3] > adv.Height {
			return res, sandbox.InvalidArgument("region", "zoom region must have 0 <= x1 < x2 <= %d and 0 <= y1 < y2 <= %d", adv.Width, adv.Height).
				WithDetail("display_width", adv.Width).WithDetail("display_height", adv.Height)
		}
		r := sc.m.RectToReal(image.Rect(a.Region[0], a.Region[1], a.Region[2], a.Region[3]))
		shot = capture.Shot{Region: r, ScaleTo: scaling.Enlarge(sandbox.Resolution{Width: r.Dx(), Height: r.Dy()}, adv)}
		wantShot = true
	case "cursor_position":
		var p sandbox.Point
		if err := input(func(d sandbox.Desktop) error { p, err = d.CursorPosition(ctx); return err }); err != nil {
			return res, err
		}
		x, y := sc.fromReal(p)
		res.X, res.Y = &x, &y
		return res, nil
	case "wait":
		if err := sandbox.Sleep(ctx, time.Duration(a.Duration*float64(time.Second))); err != nil {
			return res, err
		}
	case "key":
		if err := need(strings.TrimSpace(a.Text) != "", "text", "text names the key(s), e.g. \"ctrl+s\" or \"Return\""); err != nil {
			return res, err
		}
		err = input(func(d sandbox.Desktop) error {
			for _, k := range strings.Fields(a.Text) {
				if err := d.PressKeys(ctx, []string{k}); err != nil {
					return err
				}
			}
			return nil
		})
	case "hold_key":
		if err := need(strings.TrimSpace(a.Text) != "" && a.Duration > 0 && a.Duration <= 100, "text", "text names the key and duration (0-100 s) how long to hold it"); err != nil {
			return res, err
		}
		err = input(func(d sandbox.Desktop) error {
			// KeyDown takes a "ctrl+shift" combination whole; KeyUp
			// releases it in reverse order, even after a cancel.
			if err := d.KeyDown(ctx, a.Text); err != nil {
				return err
			}
			defer func() { _ = d.KeyUp(context.WithoutCancel(ctx), a.Text) }()
			return sandbox.Sleep(ctx, time.Duration(a.Duration*float64(time.Second)))
		})
	case "type":
		if err := need(a.Text != "", "text", "text is required"); err != nil {
			return res, err
		}
		err = input(func(d sandbox.Desktop) error {
			_, err := d.TypeText(ctx, a.Text, 50, 12*time.Millisecond)
			return err
		})
	case "mouse_move":
		if err := need(point != nil, "coordinate", "coordinate is required"); err != nil {
			return res, err
		}
		err = input(func(d sandbox.Desktop) error { return d.MoveMouse(ctx, *point) })
	case "left_click", "right_click", "middle_click", "double_click", "triple_click":
		b, n := sandbox.ButtonLeft, 1
		switch act {
		case "right_click":
			b = sandbox.ButtonRight
		case "middle_click":
			b = sandbox.ButtonMiddle
		case "double_click":
			n = 2
		case "triple_click":
			n = 3
		}
		err = input(func(d sandbox.Desktop) error { return d.Click(ctx, point, b, n, modifiers(a.Text)) })
	case "left_click_drag":
		if err := need(point != nil && a.StartCoordinate != nil, "start_coordinate", "start_coordinate and coordinate are required"); err != nil {
			return res, err
		}
		from, err := sc.toReal("start_coordinate", a.StartCoordinate)
		if err != nil {
			return res, err
		}
		err = input(func(d sandbox.Desktop) error { return d.Drag(ctx, from, *point, sandbox.ButtonLeft) })
		if err != nil {
			return res, err
		}
	case "left_mouse_down", "left_mouse_up":
		err = input(func(d sandbox.Desktop) error {
			if point != nil {
				if err := d.MoveMouse(ctx, *point); err != nil {
					return err
				}
			}
			if act == "left_mouse_down" {
				return d.MouseDown(ctx, sandbox.ButtonLeft)
			}
			return d.MouseUp(ctx, sandbox.ButtonLeft)
		})
	case "scroll":
		dir, err := ScrollDirection(a.ScrollDirection).value()
		if err != nil {
			return res, sandbox.InvalidArgument("scroll_direction", "scroll: scroll_direction must be up, down, left or right")
		}
		amount := a.ScrollAmount
		if amount == 0 {
			amount = 3
		}
		err = input(func(d sandbox.Desktop) error { return d.Scroll(ctx, point, dir, amount, modifiers(a.Text)) })
		if err != nil {
			return res, err
		}
	default:
		return res, sandbox.InvalidArgument("action", "unknown action %q (one of %s)", act, strings.Join(computerActions, ", "))
	}
	if err != nil {
		return res, err
	}
	if !wantShot {
		return res, nil
	}
	if res.Waited, err = settle(ctx, sb, a.on()); err != nil {
		return res, err
	}
	s, err := screenshotResult(ctx, sb, shot)
	if err != nil {
		return res, err
	}
	res.shot = &s
	res.Screenshot = &ImageInfo{Width: s.Width, Height: s.Height, Format: s.Format}
	return res, nil
}

// stepTools are the tools a run_actions step may name (plus "wait"), in
// the order run_actions' schema lists them, with their argument types.
var stepTools = []string{"click", "move_mouse", "drag", "scroll", "type_text", "press_key", "press_key_combination",
	"get_cursor_position", "screenshot", "launch_application", "open_file", "write_file", "read_file", "run_command"}

var stepArgs = map[string]any{"click": &ClickArgs{}, "move_mouse": &PointArgs{}, "drag": &DragArgs{}, "scroll": &ScrollArgs{},
	"type_text": &TypeArgs{}, "press_key": &KeyArgs{}, "press_key_combination": &KeysArgs{}, "get_cursor_position": &SandboxRef{},
	"screenshot": &ScreenshotArgs{}, "launch_application": &LaunchArgs{}, "open_file": &OpenArgs{}, "write_file": &WriteFileArgs{},
	"read_file": &ReadFileArgs{}, "run_command": &RunArgs{}}

// Step is one run_actions step: {"action": tool name, ...that tool's arguments}.
type Step map[string]json.RawMessage

// stepSchema names the step tools and their arguments in one line (each
// step is checked against its own tool's schema when it runs): the step
// tools' schemas are listed with --toolsets all, not in every call's
// tools/list.
var stepSchema *jsonschema.Schema

// JSONSchema is the step schema.
func (Step) JSONSchema() *jsonschema.Schema { return stepSchema }

// stepSignature is "click(x, y, button?, double?)": the tool's arguments
// but sandbox_id, optional ones marked.
func stepSignature(name string) string {
	s := toolkit.Reflector.Reflect(stepArgs[name])
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	var args []string
	for p := s.Properties.Oldest(); p != nil; p = p.Next() {
		switch {
		case p.Key == "sandbox_id":
		case req[p.Key]:
			args = append(args, p.Key)
		default:
			args = append(args, p.Key+"?")
		}
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

func init() {
	enum := []any{"wait"}
	sigs := []string{"wait(seconds: 0-60)"}
	for _, n := range stepTools {
		enum = append(enum, n)
		sigs = append(sigs, stepSignature(n))
	}
	props := jsonschema.NewProperties()
	props.Set("action", &jsonschema.Schema{Type: "string", Enum: enum})
	stepSchema = &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"action"},
		Description: "{\"action\": TOOL, ...its arguments (no sandbox_id)}: " + strings.Join(sigs, "; ") +
			". E.g. {\"action\": \"click\", \"x\": 10, \"y\": 20}."}
}

// RunActionsArgs are run_actions's arguments.
type RunActionsArgs struct {
	SandboxRef
	Steps           []Step `json:"steps" jsonschema:"minItems=1" jsonschema_description:"Run in order until one fails."`
	ScreenshotAfter *bool  `json:"screenshot_after,omitempty" jsonschema:"default=true" jsonschema_description:"End with a screenshot."`
	SettleArg
}

// maxSteps bounds run_actions (Options.MaxSteps may lower it).
const maxSteps = 200

// JSONSchemaExtend declares the bound where it is defined.
func (RunActionsArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	n := uint64(maxSteps)
	toolkit.Property(s, "steps").MaxItems = &n
}

// StepResult is the outcome of one step.
type StepResult struct {
	Index  int            `json:"index"`
	Action string         `json:"action"`
	OK     bool           `json:"ok"`
	Result any            `json:"result,omitempty" jsonschema_description:"The step tool's structured result."`
	Error  map[string]any `json:"error,omitempty" jsonschema_description:"{error_code, message, details} of the failed step."`

	text string // the step tool's text block
}

// RunActionsResult is run_actions's structured content.
type RunActionsResult struct {
	Results         []StepResult `json:"results"`
	StoppedAt       *int         `json:"stopped_at" jsonschema:"nullable" jsonschema_description:"Index of the first failed step, or null when every step succeeded."`
	Completed       int          `json:"completed" jsonschema_description:"Steps that succeeded."`
	FinalScreenshot *ImageInfo   `json:"final_screenshot,omitempty"`
	Waited

	images []mcp.Content
}

// stepTextBytes bounds what one step adds to run_actions' text (the end
// of it: a command's last lines, a file's last lines).
const stepTextBytes = 2000

// Text says every step's result, the way its own tool says it (bounded),
// then how the run ended.
func (r RunActionsResult) Text() string {
	var b strings.Builder
	for _, st := range r.Results {
		t := st.text
		if st.Error != nil {
			t = fmt.Sprintf("%v: %v", st.Error["error_code"], st.Error["message"])
		} else if t == "" {
			t = "ok"
		}
		fmt.Fprintf(&b, "step %d %s: %s\n", st.Index, st.Action, tail(t, stepTextBytes))
	}
	if r.StoppedAt != nil {
		fmt.Fprintf(&b, "stopped at step %d; %d of the steps before it done", *r.StoppedAt, r.Completed)
	} else {
		fmt.Fprintf(&b, "all %d steps done", r.Completed)
	}
	if f := r.FinalScreenshot; f != nil {
		fmt.Fprintf(&b, "; final screenshot %dx%d%s", f.Width, f.Height, r.Waited.text())
	}
	return b.String()
}

// tail keeps the last n bytes of s (on a character boundary), saying how
// much went before.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return fmt.Sprintf("[%d bytes before] ", cut) + s[cut:]
}

// Content carries step and final screenshots.
func (r RunActionsResult) Content() []mcp.Content { return r.images }

// maxRunImageBytes bounds the (base64) images of one run_actions answer.
const maxRunImageBytes = 64 << 20

func (tb *Toolbox) runSteps(ctx context.Context, a *RunActionsArgs) (RunActionsResult, error) {
	if len(a.Steps) == 0 || len(a.Steps) > tb.opts.MaxSteps {
		return RunActionsResult{}, sandbox.InvalidArgument("steps", "steps must hold 1 to %d steps, got %d", tb.opts.MaxSteps, len(a.Steps)).
			WithDetail("max", tb.opts.MaxSteps)
	}
	sb, err := tb.Sandbox(ctx, a.SandboxID)
	if err != nil {
		return RunActionsResult{}, err
	}
	allowed := map[string]bool{}
	for _, n := range stepTools {
		allowed[n] = true
	}
	out := RunActionsResult{Results: make([]StepResult, 0, len(a.Steps))}
	imageBytes := 0 // base64 of the step images kept so far
	fail := func(i int, action string, err error) {
		out.Results = append(out.Results, StepResult{Index: i, Action: action, Error: sandbox.AsError(err).ToDict()})
		out.StoppedAt = &i
	}
	for i, st := range a.Steps {
		if ctx.Err() != nil {
			fail(i, "", sandbox.AsError(ctx.Err()))
			break
		}
		var action string
		if err := json.Unmarshal(st["action"], &action); err != nil || action == "" {
			fail(i, action, sandbox.InvalidArgument(fmt.Sprintf("steps.%d.action", i), "step %d has no action", i))
			break
		}
		toolkit.Progress(ctx, float64(i), float64(len(a.Steps)), fmt.Sprintf("step %d: %s", i, action))
		if action == "wait" {
			var secs float64
			if raw, ok := st["seconds"]; ok {
				if err := json.Unmarshal(raw, &secs); err != nil || secs < 0 || secs > 60 {
					fail(i, action, sandbox.InvalidArgument(fmt.Sprintf("steps.%d.seconds", i), "wait seconds must be 0-60"))
					break
				}
			}
			if len(st) > 2 || (len(st) == 2 && st["seconds"] == nil) {
				fail(i, action, sandbox.InvalidArgument(fmt.Sprintf("steps.%d", i), "a wait step takes only seconds"))
				break
			}
			if err := sandbox.Sleep(ctx, time.Duration(secs*float64(time.Second))); err != nil {
				fail(i, action, err)
				break
			}
			out.Results = append(out.Results, StepResult{Index: i, Action: action, OK: true})
			out.Completed++
			continue
		}
		t := tb.byName[action]
		if t == nil || !allowed[action] {
			names := append([]string{"wait"}, stepTools...)
			sort.Strings(names)
			fail(i, action, sandbox.InvalidArgument(fmt.Sprintf("steps.%d.action", i), "step %d: unknown action %q (one of %s)", i, action, strings.Join(names, ", ")))
			break
		}
		args := map[string]json.RawMessage{}
		for k, v := range st {
			if k != "action" {
				args[k] = v
			}
		}
		args["sandbox_id"], _ = json.Marshal(sb.ID())
		raw, _ := json.Marshal(args)
		r := t.Call(ctx, raw)
		if r.IsError {
			se, _ := r.StructuredContent.(map[string]any)
			out.Results = append(out.Results, StepResult{Index: i, Action: action, Error: se})
			out.StoppedAt = &i
			break
		}
		var stepImages []mcp.Content
		for _, c := range r.Content {
			if img, isImg := c.(mcp.ImageContent); isImg {
				stepImages = append(stepImages, c)
				imageBytes += len(img.Data)
			}
		}
		// Every step's image is kept for the answer: bound their sum, or
		// 200 full-size screenshots of a busy 4K screen make gigabytes.
		if imageBytes > maxRunImageBytes {
			fail(i, action, sandbox.InvalidArgument(fmt.Sprintf("steps.%d", i),
				"the run's screenshots passed %d MiB: take fewer, smaller (scale_to, region) or JPEG ones", maxRunImageBytes>>20).
				WithDetail("max_bytes", maxRunImageBytes))
			break
		}
		var stepText string
		if len(r.Content) > 0 {
			if tc, isText := r.Content[0].(mcp.TextContent); isText {
				stepText = tc.Text
			}
		}
		out.Results = append(out.Results, StepResult{Index: i, Action: action, OK: true, Result: r.StructuredContent, text: stepText})
		out.Completed++
		out.images = append(out.images, stepImages...)
	}
	toolkit.Progress(ctx, float64(len(a.Steps)), float64(len(a.Steps)), "done")
	if a.ScreenshotAfter == nil || *a.ScreenshotAfter {
		ctx := context.WithoutCancel(ctx)
		if out.Waited, err = settle(ctx, sb, a.on()); err != nil {
			return out, err
		}
		s, err := screenshotResult(ctx, sb, capture.Shot{})
		if err == nil {
			out.FinalScreenshot = &ImageInfo{Width: s.Width, Height: s.Height, Format: s.Format}
			out.images = append(out.images, s.Content()...)
		}
	}
	return out, nil
}

func computer(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "computer", Title: "Computer (Anthropic computer use)",
		Description: fmt.Sprintf("Drive the sandbox desktop like Anthropic's computer-use tool, one action per call. "+
			"Screenshots show the screen fitted within %s, aspect ratio kept (1280x800 shows as 1024x640); "+
			"coordinates are pixels of that image (display_width x display_height). "+
			"After an action it waits for the screen to be still (100 ms, at most 3 s) and answers with a screenshot.", tb.opts.ComputerSize),
		Hints: inputHints},
		tb.useComputer)
}

func runActions(tb *Toolbox) *Tool {
	return toolkit.Define(tb.Env, toolkit.Spec{Name: "run_actions", Title: "Run actions",
		Description: "Run steps on one sandbox in one call, in order, until one fails: each step is a tool with its arguments, or wait. " +
			"The answer says each step's result (the end of long output) and ends with a screenshot once the screen is still.",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: true}},
		tb.runSteps)
}
