package atspi

import "strings"

// AT-SPI state bits (AtspiStateType).
const (
	stActive        = 1
	stChecked       = 4
	stCollapsed     = 5
	stDefunct       = 6
	stEditable      = 7
	stEnabled       = 8
	stExpandable    = 9
	stExpanded      = 10
	stFocusable     = 11
	stFocused       = 12
	stModal         = 16
	stMultiLine     = 17
	stPressed       = 20
	stSelectable    = 22
	stSelected      = 23
	stSensitive     = 24
	stShowing       = 25
	stVisible       = 30
	stIndeterminate = 32
	stRequired      = 33
	stInvalidEntry  = 36
	stCheckable     = 41
	stReadOnly      = 43
)

type states uint64

func (s states) has(bit int) bool { return s&(1<<uint(bit)) != 0 }

func statesOf(words []uint32) states {
	var s states
	for i, w := range words {
		if i < 2 {
			s |= states(w) << (32 * uint(i))
		}
	}
	return s
}

// roleNames maps AT-SPI role names (GetRoleName) to the short, ARIA-like
// names the snapshot shows: what a model knows from web pages, and fewer
// tokens. Roles not listed keep their AT-SPI name without spaces.
var roleNames = map[string]string{
	"push button": "button", "toggle button": "togglebutton", "check box": "checkbox",
	"radio button": "radio", "menu item": "menuitem", "check menu item": "menuitemcheckbox",
	"radio menu item": "menuitemradio", "tearoff menu item": "menuitem", "menu bar": "menubar",
	"tool bar": "toolbar", "status bar": "status", "statusbar": "status", "page tab": "tab",
	"page tab list": "tablist", "combo box": "combobox", "entry": "textbox", "text": "textbox",
	"password text": "password", "spin button": "spinbutton", "scroll bar": "scrollbar",
	"list item": "listitem", "list box": "listbox", "table cell": "cell", "table row": "row",
	"table column header": "columnheader", "table row header": "rowheader",
	"column header": "columnheader", "row header": "rowheader", "tree item": "treeitem",
	"tree table": "treegrid", "document web": "document", "document frame": "document",
	"document text": "document", "static": "text", "image": "img", "icon": "img",
	"dialog": "dialog", "file chooser": "dialog", "color chooser": "dialog", "font chooser": "dialog",
	"alert": "alert", "progress bar": "progressbar", "split pane": "splitpane",
	"block quote": "blockquote", "description list": "list", "description term": "term",
	"description value": "definition", "landmark": "region", "menu": "menu",
}

// shortRole is the snapshot's name for an AT-SPI role name.
func shortRole(atspi string) string {
	if r, ok := roleNames[atspi]; ok {
		return r
	}
	return strings.ReplaceAll(atspi, " ", "")
}

// roleMatches says whether an element's short role matches a role asked
// for in either vocabulary ("button", "push button", "PushButton").
func roleMatches(short, want string) bool {
	w := squash(want)
	if w == "" {
		return true
	}
	if r, ok := squashedRoles[w]; ok {
		w = r
	}
	switch w { // ARIA synonyms
	case "link", "links":
		w = "link"
	case "edit", "input", "textfield", "textarea", "searchbox":
		w = "textbox"
	case "select", "dropdown":
		w = "combobox"
	case "window", "frame":
		return short == "frame" || short == "window" || short == "dialog"
	}
	return short == w
}

// squash makes role names comparable: "Push_Button" is "pushbutton".
func squash(s string) string {
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// squashedRoles is roleNames by squashed AT-SPI name.
var squashedRoles = func() map[string]string {
	m := map[string]string{}
	for k, v := range roleNames {
		m[squash(k)] = v
	}
	return m
}()

// Roles shown as a window: the top of each application's tree.
var windowRoles = map[string]bool{"frame": true, "window": true, "dialog": true, "alert": true}

// Roles that are only layout: not shown, their children take their place,
// unless they have a name or are interactive.
var layoutRoles = map[string]bool{
	"filler": true, "panel": true, "section": true, "unknown": true, "redundantobject": true,
	"invalid": true, "internalframe": true, "scrollpane": true, "viewport": true,
	"layeredpane": true, "rootpane": true, "glasspane": true, "grouping": true, "form": true,
	"label": true, "splitpane": true, "autocomplete": true, "canvas": true, "drawingarea": true,
	"embedded": true, "optionpane": true, "window": false,
}

// Roles kept even without a name, for the structure they give (when
// something is kept inside them).
var structureRoles = map[string]bool{
	"menubar": true, "toolbar": true, "tablist": true, "list": true, "listbox": true,
	"table": true, "tree": true, "treegrid": true, "document": true, "menu": true, "dialog": true,
}

// Roles one acts on, whatever their states say.
var interactiveRoles = map[string]bool{
	"button": true, "togglebutton": true, "checkbox": true, "radio": true, "menuitem": true,
	"menuitemcheckbox": true, "menuitemradio": true, "combobox": true, "textbox": true,
	"password": true, "link": true, "tab": true, "slider": true, "spinbutton": true,
	"treeitem": true, "menu": true, "listitem": false,
}

// Roles whose text is the user's input (its value, not its name).
var editableRoles = map[string]bool{"textbox": true, "password": true, "spinbutton": true, "combobox": true, "terminal": true}
