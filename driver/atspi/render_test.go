package atspi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// The rendering rules on trees built by hand (the tests under
// backend/local check them on real applications).

var nextPath int

func mk(role, name string, st states, kids ...*node) *node {
	nextPath++
	n := &node{ref: objRef{":1.1", dbus.ObjectPath(fmt.Sprintf("/o/%d", nextPath))}, role: role, name: name,
		states: st | 1<<stShowing | 1<<stVisible | 1<<stEnabled, ifaces: map[string]bool{}}
	for _, k := range kids {
		k.parent = n
		n.kids = append(n.kids, k)
	}
	return n
}

func window(kids ...*node) (*scope, *node) {
	w := mk("frame", "Editor", 1<<stActive, kids...)
	w.topLevel = true
	w.app = &app{name: "editor", pid: 7, wins: []*node{w}}
	var setDepth func(n *node, d int)
	setDepth = func(n *node, d int) {
		n.depth = d
		for _, k := range n.kids {
			setDepth(k, d+1)
		}
	}
	setDepth(w, 0)
	return &scope{wins: []*node{w}}, w
}

func TestRenderFoldsLayoutAndRepeats(t *testing.T) {
	entry := mk("textbox", "Name", 1<<stFocusable|1<<stEditable|1<<stFocused)
	entry.value = `say "hi"` + "\\"
	sc, _ := window(
		mk("panel", "", 0, // layout without a name: gone
			mk("filler", "Header stack", 0, // named layout with content: gone too
				mk("button", "Save", 0),
				mk("button", "Quit", 0&^(1<<stEnabled)),
			),
			mk("label", "", 0, mk("text", "Name", 0), entry), // a label around a field
		),
		mk("heading", "Title", 0, mk("text", "Title", 0)), // a heading's own text
		mk("list", "", 0), // an empty structure: gone
		mk("status", "3 items", 0, mk("panel", "", 0, mk("label", "3 items", 0), mk("label", "1 GiB free", 0))),
		mk("separator", "", 0),
	)
	// Quit is disabled: no enabled/sensitive state.
	sc.wins[0].kids[0].kids[0].kids[1].states &^= 1<<stEnabled | 1<<stSensitive
	d := NewDriver()
	s := d.render(sc, sandbox.A11yQuery{Windows: []sandbox.A11yWindow{{ID: 42, PID: 7, Title: "Editor"}}})
	assert.Equal(t, `e1 frame "Editor" [active] app=editor window=42
  e2 button "Save"
  e3 button "Quit" [disabled]
  e4 textbox "Name" [focused] = "say \"hi\"\\"
  e5 heading "Title"
  e6 status "3 items"
    e7 label "1 GiB free"
`, s.Text)
	assert.Equal(t, 7, s.Elements)
	assert.False(t, s.Truncated)

	// The same elements keep their references in the next rendering.
	s2 := d.render(sc, sandbox.A11yQuery{Interactive: true})
	assert.Equal(t, `e1 frame "Editor" [active] app=editor
  e2 button "Save"
  e3 button "Quit" [disabled]
  e4 textbox "Name" [focused] = "say \"hi\"\\"
`, s2.Text)
}

func TestRenderBoundsDepthAndSize(t *testing.T) {
	var rows []*node
	for i := 0; i < 200; i++ {
		b := mk("button", fmt.Sprintf("Button number %d", i), 0)
		b.ext = &[4]int32{int32(i), 10, 80, 20}
		rows = append(rows, b)
	}
	tb := mk("toolbar", "Tools", 0, rows...)
	tb.ext = &[4]int32{0, 0, 1024, 30}
	sc, _ := window(tb)
	d := NewDriver()
	s := d.render(sc, sandbox.A11yQuery{Bounds: true})
	assert.Contains(t, s.Text, "\n  e2 toolbar \"Tools\" @0,0,1024,30\n    e3 button \"Button number 0\" @0,10,80,20\n")

	s = d.render(sc, sandbox.A11yQuery{MaxDepth: 1})
	assert.Equal(t, "e1 frame \"Editor\" [active] app=editor\n  e2 toolbar \"Tools\"\n", s.Text)

	s = d.render(sc, sandbox.A11yQuery{MaxBytes: 1000})
	require.True(t, s.Truncated)
	body, note, _ := strings.Cut(s.Text, "… ")
	assert.LessOrEqual(t, len(body), 1000)
	assert.True(t, strings.HasSuffix(body, "\n"), "cut at a line")
	assert.Contains(t, note, "more elements cut at 1000 bytes")
	assert.Equal(t, strings.Count(body, "\n"), s.Elements)
}

func TestLabelFillsEmbeddedObjects(t *testing.T) {
	link := mk("link", "the forum", 0)
	p := mk("paragraph", "", 0, link)
	p.text = cleanText("Ask on \uFFFC, please.")
	assert.Equal(t, "Ask on the forum, please.", p.label())
	only := mk("paragraph", "", 0, mk("textbox", "Name", 0))
	only.text = cleanText(" \uFFFC ")
	assert.Equal(t, "", only.label(), "text made only of objects adds nothing")
}

func TestClean(t *testing.T) {
	assert.Equal(t, "a b c", clean("  a\n\tb \u200b c\x07 ", 100))
	assert.Equal(t, "abc…", clean("abcdef", 3))
	assert.Equal(t, "東京", clean("東京", 2))
}

func TestRoleMatches(t *testing.T) {
	for _, c := range []struct {
		short, want string
		ok          bool
	}{
		{"button", "button", true}, {"button", "push button", true}, {"button", "PushButton", true},
		{"textbox", "entry", true}, {"textbox", "input", true}, {"combobox", "select", true},
		{"frame", "window", true}, {"dialog", "window", true}, {"link", "button", false},
		{"menuitem", "menu item", true}, {"checkbox", "check box", true}, {"button", "", true},
	} {
		assert.Equal(t, c.ok, roleMatches(c.short, c.want), "%s ~ %s", c.short, c.want)
	}
}

func TestDefaultAction(t *testing.T) {
	assert.Equal(t, 1, defaultAction([]string{"showmenu", "press"}))
	assert.Equal(t, 0, defaultAction([]string{"jump"}))
	assert.Equal(t, -1, defaultAction([]string{"click ancestor"}))
	assert.Equal(t, -1, defaultAction(nil))
	assert.Equal(t, 0, defaultAction([]string{""}), "Chromium's actions have no names")
}

func TestCheckQuery(t *testing.T) {
	for _, q := range []sandbox.A11yQuery{{MaxDepth: -1}, {MaxDepth: sandbox.A11yMaxDepth + 1}, {MaxBytes: sandbox.A11yMaxBytes + 1}, {Limit: 5000}} {
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(checkQuery(q)), "%+v", q)
	}
	assert.NoError(t, checkQuery(sandbox.A11yQuery{MaxDepth: 3, MaxBytes: 2000, Limit: 10}))
}

func TestServeAnswersBadRequests(t *testing.T) {
	in := strings.NewReader("not json\n" +
		`{"id":2,"op":"dance"}` + "\n" +
		`{"id":3,"op":"act"}` + "\n" +
		`{"id":4,"op":"snapshot","query":{"max_depth":-2}}` + "\n" +
		`{"id":5,"op":"act","action":{"ref":"x1","action":"click"}}` + "\n")
	var out strings.Builder
	require.NoError(t, NewDriver().Serve(in, &out, time.Second))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5)
	for i, l := range lines {
		var r Reply
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		require.NotNil(t, r.Err, l)
		assert.Equal(t, sandbox.CodeInvalidArgument, r.Err.Code, l)
		if i > 0 {
			assert.Equal(t, uint64(i+1), r.ID)
		}
	}
}

func TestRefBaseCarriesOver(t *testing.T) {
	d := NewDriver()
	rep := d.Handle(context.Background(), Request{ID: 1, Op: "dance", RefBase: 100})
	assert.Equal(t, 100, rep.RefNext)
	assert.Equal(t, "e101", d.refOf(objRef{":1.2", "/a"}))
	assert.Equal(t, "e101", d.refOf(objRef{":1.2", "/a"}), "the same element, the same reference")
	rep = d.Handle(context.Background(), Request{ID: 2, Op: "dance", RefBase: 50})
	assert.Equal(t, 101, rep.RefNext, "never back")
}
