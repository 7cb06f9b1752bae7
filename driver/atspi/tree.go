package atspi

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/godbus/dbus/v5"
)

// Bounds of one walk: a hostile or huge application cannot make a
// snapshot endless.
const (
	maxNodes     = 20000
	maxChildren  = 1000
	maxTextRunes = 200 // text read per element
	waveWait     = 4 * time.Second
)

// node is one accessible object as read in a walk.
type node struct {
	ref      objRef
	role     string // short role
	name     string
	text     string // Text content (non-editable elements without a name), or an editable's value
	value    string
	states   states
	ifaces   map[string]bool
	actions  []string
	ext      *[4]int32
	kids     []*node
	children []objRef
	parent   *node
	depth    int    // below the window
	window   *node  // the top-level window it belongs to
	app      *app   // its application
	labelBy  objRef // the label naming it (LABELLED_BY), for an element without a name
	failed   bool   // did not answer
	drop     bool   // not showing, defunct, or failed
	topLevel bool
	inDoc    bool // inside a web page (document)
}

// app is one application registered on the bus.
type app struct {
	ref  objRef
	name string
	pid  int
	wins []*node
	busy bool // did not answer in time
}

// label is what the snapshot shows in quotes: the name, else the text,
// where each embedded object (a link in a paragraph) reads as its own
// label.
func (n *node) label() string {
	if n.name != "" {
		return n.name
	}
	if editableRoles[n.role] || n.text == "" {
		return ""
	}
	if !strings.ContainsRune(n.text, objChar) {
		return n.text
	}
	if !strings.ContainsFunc(n.text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return "" // only objects (a label around a field): they speak for themselves
	}
	var objs []*node // the children that are objects, not text leaves
	for _, k := range n.kids {
		if k.role != "text" {
			objs = append(objs, k)
		}
	}
	var b strings.Builder
	i := 0
	for _, r := range n.text {
		if r != objChar {
			b.WriteRune(r)
			continue
		}
		if i < len(objs) {
			b.WriteString(objs[i].label())
		}
		i++
	}
	return clean(b.String(), maxTextRunes)
}

// objChar stands in a text for an embedded child object.
const objChar = '\uFFFC'

// textEnd is how much text is read of an element.
const textEnd = 4 * maxTextRunes

func (n *node) wantsText() bool {
	return n.ifaces[ifText] && (n.name == "" || editableRoles[n.role]) && n.role != "password"
}

func (n *node) interactive() bool {
	if n.role == "separator" {
		return false
	}
	if interactiveRoles[n.role] || n.ifaces[ifEditableText] && n.states.has(stEditable) {
		return true
	}
	if n.states.has(stFocusable) && !windowRoles[n.role] && !structureRoles[n.role] && !layoutRoles[n.role] {
		return true
	}
	if n.states.has(stSelectable) && n.parent != nil && n.parent.ifaces[ifSelection] {
		return true
	}
	for _, a := range n.actions {
		switch a {
		case "click", "press", "activate", "jump", "toggle", "check", "uncheck", "open", "select", "expand or contract":
			return true
		}
	}
	return false
}

// walker reads a tree level by level: every call of a level is sent before
// any reply is awaited.
type walker struct {
	c       *dbus.Conn
	ctx     context.Context
	visited int
	seen    map[objRef]*node
	// full reads everything of every node (find); otherwise bounds, text
	// and actions are read only where the snapshot may show them.
	wantBounds bool
}

// fetch reads nodes completely: basics, then details, then the text a
// browser would not give at first (three round trips).
func (w *walker) fetch(nodes []*node) {
	b := newBatch(w.c)
	w.addBasics(b, nodes)
	b.run(w.ctx, waveWait)
	w.settle(nodes)
	w.addDetails(b, nodes)
	b.run(w.ctx, waveWait)
	w.addTextRetry(b, nodes)
	b.run(w.ctx, waveWait)
	finish(nodes)
}

// addBasics queues what decides whether a node is shown: role, name,
// states, interfaces, children.
func (w *walker) addBasics(b *batch, nodes []*node) {
	if w.seen == nil {
		w.seen = map[objRef]*node{}
	}
	for _, n := range nodes {
		w.visited++
		w.seen[n.ref] = n
		fail := func(c *dbus.Call) bool {
			if c.Err != nil {
				n.failed = true
				return true
			}
			return false
		}
		b.add(n.ref, ifAccessible+".GetRoleName", func(c *dbus.Call) {
			var s string
			if !fail(c) && c.Store(&s) == nil {
				n.role = shortRole(s)
			}
		})
		b.prop(n.ref, ifAccessible, "Name", func(v dbus.Variant, err error) {
			if err == nil {
				n.name, _ = v.Value().(string)
				n.name = clean(n.name, maxTextRunes)
			}
		})
		b.add(n.ref, ifAccessible+".GetState", func(c *dbus.Call) {
			var s []uint32
			if !fail(c) && c.Store(&s) == nil {
				n.states = statesOf(s)
			}
		})
		b.add(n.ref, ifAccessible+".GetInterfaces", func(c *dbus.Call) {
			var s []string
			if !fail(c) && c.Store(&s) == nil {
				n.ifaces = make(map[string]bool, len(s))
				for _, i := range s {
					n.ifaces[i] = true
				}
			}
		})
		b.add(n.ref, ifAccessible+".GetChildren", func(c *dbus.Call) {
			var kids []objRef
			if !fail(c) && c.Store(&kids) == nil {
				if len(kids) > maxChildren {
					kids = kids[:maxChildren]
				}
				n.children = kids
			}
		})
	}
}

// settle drops what is not shown: closed menus, hidden tabs, other pages.
// A web page's content scrolled out of view is still visible, and kept.
func (w *walker) settle(nodes []*node) {
	for _, n := range nodes {
		if n.failed || n.states.has(stDefunct) || (!n.states.has(stShowing) && !n.topLevel && !(n.inDoc && n.states.has(stVisible))) {
			n.drop = true
		}
	}
}

// addDetails queues what the snapshot shows of the nodes kept: bounds,
// text, value, actions, the label of a nameless field.
func (w *walker) addDetails(b *batch, nodes []*node) {
	for _, n := range nodes {
		if n.drop {
			continue
		}
		if n.ifaces[ifComponent] && w.wantBounds {
			b.add(n.ref, ifComponent+".GetExtents", func(c *dbus.Call) {
				var s struct{ X, Y, W, H int32 }
				if c.Err == nil && c.Store(&s) == nil {
					n.ext = &[4]int32{s.X, s.Y, s.W, s.H}
				}
			}, uint32(0))
		}
		if n.wantsText() {
			b.add(n.ref, ifText+".GetText", func(c *dbus.Call) {
				var s string
				if c.Err == nil && c.Store(&s) == nil {
					n.text = cleanText(s)
				}
			}, int32(0), int32(textEnd))
		}
		if n.ifaces[ifValue] {
			b.prop(n.ref, ifValue, "CurrentValue", func(v dbus.Variant, err error) {
				if f, ok := v.Value().(float64); ok && err == nil {
					n.value = strconv.FormatFloat(f, 'g', 6, 64)
				}
			})
		}
		if n.name == "" && (interactiveRoles[n.role] || n.ifaces[ifEditableText]) {
			b.add(n.ref, ifAccessible+".GetRelationSet", func(c *dbus.Call) {
				var rels []struct {
					Type    uint32
					Targets []objRef
				}
				if c.Err == nil && c.Store(&rels) == nil {
					for _, r := range rels {
						if r.Type == relLabelledBy && len(r.Targets) > 0 {
							n.labelBy = r.Targets[0]
						}
					}
				}
			})
		}
		if n.ifaces[ifAction] {
			b.add(n.ref, ifAction+".GetActions", func(c *dbus.Call) {
				var as []struct{ Name, Desc, Key string }
				if c.Err == nil && c.Store(&as) == nil {
					for _, a := range as {
						n.actions = append(n.actions, strings.ToLower(a.Name))
					}
				}
			})
		}
	}
}

// addTextRetry queues, for nodes whose text came back empty, a read to
// the end: Firefox answers nothing when the end asked for is past the
// text.
func (w *walker) addTextRetry(b *batch, nodes []*node) {
	for _, n := range nodes {
		if !n.drop && n.text == "" && n.wantsText() {
			b.add(n.ref, ifText+".GetText", func(c *dbus.Call) {
				var s string
				if c.Err == nil && c.Store(&s) == nil {
					n.text = cleanText(s)
				}
			}, int32(0), int32(-1))
		}
	}
}

// finish moves an editable's text to its value.
func finish(nodes []*node) {
	for _, n := range nodes {
		if editableRoles[n.role] && n.value == "" {
			n.value, n.text = n.text, ""
		}
	}
}

// relLabelledBy is ATSPI_RELATION_LABELLED_BY.
const relLabelledBy = 2

// nameFromLabels names elements without a name after their label, when
// the walk read it (a GTK entry and the label beside it).
func (w *walker) nameFromLabels() {
	for _, n := range w.seen {
		if n.name == "" && !n.labelBy.null() {
			if l, ok := w.seen[n.labelBy]; ok && l != n {
				n.name = strings.TrimSuffix(l.label(), ":")
			}
		}
	}
}

// comboValues gives a combo box without a value the name of its selected
// option, read from its (closed, so not showing) list.
func (w *walker) comboValues() {
	var combos []*node
	for _, n := range w.seen {
		if n.role == "combobox" && n.value == "" && !n.drop && len(combos) < 50 {
			combos = append(combos, n)
		}
	}
	for _, c := range combos {
		level := []*node{c}
		for depth := 0; depth < 2 && c.value == "" && len(level) > 0; depth++ {
			var next []*node
			for _, p := range level {
				for _, k := range p.children {
					if !k.null() && len(next) < 200 {
						next = append(next, &node{ref: k, topLevel: true})
					}
				}
			}
			w.fetch(next)
			for _, k := range next {
				if k.states.has(stSelected) && k.label() != "" {
					c.value = k.label()
					break
				}
			}
			level = next
		}
	}
}

// walk reads the subtrees under roots (already fetched), breadth first,
// down to maxDepth levels (0 = all). One round trip per level carries the
// level's basics with the previous level's details and text retries.
func (w *walker) walk(roots []*node, maxDepth int) {
	defer w.comboValues()
	defer w.nameFromLabels()
	level := roots
	var details, retries []*node
	for (len(level) > 0 || len(details) > 0 || len(retries) > 0) && w.ctx.Err() == nil {
		var next []*node
		for _, n := range level {
			if n.drop || (maxDepth > 0 && n.depth >= maxDepth) {
				continue
			}
			for _, k := range n.children {
				if k.null() || w.visited+len(next) >= maxNodes {
					continue
				}
				kid := &node{ref: k, parent: n, depth: n.depth + 1, window: n.window, app: n.app, inDoc: n.inDoc || n.role == "document"}
				n.kids = append(n.kids, kid)
				next = append(next, kid)
			}
		}
		b := newBatch(w.c)
		w.addBasics(b, next)
		w.addDetails(b, details)
		w.addTextRetry(b, retries)
		b.run(w.ctx, waveWait)
		finish(retries)
		retries = nil
		for _, n := range details {
			if !n.drop && n.text == "" && n.wantsText() {
				retries = append(retries, n)
			} else {
				finish([]*node{n})
			}
		}
		w.settle(next)
		details, level = next, next
	}
}

// cleanText is clean keeping the places of embedded objects (label fills
// them in).
func cleanText(s string) string {
	return clean(strings.ReplaceAll(s, string(objChar), "\x00"), maxTextRunes)
}

// clean makes a name or text one line: U+FFFC (the place of a child object
// in its parent's text) and control characters go, spaces collapse, and
// it is cut at max runes.
func clean(s string, max int) string {
	var b strings.Builder
	space, n := false, 0
	for _, r := range s {
		if r == 0 {
			r = objChar // kept (cleanText)
		} else if r == objChar || unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		} else if unicode.Is(unicode.Cf, r) {
			continue // zero-width and direction marks
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
