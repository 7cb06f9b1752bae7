package atspi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/vmservice/vmservice/sandbox"
)

// maxRefs bounds the reference table: beyond it, it starts over (numbers
// keep growing, so an old reference is never taken for a new element).
const maxRefs = 50000

// Driver is one connection to a desktop's accessibility bus and the
// references handed out on it. A reference (e12) names one element for as
// long as the element lives: snapshots and searches reuse it for the same
// element, and a reference of a gone element fails with "take a new
// snapshot". Methods are safe for concurrent use (they run one at a time).
type Driver struct {
	mu   sync.Mutex
	conn *dbus.Conn
	refs map[objRef]int
	objs map[int]objRef
	next int
}

// NewDriver makes a driver; it connects on first use.
func NewDriver() *Driver {
	return &Driver{refs: map[objRef]int{}, objs: map[int]objRef{}}
}

// Close closes the bus connection.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		err := d.conn.Close()
		d.conn = nil
		return err
	}
	return nil
}

func (d *Driver) bus(ctx context.Context) (*dbus.Conn, error) {
	if d.conn != nil && d.conn.Connected() {
		return d.conn, nil
	}
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	d.conn = c
	return c, nil
}

func (d *Driver) refOf(r objRef) string {
	n, ok := d.refs[r]
	if !ok {
		if len(d.refs) >= maxRefs {
			d.refs, d.objs = map[objRef]int{}, map[int]objRef{}
		}
		d.next++
		n = d.next
		d.refs[r], d.objs[n] = n, r
	}
	return "e" + strconv.Itoa(n)
}

// scope is what a query covers: the applications and their windows, read.
type scope struct {
	apps    []*app
	wins    []*node
	noA11y  []sandbox.A11yWindow
	busy    []*app // applications that did not answer
	walker  *walker
	started time.Time
}

// load reads the applications and their top-level windows and picks those
// the query covers.
func (d *Driver) load(ctx context.Context, q sandbox.A11yQuery, wantBounds bool) (*scope, error) {
	c, err := d.bus(ctx)
	if err != nil {
		return nil, err
	}
	sc := &scope{walker: &walker{c: c, ctx: ctx, wantBounds: wantBounds}, started: time.Now()}
	var appRefs []objRef
	b := newBatch(c)
	var rootErr error
	b.add(objRef{registryName, rootPath}, ifAccessible+".GetChildren", func(call *dbus.Call) {
		if rootErr = call.Err; rootErr == nil {
			rootErr = call.Store(&appRefs)
		}
	})
	b.run(ctx, 30*time.Second) // the registry may be starting
	if rootErr != nil {
		d.conn.Close()
		d.conn = nil
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox's accessibility registry does not answer").WithCause(rootErr)
	}
	for _, r := range appRefs {
		if !r.null() {
			sc.apps = append(sc.apps, &app{ref: r})
		}
	}
	// Each application's name, process and windows, in one wave.
	appNodes := make([]*node, len(sc.apps))
	for i, a := range sc.apps {
		a := a
		b.prop(a.ref, ifAccessible, "Name", func(v dbus.Variant, err error) {
			if err == nil {
				a.name, _ = v.Value().(string)
			}
		})
		b.add(objRef{"org.freedesktop.DBus", "/org/freedesktop/DBus"}, "org.freedesktop.DBus.GetConnectionUnixProcessID", func(call *dbus.Call) {
			var pid uint32
			if call.Err == nil && call.Store(&pid) == nil {
				a.pid = int(pid)
			}
		}, a.ref.Name)
		appNodes[i] = &node{ref: a.ref, app: a, topLevel: true}
		b.add(a.ref, ifAccessible+".GetChildren", func(call *dbus.Call) {
			var kids []objRef
			a.busy = errors.Is(call.Err, errTimeout)
			if call.Err == nil && call.Store(&kids) == nil {
				if len(kids) > maxChildren {
					kids = kids[:maxChildren]
				}
				appNodes[i].children = kids
			}
		})
	}
	b.run(ctx, waveWait)
	var all []*node
	for i, a := range sc.apps {
		for _, k := range appNodes[i].children {
			if k.null() {
				continue
			}
			wn := &node{ref: k, app: a, topLevel: true}
			wn.window = wn
			a.wins = append(a.wins, wn)
			all = append(all, wn)
		}
	}
	sc.walker.fetch(all)
	for _, w := range all {
		if w.failed {
			w.app.busy = true
		}
	}

	// Match the display's windows to applications by process id.
	byPID := map[int][]*app{}
	for _, a := range sc.apps {
		if a.pid > 0 {
			byPID[a.pid] = append(byPID[a.pid], a)
		}
	}
	appFilter := strings.ToLower(strings.TrimSpace(q.App))
	matchApp := func(a *app) bool {
		if appFilter == "" || strings.Contains(strings.ToLower(a.name), appFilter) {
			return true
		}
		for _, w := range q.Windows {
			if w.PID == a.pid && w.PID > 0 && strings.Contains(strings.ToLower(w.Class), appFilter) {
				return true
			}
		}
		return false
	}
	if q.Window != 0 {
		var xw *sandbox.A11yWindow
		for i := range q.Windows {
			if q.Windows[i].ID == q.Window {
				xw = &q.Windows[i]
			}
		}
		if xw == nil {
			return nil, sandbox.InvalidArgument("window_id", "no top-level window %d on the display (list them with get_application_windows)", q.Window).
				WithDetail("window_id", uint32(q.Window))
		}
		w := pickWindow(byPID[xw.PID], xw)
		if w == nil {
			for _, a := range byPID[xw.PID] {
				if a.busy {
					return nil, notResponding(a)
				}
			}
			return nil, noAccessibility(*xw)
		}
		sc.wins = []*node{w}
		return sc, nil
	}
	for _, a := range sc.apps {
		if !matchApp(a) {
			continue
		}
		if a.busy {
			sc.busy = append(sc.busy, a)
		}
		for _, w := range a.wins {
			if !w.drop && w.states.has(stShowing) {
				sc.wins = append(sc.wins, w)
			}
		}
	}
	for _, xw := range q.Windows {
		if len(byPID[xw.PID]) > 0 {
			continue
		}
		if appFilter != "" && !strings.Contains(strings.ToLower(xw.Class+" "+xw.Title), appFilter) {
			continue
		}
		sc.noA11y = append(sc.noA11y, xw)
	}
	if appFilter != "" && len(sc.wins) == 0 && len(sc.noA11y) == 0 && len(sc.busy) == 0 {
		return nil, sandbox.InvalidArgument("app", "no application %q has a window on the desktop", q.App).WithDetail("app", q.App)
	}
	return sc, nil
}

// pickWindow finds the accessible window of a display window: the one
// with its title, else the active one, else the only one showing.
func pickWindow(apps []*app, xw *sandbox.A11yWindow) *node {
	var showing, active []*node
	for _, a := range apps {
		for _, w := range a.wins {
			if w.drop {
				continue
			}
			if w.name == xw.Title && xw.Title != "" {
				return w
			}
			if w.states.has(stShowing) {
				showing = append(showing, w)
				if w.states.has(stActive) {
					active = append(active, w)
				}
			}
		}
	}
	if len(active) == 1 {
		return active[0]
	}
	if len(showing) >= 1 {
		return showing[0]
	}
	return nil
}

func notResponding(a *app) *sandbox.Error {
	return sandbox.Errorf(sandbox.CodeTimeout, "%s does not answer on the accessibility bus: %s", quote(a.name), notRespondingWhy).
		WithDetail("reason", "not_responding")
}

const notRespondingWhy = "it is busy, or stuck in a modal dialog it opened from an accessibility action (click such elements with the pointer); use screenshots until it answers"

func noAccessibility(w sandbox.A11yWindow) *sandbox.Error {
	what := w.Class
	if what == "" {
		what = w.Title
	}
	return sandbox.InvalidArgument("window_id",
		"window %d (%s) has no accessibility tree: its application does not publish one (e.g. xterm, or an app started without accessibility); use screenshot and the pointer for it",
		w.ID, what).WithDetail("window_id", uint32(w.ID)).WithDetail("reason", "no_accessibility")
}

// read checks a query and reads the tree it covers (d.mu held).
func (d *Driver) read(ctx context.Context, q sandbox.A11yQuery) (*scope, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	sc, err := d.load(ctx, q, true)
	if err != nil {
		return nil, err
	}
	sc.walker.walk(sc.wins, q.MaxDepth)
	return sc, nil
}

// Snapshot renders the tree the query covers.
func (d *Driver) Snapshot(ctx context.Context, q sandbox.A11yQuery) (*sandbox.A11ySnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sc, err := d.read(ctx, q)
	if err != nil {
		return nil, err
	}
	snap := d.render(sc, q)
	snap.Took, snap.Nodes = time.Since(sc.started), sc.walker.visited
	return snap, nil
}

func checkQuery(q sandbox.A11yQuery) error {
	switch {
	case q.MaxDepth < 0 || q.MaxDepth > sandbox.A11yMaxDepth:
		return sandbox.InvalidArgument("max_depth", "max_depth must be between 0 and %d", sandbox.A11yMaxDepth)
	case q.MaxBytes < 0 || q.MaxBytes > sandbox.A11yMaxBytes:
		return sandbox.InvalidArgument("max_bytes", "max_bytes must be between 0 and %d", sandbox.A11yMaxBytes)
	case q.Limit < 0 || q.Limit > sandbox.A11yMaxLimit:
		return sandbox.InvalidArgument("limit", "limit must be between 0 and %d", sandbox.A11yMaxLimit)
	}
	return nil
}

// Find lists the elements (showing, in the query's scope) whose role and
// name match.
func (d *Driver) Find(ctx context.Context, q sandbox.A11yQuery) ([]sandbox.A11yElement, error) {
	if strings.TrimSpace(q.Role) == "" && strings.TrimSpace(q.Name) == "" {
		return nil, sandbox.InvalidArgument("role", "give a role, a name or both")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	sc, err := d.read(ctx, q)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = sandbox.A11yDefaultLimit
	}
	name := strings.ToLower(strings.TrimSpace(q.Name))
	out := []sandbox.A11yElement{}
	var visit func(n *node)
	visit = func(n *node) {
		if n.drop || len(out) >= limit {
			return
		}
		if roleMatches(n.role, q.Role) && (name == "" || strings.Contains(strings.ToLower(n.label()), name)) &&
			(!q.Interactive || n.interactive() || n.topLevel) {
			out = append(out, d.element(n))
		}
		for _, k := range n.kids {
			visit(k)
		}
	}
	for _, w := range sc.wins {
		visit(w)
	}
	return out, nil
}

// element is the structured form of a node (and gives it a reference).
func (d *Driver) element(n *node) sandbox.A11yElement {
	e := sandbox.A11yElement{Ref: d.refOf(n.ref), Role: n.role, Name: n.label(), Value: n.value, States: stateWords(n, true), Actions: n.actions}
	if n.ext != nil && n.ext[2] > 0 && n.ext[3] > 0 {
		e.Bounds = &sandbox.A11yRect{X: int(n.ext[0]), Y: int(n.ext[1]), W: int(n.ext[2]), H: int(n.ext[3])}
	}
	if n.window != nil {
		e.Window = n.window.name
	}
	return e
}

// resolve finds the object of a reference and reads it afresh.
func (d *Driver) resolve(ctx context.Context, ref string) (*node, error) {
	num, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(ref), "e"))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(ref), "e") {
		return nil, sandbox.InvalidArgument("ref", "%q is not an element reference (they look like e12, from a snapshot or a search)", ref)
	}
	o, ok := d.objs[num]
	if !ok {
		return nil, staleRef(ref)
	}
	c, err := d.bus(ctx)
	if err != nil {
		return nil, err
	}
	n := &node{ref: o, topLevel: true}
	w := &walker{c: c, ctx: ctx, wantBounds: true}
	w.fetch([]*node{n})
	if n.failed || n.states.has(stDefunct) || n.role == "" {
		delete(d.objs, num)
		delete(d.refs, o)
		return nil, staleRef(ref)
	}
	return n, nil
}

func staleRef(ref string) *sandbox.Error {
	return sandbox.InvalidArgument("ref", "element %s no longer exists (or is from before a restart): take a new snapshot", ref).
		WithDetail("ref", ref)
}

// call makes one method call on an element.
func (d *Driver) call(ctx context.Context, n *node, method string, args ...any) (*dbus.Call, error) {
	ctx, cancel := context.WithTimeout(ctx, waveWait)
	defer cancel()
	iface, m := splitMethod(method)
	c := d.conn.Object(n.ref.Name, n.ref.Path).CallWithContext(ctx, iface+"."+m, 0, args...)
	if c.Err != nil {
		var de dbus.Error
		if errors.As(c.Err, &de) && (strings.HasSuffix(de.Name, "UnknownObject") || strings.HasSuffix(de.Name, "ServiceUnknown") ||
			strings.HasSuffix(de.Name, "UnknownMethod")) {
			return nil, sandbox.InvalidArgument("ref", "the element cannot do that (%s): take a new snapshot if it changed", m)
		}
		return nil, sandbox.Errorf(sandbox.CodeTimeout, "the application did not answer (%s)", m).WithCause(c.Err)
	}
	return c, nil
}

// ok reads a boolean reply: false means the application refused.
func ok(c *dbus.Call) bool {
	var b bool
	return c.Store(&b) == nil && b
}

// Act acts on a reference.
func (d *Driver) Act(ctx context.Context, a sandbox.A11yAction) (*sandbox.A11yActResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.resolve(ctx, a.Ref)
	if err != nil {
		return nil, err
	}
	desc := func() string { return fmt.Sprintf("%s (%s %q)", a.Ref, n.role, n.label()) }
	if !n.states.has(stVisible) && !n.states.has(stShowing) {
		return nil, sandbox.InvalidArgument("ref", "%s is not on the screen any more (its window closed, or it is hidden): take a new snapshot", desc()).
			WithDetail("ref", a.Ref)
	}
	res := &sandbox.A11yActResult{}
	onScreen := d.onScreen(ctx, n)
	if !onScreen && n.ifaces[ifComponent] && (a.Action == sandbox.A11yClick || a.Action == "") && a.Via != "action" {
		// A page's element out of view: scroll it in (Chromium answers
		// ScrollTo without scrolling; focusing scrolls too), wait for the
		// page to move, then use the pointer.
		if c, err := d.call(ctx, n, ifComponent+".ScrollTo", uint32(scrollAnywhere)); err == nil && ok(c) {
			n, onScreen = d.awaitOnScreen(ctx, a.Ref, n, time.Second)
		}
		if !onScreen && n.states.has(stFocusable) && d.focus(ctx, n) {
			n, onScreen = d.awaitOnScreen(ctx, a.Ref, n, 2*time.Second)
		}
	}
	center := func() (*sandbox.Point, error) {
		if !onScreen {
			return nil, sandbox.InvalidArgument("ref", "%s is not on the screen, so it cannot be clicked with the pointer", desc())
		}
		p := sandbox.A11yRect{X: int(n.ext[0]), Y: int(n.ext[1]), W: int(n.ext[2]), H: int(n.ext[3])}.Center()
		return &p, nil
	}
	switch a.Action {
	case sandbox.A11yClick, "":
		idx := defaultAction(n.actions)
		switch {
		case a.Via != "" && a.Via != "pointer" && a.Via != "action":
			return nil, sandbox.InvalidArgument("via", "via is pointer, action, or empty (the pointer when the element is on the screen)")
		case a.Via == "pointer" || (a.Via == "" && (onScreen || idx < 0)):
			if res.Click, err = center(); err != nil {
				return nil, err
			}
			res.Done = "pointer"
		case idx < 0:
			return nil, sandbox.InvalidArgument("ref", "%s has no action", desc())
		default:
			c, err := d.call(ctx, n, ifAction+".DoAction", int32(idx))
			if err != nil {
				return nil, err
			}
			if !ok(c) {
				return nil, sandbox.InvalidArgument("ref", "%s refused its %q action", desc(), n.actions[idx])
			}
			res.Done = "action:" + n.actions[idx]
		}
	case sandbox.A11ySetText:
		if !(n.states.has(stEditable) || editableRoles[n.role] && n.ifaces[ifText]) || n.states.has(stReadOnly) {
			return nil, sandbox.InvalidArgument("ref", "%s is not editable text", desc())
		}
		// Browsers make a field's editor when it gets the focus; the
		// keyboard needs it too.
		focused := d.focus(ctx, n)
		if n.ifaces[ifEditableText] && d.setText(ctx, n, a.Text) {
			res.Done = "set_text"
			break
		}
		// No EditableText (Chromium), or the text did not take: select
		// what is there and type over it.
		res.Done = "keyboard"
		if !focused {
			if res.Click, err = center(); err != nil {
				return nil, sandbox.InvalidArgument("ref", "%s cannot take the focus", desc())
			}
		}
		if n.value != "" {
			res.Keys = []string{"ctrl+a"}
			if a.Text == "" {
				res.Keys = append(res.Keys, "BackSpace")
			}
		}
		res.Type = a.Text
	case sandbox.A11yType, sandbox.A11yFocus:
		res.Done = "focus"
		if !d.focus(ctx, n) {
			if res.Click, err = center(); err != nil {
				return nil, sandbox.InvalidArgument("ref", "%s cannot take the focus", desc())
			}
			res.Done = "pointer"
		}
		if a.Action == sandbox.A11yType {
			if a.Text == "" {
				return nil, sandbox.InvalidArgument("text", "type needs the text to type")
			}
			res.Type = a.Text
			res.Done += "+keyboard"
		}
	case sandbox.A11yAwaitText:
		d.awaitText(ctx, n, a.Text, 5*time.Second)
		res.Done = "await_text"
	case sandbox.A11ySelect:
		if err := d.selectNode(ctx, n, a.Text, desc); err != nil {
			return nil, err
		}
		res.Done = "select"
	default:
		return nil, sandbox.InvalidArgument("action", "unknown action %q; one of click, set_text, type, focus, select", a.Action)
	}
	// The element as it is now (a set text shows its new value).
	if now, err := d.resolve(ctx, a.Ref); err == nil {
		n = now
	}
	res.Element = d.element(n)
	return res, nil
}

// focus gives the element the keyboard focus and waits until it has it:
// a browser moves the focus a moment later (in its page's process), and
// keys typed before would go to the element that had it.
func (d *Driver) focus(ctx context.Context, n *node) bool {
	if !n.ifaces[ifComponent] {
		return false
	}
	if c, err := d.call(ctx, n, ifComponent+".GrabFocus"); err != nil || !ok(c) {
		return false
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		var st []uint32
		if c, err := d.call(ctx, n, ifAccessible+".GetState"); err == nil && c.Store(&st) == nil && statesOf(st).has(stFocused) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setText replaces the text of an editable element and says whether it
// reads back (a browser applies it a moment later, from another process).
func (d *Driver) setText(ctx context.Context, n *node, text string) bool {
	c, err := d.call(ctx, n, ifEditableText+".SetTextContents", text)
	if err != nil || !ok(c) {
		return false
	}
	return d.awaitText(ctx, n, text, time.Second)
}

// awaitText waits until the element's text contains text (input reaches
// an application a moment after it was sent) and says whether it did.
func (d *Driver) awaitText(ctx context.Context, n *node, text string, wait time.Duration) bool {
	want := clean(text, maxTextRunes)
	want = strings.TrimSuffix(want, "…")
	deadline := time.Now().Add(wait)
	for {
		w := &walker{c: d.conn, ctx: ctx}
		probe := &node{ref: n.ref, topLevel: true}
		w.fetch([]*node{probe})
		if strings.Contains(probe.value+probe.text, want) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitOnScreen reads the element again until it is on the screen, for at
// most wait; it returns the element as last read.
func (d *Driver) awaitOnScreen(ctx context.Context, ref string, n *node, wait time.Duration) (*node, bool) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		if now, err := d.resolve(ctx, ref); err == nil {
			n = now
			if d.onScreen(ctx, n) {
				return n, true
			}
		}
	}
	return n, false
}

// scrollAnywhere is ATSPI_SCROLL_ANYWHERE.
const scrollAnywhere = 4

// onScreen says whether the element's centre is on the screen (the
// desktop's extents) and the element showing.
func (d *Driver) onScreen(ctx context.Context, n *node) bool {
	if n.ext == nil || n.ext[2] <= 0 || n.ext[3] <= 0 || !n.states.has(stShowing) || !n.states.has(stVisible) {
		return false
	}
	desk := &node{ref: objRef{registryName, rootPath}}
	b := newBatch(d.conn)
	b.add(desk.ref, ifComponent+".GetExtents", func(c *dbus.Call) {
		var s struct{ X, Y, W, H int32 }
		if c.Err == nil && c.Store(&s) == nil {
			desk.ext = &[4]int32{s.X, s.Y, s.W, s.H}
		}
	}, uint32(0))
	b.run(ctx, waveWait)
	p := sandbox.A11yRect{X: int(n.ext[0]), Y: int(n.ext[1]), W: int(n.ext[2]), H: int(n.ext[3])}.Center()
	if desk.ext == nil || desk.ext[2] <= 0 {
		return p.X >= 0 && p.Y >= 0
	}
	return p.X >= int(desk.ext[0]) && p.Y >= int(desk.ext[1]) && p.X < int(desk.ext[0]+desk.ext[2]) && p.Y < int(desk.ext[1]+desk.ext[3])
}

// defaultAction picks the action that clicks: by name, else the first
// (browsers name theirs oddly or not at all), unless it is Firefox's
// "click ancestor".
func defaultAction(actions []string) int {
	for _, want := range []string{"click", "press", "activate", "jump", "toggle", "check", "uncheck", "open", "select", "expand or contract"} {
		for i, a := range actions {
			if a == want {
				return i
			}
		}
	}
	if len(actions) > 0 && !strings.Contains(actions[0], "ancestor") {
		return 0
	}
	return -1
}

// selectNode selects n in its container (its parent's Selection), or, with
// option, the descendant of n named option (a combo box's entry).
func (d *Driver) selectNode(ctx context.Context, n *node, option string, desc func() string) error {
	target := n
	if option != "" {
		found, err := d.findOption(ctx, n, option)
		if err != nil {
			return err
		}
		if found == nil {
			return sandbox.InvalidArgument("text", "%s has no option %q", desc(), option)
		}
		target = found
	}
	var parent objRef
	pc, err := d.call(ctx, target, ifProperties+".Get", ifAccessible, "Parent")
	if err != nil {
		return err
	}
	var v dbus.Variant
	if pc.Store(&v) == nil {
		if f, isStruct := v.Value().([]any); isStruct && len(f) == 2 {
			parent.Name, _ = f[0].(string)
			parent.Path, _ = f[1].(dbus.ObjectPath)
		}
	}
	ic, err := d.call(ctx, target, ifAccessible+".GetIndexInParent")
	if err != nil {
		return err
	}
	var idx int32
	if err := ic.Store(&idx); err != nil || parent.null() {
		return sandbox.InvalidArgument("ref", "%s is not in a list one can select in", desc())
	}
	pn := &node{ref: parent, topLevel: true}
	(&walker{c: d.conn, ctx: ctx}).fetch([]*node{pn})
	if pn.ifaces[ifSelection] {
		if c, err := d.call(ctx, pn, ifSelection+".SelectChild", idx); err == nil && ok(c) {
			return nil
		}
	}
	// No selection container (or it refused): the option's own action
	// (Chromium's options have one, without a name).
	i := defaultAction(target.actions)
	if i < 0 && len(target.actions) > 0 {
		i = 0
	}
	if i >= 0 {
		if c, err := d.call(ctx, target, ifAction+".DoAction", int32(i)); err == nil && ok(c) {
			return nil
		}
	}
	return sandbox.InvalidArgument("ref", "%s cannot be selected", desc())
}

// findOption looks for a descendant of n (a few levels down, showing or
// not: a closed list's options) named option, exactly, else containing it.
func (d *Driver) findOption(ctx context.Context, n *node, option string) (*node, error) {
	w := &walker{c: d.conn, ctx: ctx}
	want := strings.ToLower(strings.TrimSpace(option))
	var exact, partial *node
	level := []*node{n}
	for depth := 0; depth < 3 && len(level) > 0 && exact == nil; depth++ {
		var next []*node
		for _, p := range level {
			for _, k := range p.children {
				if !k.null() && len(next) < maxChildren {
					next = append(next, &node{ref: k, parent: p, topLevel: true})
				}
			}
		}
		w.fetch(next)
		for _, k := range next {
			l := strings.ToLower(k.label())
			if l == want && exact == nil {
				exact = k
			} else if strings.Contains(l, want) && partial == nil {
				partial = k
			}
		}
		level = next
	}
	if exact != nil {
		return exact, nil
	}
	return partial, nil
}

// stateWords are the states worth showing. all adds the ones the role
// implies (for the structured form).
func stateWords(n *node, all bool) []string {
	s := n.states
	var out []string
	add := func(cond bool, w string) {
		if cond {
			out = append(out, w)
		}
	}
	inter := n.interactive()
	add(s.has(stFocused), "focused")
	add(s.has(stChecked), "checked")
	add(s.has(stIndeterminate), "mixed")
	add(s.has(stPressed), "pressed")
	add(s.has(stSelected) && (inter || all), "selected")
	add(s.has(stExpandable) && s.has(stExpanded), "expanded")
	add(s.has(stExpandable) && !s.has(stExpanded) && n.role != "menu" && (n.role != "combobox"), "collapsed")
	add(inter && !(s.has(stEnabled) || s.has(stSensitive)), "disabled")
	add(s.has(stRequired), "required")
	add(s.has(stInvalidEntry), "invalid")
	add(s.has(stReadOnly) && editableRoles[n.role], "readonly")
	add(s.has(stModal) && windowRoles[n.role], "modal")
	add(s.has(stActive) && n.topLevel && windowRoles[n.role], "active")
	add(inter && !s.has(stShowing) && !n.topLevel, "offscreen")
	add(all && s.has(stEditable), "editable")
	add(all && s.has(stFocusable), "focusable")
	add(all && s.has(stCheckable), "checkable")
	add(all && s.has(stMultiLine), "multiline")
	return out
}
