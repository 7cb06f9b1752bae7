package atspi

import (
	"strconv"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
)

// The text form, one line per element, two spaces of indent per level:
//
//	e1 frame "Untitled 1 - Mousepad" [active] app=mousepad window=4194310
//	  e2 menubar
//	    e3 menu "File"
//	  e9 textbox [focused] = "hello"
//
// `ref role "name" [states] = value @x,y,w,h` (bounds when asked). Layout
// containers without a name (panels, fillers, sections, labels wrapping a
// control) are left out and their children take their place; so are text
// leaves that repeat their parent's or a neighbour's name, and elements
// that are not showing.

type renderer struct {
	d     *Driver
	q     sandbox.A11yQuery
	max   int
	out   strings.Builder
	count int
	cut   int // elements left out by the size bound
}

func (d *Driver) render(sc *scope, q sandbox.A11yQuery) *sandbox.A11ySnapshot {
	r := &renderer{d: d, q: q, max: q.MaxBytes}
	if r.max == 0 {
		r.max = sandbox.A11yDefaultMaxBytes
	}
	for _, w := range sc.noA11y {
		r.out.WriteString("- window " + strconv.FormatUint(uint64(w.ID), 10) + " " + quote(w.Title) + " class=" + quote(w.Class) + ": no accessibility tree (use screenshots)\n")
	}
	for _, a := range sc.busy {
		r.out.WriteString("- app " + quote(a.name) + ": not responding; " + notRespondingWhy + "\n")
	}
	// The active window first: it survives the size bound.
	wins := append([]*node{}, sc.wins...)
	for i, w := range wins {
		if w.states.has(stActive) && i > 0 {
			copy(wins[1:i+1], wins[:i])
			wins[0] = w
			break
		}
	}
	xwin := map[int][]sandbox.A11yWindow{}
	for _, w := range q.Windows {
		xwin[w.PID] = append(xwin[w.PID], w)
	}
	for _, w := range wins {
		extra := ""
		if w.app != nil {
			if w.app.name != "" {
				extra += " app=" + strings.ReplaceAll(w.app.name, " ", "_")
			}
			if xw := displayWindow(xwin[w.app.pid], w); xw != nil {
				extra += " window=" + strconv.FormatUint(uint64(xw.ID), 10)
			}
		}
		for _, it := range r.lines(w, 0, extra, "") {
			r.line(it)
		}
	}
	s := &sandbox.A11ySnapshot{Text: r.out.String(), Elements: r.count, NoAccessibility: sc.noA11y}
	if r.cut > 0 {
		s.Truncated = true
		s.Text += "… " + strconv.Itoa(r.cut) + " more elements cut at " + strconv.Itoa(r.max) +
			" bytes: narrow it with window_id, interactive, max_depth or a search\n"
	}
	if s.Text == "" {
		s.Text = "(no windows)\n"
	}
	return s
}

// displayWindow is the display's window of an accessible window: the one
// with its title, or the only one of an application with one window.
func displayWindow(xws []sandbox.A11yWindow, w *node) *sandbox.A11yWindow {
	for i := range xws {
		if xws[i].Title == w.name {
			return &xws[i]
		}
	}
	showing := 0
	for _, aw := range w.app.wins {
		if !aw.drop && aw.states.has(stShowing) {
			showing++
		}
	}
	if len(xws) == 1 && showing == 1 {
		return &xws[0]
	}
	return nil
}

// line appends one line unless the size bound is reached.
func (r *renderer) line(it item) {
	if r.cut > 0 {
		r.cut++
		return
	}
	l := r.text(it)
	if r.out.Len()+len(l)+1 > r.max {
		r.cut++
		return
	}
	r.out.WriteString(l)
	r.out.WriteByte('\n')
	r.count++
}

// item is one line to be: refs are given when the lines are written, in
// document order.
type item struct {
	n      *node
	indent int
	extra  string
}

// lines renders n and what is shown below it (children first, so a
// structure element with nothing shown inside is left out).
func (r *renderer) lines(n *node, indent int, extra, above string) []item {
	if n.drop {
		return nil
	}
	show := r.shown(n)
	kidIndent, kidAbove := indent, above
	if show {
		kidIndent, kidAbove = indent+1, n.label()
	}
	var kids []item
	if r.q.MaxDepth == 0 || n.depth < r.q.MaxDepth {
		for i, k := range n.kids {
			if r.repeats(n, i, kidAbove) {
				continue
			}
			if n.name == "" && n.text != "" && k.role == "text" && len(k.kids) == 0 {
				continue // its text is in the parent's (Chromium's static text)
			}
			kids = append(kids, r.lines(k, kidIndent, "", kidAbove)...)
		}
	}
	if !show {
		return kids
	}
	if layoutRoles[n.role] && len(kids) > 0 && !n.topLevel {
		for i := range kids { // a named layout container shows only through what it holds
			kids[i].indent--
		}
		return kids
	}
	if structureRoles[n.role] && n.label() == "" && len(kids) == 0 && !n.topLevel && !n.interactive() {
		return nil
	}
	if n.topLevel && n.label() == "" && len(kids) == 0 {
		return nil // an empty, nameless window (browsers keep some)
	}
	if n.role == "combobox" && n.value != "" {
		kids = nil // its list: the value says what is selected
	}
	if n.label() == "" && len(kids) == 1 && (kids[0].n.role == "label" || kids[0].n.role == "text") && len(kids[0].n.kids) == 0 {
		n.name, kids = kids[0].n.label(), nil // a list item and its one text: one line
	}
	return append([]item{{n: n, indent: indent, extra: extra}}, kids...)
}

// text is the line of an item.
func (r *renderer) text(it item) string {
	n := it.n
	head := strings.Repeat("  ", it.indent) + r.d.refOf(n.ref) + " " + n.role
	if l := n.label(); l != "" {
		head += " " + quote(l)
	}
	if st := stateWords(n, false); len(st) > 0 {
		head += " [" + strings.Join(st, " ") + "]"
	}
	if n.value != "" && n.value != n.label() {
		head += " = " + quote(n.value)
	}
	if r.q.Bounds && n.ext != nil && n.ext[2] > 0 && n.ext[3] > 0 {
		head += " @" + strconv.Itoa(int(n.ext[0])) + "," + strconv.Itoa(int(n.ext[1])) + "," +
			strconv.Itoa(int(n.ext[2])) + "," + strconv.Itoa(int(n.ext[3]))
	}
	return head + it.extra
}

// shown says whether n gets a line of its own.
func (r *renderer) shown(n *node) bool {
	if n.topLevel {
		return true
	}
	if r.q.Interactive {
		return n.interactive()
	}
	if n.interactive() || n.value != "" {
		return true
	}
	if n.role == "label" && len(n.kids) > 0 {
		return false // the control inside carries the label as its name
	}
	l := n.label()
	if layoutRoles[n.role] {
		return l != ""
	}
	return l != "" || structureRoles[n.role]
}

// repeats says whether child i of p is a text leaf that only repeats its
// parent's name, the name of the element shown above it (above), or a
// neighbour's (a heading's static text, a status bar's label, a field's
// label).
func (r *renderer) repeats(p *node, i int, above string) bool {
	k := p.kids[i]
	if len(k.kids) > 0 || k.interactive() || (k.role != "text" && k.role != "label") {
		return false
	}
	l := k.label()
	if l == "" {
		return false
	}
	if l == p.label() || l == above {
		return true
	}
	l = strings.TrimSuffix(strings.TrimSpace(l), ":")
	for _, j := range []int{i - 1, i + 1} {
		if j >= 0 && j < len(p.kids) && p.kids[j].interactive() && strings.TrimSpace(p.kids[j].label()) == l {
			return true
		}
	}
	return false
}

// quote writes s in double quotes, escaping what would break the line.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if c >= 0x20 {
				b.WriteRune(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
