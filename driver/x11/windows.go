package x11

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/vmservice/vmservice/sandbox"
)

var atomNames = []string{"_NET_ACTIVE_WINDOW", "_NET_CLIENT_LIST", "_NET_WM_NAME", "_NET_WM_PID", "UTF8_STRING", "WM_STATE", "COMPOUND_TEXT"}

// internAtoms looks the atoms up in one pipelined batch.
func (c *Conn) internAtoms(names ...string) error {
	cookies := make([]xproto.InternAtomCookie, len(names))
	for i, n := range names {
		cookies[i] = xproto.InternAtom(c.xc, false, uint16(len(n)), n)
	}
	for i, ck := range cookies {
		r, err := ck.Reply()
		if err != nil {
			return c.xerr(err)
		}
		c.atoms[names[i]] = r.Atom
	}
	return nil
}

// CurrentWindow is the active window (_NET_ACTIVE_WINDOW), or, without an
// EWMH window manager, the top-level window holding the input focus (the
// root window when nothing has it).
func (c *Conn) CurrentWindow(ctx context.Context) (sandbox.WindowID, error) {
	if err := c.begin(ctx); err != nil {
		return 0, err
	}
	defer c.end()
	if ids, err := c.windowList(ctx, c.root, c.atoms["_NET_ACTIVE_WINDOW"]); err != nil {
		return 0, err
	} else if len(ids) > 0 && ids[0] != 0 {
		return sandbox.WindowID(ids[0]), nil
	}
	f, err := await(ctx, xproto.GetInputFocus(c.xc).Reply)
	if err != nil {
		return 0, c.xerr(err)
	}
	if f.Focus == xproto.InputFocusNone || f.Focus == xproto.InputFocusPointerRoot {
		return sandbox.WindowID(c.root), nil
	}
	top, err := c.clientOf(ctx, f.Focus)
	if err != nil {
		return 0, err
	}
	return sandbox.WindowID(top), nil
}

// clientOf climbs from w to the application's top-level window: the first
// ancestor with WM_STATE, else the child of the root.
func (c *Conn) clientOf(ctx context.Context, w xproto.Window) (xproto.Window, error) {
	topLevel := w
	for cur := w; cur != c.root && cur != 0; {
		p, err := await(ctx, xproto.GetProperty(c.xc, false, cur, c.atoms["WM_STATE"], xproto.GetPropertyTypeAny, 0, 0).Reply)
		if err != nil {
			if isXError(err) {
				return w, nil // the window vanished: report it as it was
			}
			return 0, c.xerr(err)
		}
		if p.Format != 0 {
			return cur, nil
		}
		t, err := await(ctx, xproto.QueryTree(c.xc, cur).Reply)
		if err != nil {
			if isXError(err) {
				return w, nil
			}
			return 0, c.xerr(err)
		}
		topLevel = cur
		cur = t.Parent
	}
	return topLevel, nil
}

// ApplicationWindows lists top-level application windows whose WM_CLASS
// (instance or class) or title contains app, case-insensitively; an empty
// app lists them all. Windows come from the window manager's
// _NET_CLIENT_LIST, or from the window tree when there is no such list.
func (c *Conn) ApplicationWindows(ctx context.Context, app string) ([]sandbox.WindowID, error) {
	infos, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(strings.TrimSpace(app))
	out := []sandbox.WindowID{}
	for _, w := range infos {
		if len(w.texts) == 0 {
			continue
		}
		match := needle == ""
		for _, t := range w.texts {
			if !match && strings.Contains(strings.ToLower(t), needle) {
				match = true
			}
		}
		if match {
			out = append(out, w.ID)
		}
	}
	return out, nil
}

// TopLevels lists the top-level application windows with their process id
// (_NET_WM_PID, as the application set it), title and WM_CLASS class, for
// matching them to other views of the desktop (its accessibility tree).
func (c *Conn) TopLevels(ctx context.Context) ([]sandbox.A11yWindow, error) {
	infos, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.A11yWindow, 0, len(infos))
	for _, w := range infos {
		out = append(out, w.A11yWindow)
	}
	return out, nil
}

type clientInfo struct {
	sandbox.A11yWindow
	texts []string // WM_CLASS instance and class, _NET_WM_NAME, WM_NAME
}

// clients reads the client windows and their properties, all requested
// before any reply is read.
func (c *Conn) clients(ctx context.Context) ([]clientInfo, error) {
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.end()
	wins, err := c.windowList(ctx, c.root, c.atoms["_NET_CLIENT_LIST"])
	if err != nil {
		return nil, err
	}
	if wins == nil {
		if wins, err = c.treeClients(ctx); err != nil {
			return nil, err
		}
	}
	type props struct{ class, netName, name, pid xproto.GetPropertyCookie }
	cookies := make([]props, len(wins))
	for i, w := range wins {
		cookies[i] = props{
			class:   xproto.GetProperty(c.xc, false, w, xproto.AtomWmClass, xproto.AtomString, 0, 256),
			netName: xproto.GetProperty(c.xc, false, w, c.atoms["_NET_WM_NAME"], c.atoms["UTF8_STRING"], 0, 1024),
			name:    xproto.GetProperty(c.xc, false, w, xproto.AtomWmName, xproto.GetPropertyTypeAny, 0, 1024),
			pid:     xproto.GetProperty(c.xc, false, w, c.atoms["_NET_WM_PID"], xproto.AtomCardinal, 0, 1),
		}
	}
	out := make([]clientInfo, 0, len(wins))
	for i, w := range wins {
		info := clientInfo{A11yWindow: sandbox.A11yWindow{ID: sandbox.WindowID(w)}}
		gone := false
		for k, ck := range []xproto.GetPropertyCookie{cookies[i].class, cookies[i].netName, cookies[i].name, cookies[i].pid} {
			p, err := await(ctx, ck.Reply)
			if err != nil {
				if isXError(err) {
					gone = true // the window went away meanwhile
					continue
				}
				return nil, c.xerr(err)
			}
			if p == nil || len(p.Value) == 0 {
				continue
			}
			switch {
			case k == 3:
				if p.Format == 32 && len(p.Value) >= 4 {
					info.PID = int(xgb.Get32(p.Value))
				}
				continue
			case p.Type == c.atoms["COMPOUND_TEXT"]:
				info.texts = append(info.texts, compoundText(p.Value))
			default:
				for _, part := range bytes.Split(p.Value, []byte{0}) {
					if len(part) > 0 {
						info.texts = append(info.texts, latin1ToUTF8(part))
					}
				}
			}
			switch k {
			case 0:
				info.Class = info.texts[len(info.texts)-1] // WM_CLASS is instance, then class
			case 1:
				info.Title = info.texts[len(info.texts)-1]
			case 2:
				if info.Title == "" {
					info.Title = info.texts[len(info.texts)-1]
				}
			}
		}
		if !gone {
			out = append(out, info)
		}
	}
	return out, nil
}

// windowList reads a WINDOW-list property (nil when it is not set).
func (c *Conn) windowList(ctx context.Context, w xproto.Window, prop xproto.Atom) ([]xproto.Window, error) {
	p, err := await(ctx, xproto.GetProperty(c.xc, false, w, prop, xproto.AtomWindow, 0, 4096).Reply)
	if err != nil {
		return nil, c.xerr(err)
	}
	if p.Format != 32 {
		return nil, nil
	}
	ids := make([]xproto.Window, 0, p.ValueLen)
	for i := 0; i+4 <= len(p.Value); i += 4 {
		ids = append(ids, xproto.Window(xgb.Get32(p.Value[i:])))
	}
	return ids, nil
}

// treeClients finds client windows without a window manager list: viewable
// children of the root, or for reparenting window managers their child
// carrying WM_STATE.
func (c *Conn) treeClients(ctx context.Context) ([]xproto.Window, error) {
	t, err := await(ctx, xproto.QueryTree(c.xc, c.root).Reply)
	if err != nil {
		return nil, c.xerr(err)
	}
	var out []xproto.Window
	for _, w := range t.Children {
		a, err := await(ctx, xproto.GetWindowAttributes(c.xc, w).Reply)
		if err != nil {
			if isXError(err) {
				continue
			}
			return nil, c.xerr(err)
		}
		if a.MapState != xproto.MapStateViewable || a.OverrideRedirect {
			continue
		}
		client, err := c.findClient(ctx, w, 2)
		if err != nil {
			return nil, err
		}
		out = append(out, client)
	}
	return out, nil
}

// findClient returns w or the first descendant (up to depth levels down)
// with WM_STATE; w itself when none has it.
func (c *Conn) findClient(ctx context.Context, w xproto.Window, depth int) (xproto.Window, error) {
	p, err := await(ctx, xproto.GetProperty(c.xc, false, w, c.atoms["WM_STATE"], xproto.GetPropertyTypeAny, 0, 0).Reply)
	if err != nil {
		if isXError(err) {
			return w, nil
		}
		return 0, c.xerr(err)
	}
	if p.Format != 0 || depth == 0 {
		return w, nil
	}
	t, err := await(ctx, xproto.QueryTree(c.xc, w).Reply)
	if err != nil {
		if isXError(err) {
			return w, nil
		}
		return 0, c.xerr(err)
	}
	for _, ch := range t.Children {
		got, err := c.findClient(ctx, ch, depth-1)
		if err != nil {
			return 0, err
		}
		if got != ch || c.hasWMState(ctx, ch) {
			return got, nil
		}
	}
	return w, nil
}

func (c *Conn) hasWMState(ctx context.Context, w xproto.Window) bool {
	p, err := await(ctx, xproto.GetProperty(c.xc, false, w, c.atoms["WM_STATE"], xproto.GetPropertyTypeAny, 0, 0).Reply)
	return err == nil && p.Format != 0
}

// WindowTitle is the window's _NET_WM_NAME (UTF-8), or WM_NAME.
func (c *Conn) WindowTitle(ctx context.Context, id sandbox.WindowID) (string, error) {
	if err := c.begin(ctx); err != nil {
		return "", err
	}
	defer c.end()
	if id == 0 {
		return "", sandbox.InvalidArgument("window_id", "window id 0 is not a window")
	}
	w := xproto.Window(id)
	ck1 := xproto.GetProperty(c.xc, false, w, c.atoms["_NET_WM_NAME"], c.atoms["UTF8_STRING"], 0, 1024)
	ck2 := xproto.GetProperty(c.xc, false, w, xproto.AtomWmName, xproto.GetPropertyTypeAny, 0, 1024)
	p1, err1 := await(ctx, ck1.Reply)
	p2, err2 := await(ctx, ck2.Reply)
	for _, err := range []error{err1, err2} {
		if err == nil {
			continue
		}
		if isXError(err) {
			return "", sandbox.InvalidArgument("window_id", "no window with id %d", id).WithDetail("window_id", uint32(id))
		}
		return "", c.xerr(err)
	}
	if len(p1.Value) > 0 {
		return strings.ToValidUTF8(string(p1.Value), "\uFFFD"), nil
	}
	switch p2.Type {
	case c.atoms["UTF8_STRING"]:
		return strings.ToValidUTF8(string(p2.Value), "\uFFFD"), nil
	case c.atoms["COMPOUND_TEXT"]:
		return compoundText(p2.Value), nil
	}
	return latin1ToUTF8(p2.Value), nil
}

// compoundText decodes the COMPOUND_TEXT that Xlib clients (xterm) put in
// WM_NAME: Latin-1 text with UTF-8 segments between ESC % G and ESC % @.
// Other character sets are shown as Latin-1.
func compoundText(b []byte) string {
	var sb strings.Builder
	utf := false
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+2 < len(b) && b[i+1] == '%' {
			utf = b[i+2] == 'G'
			i += 2
			continue
		}
		if b[i] == 0x1b { // another charset designation: skip it
			j := i + 1
			for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2f {
				j++
			}
			i = j
			continue
		}
		if utf {
			j := i
			for j < len(b) && b[j] != 0x1b {
				j++
			}
			sb.WriteString(strings.ToValidUTF8(string(b[i:j]), "\uFFFD"))
			i = j - 1
			continue
		}
		sb.WriteRune(rune(b[i]))
	}
	return sb.String()
}

// latin1ToUTF8 decodes STRING properties (ISO 8859-1), leaving valid UTF-8
// (which many clients put there anyway) alone.
func latin1ToUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func isXError(err error) bool {
	var xe xgb.Error
	return errors.As(err, &xe)
}

// RootText is a text property of the root window ("" when it is not set):
// AT_SPI_BUS, the accessibility bus's address that at-spi-bus-launcher
// publishes there for applications without the session's environment.
func (c *Conn) RootText(ctx context.Context, name string) (string, error) {
	if err := c.begin(ctx); err != nil {
		return "", err
	}
	defer c.end()
	a, err := await(ctx, xproto.InternAtom(c.xc, true, uint16(len(name)), name).Reply)
	if err != nil {
		return "", c.xerr(err)
	}
	if a.Atom == xproto.AtomNone {
		return "", nil
	}
	p, err := await(ctx, xproto.GetProperty(c.xc, false, c.root, a.Atom, xproto.GetPropertyTypeAny, 0, 4096).Reply)
	if err != nil {
		return "", c.xerr(err)
	}
	return strings.ToValidUTF8(string(p.Value), "\uFFFD"), nil
}
