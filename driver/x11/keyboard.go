package x11

import (
	"context"
	"iter"
	"slices"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/jezek/xgb/xproto"

	"github.com/vmservice/vmservice/sandbox"
)

// keyLoc is where a keysym lives: a keycode, and whether Shift selects it.
type keyLoc struct {
	code  xproto.Keycode
	shift bool
}

// borrowed is a keycode that had no keysyms and now carries a character
// missing from the keymap.
type borrowed struct {
	sym   xproto.Keysym
	batch uint64 // the typing batch that last used it
	held  bool   // pressed by KeyDown and not yet released
}

type keyboard struct {
	min, max xproto.Keycode
	index    map[xproto.Keysym]keyLoc
	spare    []xproto.Keycode // keycodes without keysyms, free to borrow
	borrowed map[xproto.Keycode]*borrowed
	batch    uint64
	lastKey  time.Time   // last key event sent
	stale    atomic.Bool // a MappingNotify arrived: reload before use
	shift    xproto.Keycode
}

// remapSettle is how long clients get to read the key events sent before a
// keymap change, and to load the changed keymap before the next key event.
const remapSettle = 100 * time.Millisecond

// loadKeymap (re)reads the keyboard mapping and indexes it by keysym.
func (c *Conn) loadKeymap() error {
	kb := &c.kb
	kb.stale.Store(false)
	count := int(kb.max) - int(kb.min) + 1
	r, err := xproto.GetKeyboardMapping(c.xc, kb.min, byte(count)).Reply()
	if err != nil {
		return c.xerr(err)
	}
	per := int(r.KeysymsPerKeycode)
	if per == 0 || len(r.Keysyms) < per*count {
		return sandbox.Errorf(sandbox.CodeInternal, "the X server sent a malformed keymap")
	}
	if kb.borrowed == nil {
		kb.borrowed = map[xproto.Keycode]*borrowed{}
	}
	kb.index = make(map[xproto.Keysym]keyLoc, count*2)
	kb.spare = kb.spare[:0]
	add := func(ks xproto.Keysym, loc keyLoc) {
		if ks == 0 {
			return
		}
		if old, ok := kb.index[ks]; ok && (!old.shift || loc.shift) {
			return // keep the first, unshifted place
		}
		kb.index[ks] = loc
	}
	for i := 0; i < count; i++ {
		kc := xproto.Keycode(int(kb.min) + i)
		syms := r.Keysyms[i*per : (i+1)*per]
		l0 := syms[0]
		var l1 xproto.Keysym
		if per > 1 {
			l1 = syms[1]
		}
		if b, ok := kb.borrowed[kc]; ok && l0 != b.sym {
			delete(kb.borrowed, kc) // someone else remapped it
		}
		if isEmpty(syms) {
			if _, ok := kb.borrowed[kc]; !ok {
				kb.spare = append(kb.spare, kc)
			}
			continue
		}
		// Core protocol rule: (a, NoSymbol) on an alphabetic key means (a, A).
		if l1 == 0 {
			if ch := keysymRune(l0); ch != 0 && unicode.IsLower(ch) {
				l1 = runeKeysym(unicode.ToUpper(ch))
			}
		}
		add(l0, keyLoc{code: kc})
		if l1 != l0 {
			add(l1, keyLoc{code: kc, shift: true})
		}
	}
	loc, ok := kb.index[ksShiftL]
	if !ok {
		loc, ok = kb.index[ksShiftR]
	}
	if !ok {
		return sandbox.Errorf(sandbox.CodeInternal, "the keymap has no Shift key")
	}
	kb.shift = loc.code
	return nil
}

func isEmpty(syms []xproto.Keysym) bool {
	for _, s := range syms {
		if s != 0 {
			return false
		}
	}
	return true
}

// lookup finds ks in the keymap (reloaded first if a client changed it).
func (c *Conn) lookup(ks xproto.Keysym) (keyLoc, bool, error) {
	kb := &c.kb
	if kb.stale.Load() {
		if err := c.loadKeymap(); err != nil {
			return keyLoc{}, false, err
		}
	}
	loc, ok := kb.index[ks]
	if ok {
		if b := kb.borrowed[loc.code]; b != nil {
			b.batch = kb.batch
		}
	}
	return loc, ok, nil
}

// resolve finds the key for ks, borrowing a keycode when the keymap lacks
// it (premap borrows ahead; this is for what did not fit).
func (c *Conn) resolve(ctx context.Context, ks xproto.Keysym) (keyLoc, error) {
	if loc, ok, err := c.lookup(ks); err != nil || ok {
		return loc, err
	}
	kc, ok := c.freeKeycode(nil)
	if !ok {
		return keyLoc{}, sandbox.Errorf(sandbox.CodeInternal, "no free keycode to type this character")
	}
	if err := c.remap(ctx, kc, ks); err != nil {
		return keyLoc{}, err
	}
	return keyLoc{code: kc}, c.keymapSettle(ctx)
}

// premap borrows keycodes for the keysyms the keymap lacks before the
// first key of a call is pressed. Clients translate a key event with the
// keymap they hold when they get to it, not the one in force when it was
// sent, and change theirs on MappingNotify in their own time (Chromium on
// another thread): keys typed right after a change were read with the old
// mapping and lost ("tok-Ünï" arrived as "tok-nï"), and once the keys
// typed right before one ("tok-Ünï" as "Ünï"). One settle for the whole
// call instead of one per new character; what does not fit among the
// keycodes free to borrow is borrowed on the way by resolve. Keysyms the
// keymap has for good (all of ASCII) cost a lookup and no allocation.
func (c *Conn) premap(ctx context.Context, syms iter.Seq[xproto.Keysym]) error {
	var need map[xproto.Keysym]bool // the call's borrowed and missing keysyms
	var missing []xproto.Keysym
	for ks := range syms {
		if ks == 0 || need[ks] {
			continue
		}
		loc, ok, err := c.lookup(ks)
		if err != nil {
			return err
		}
		if ok && c.kb.borrowed[loc.code] == nil {
			continue
		}
		if need == nil {
			need = map[xproto.Keysym]bool{}
		}
		need[ks] = true
		if !ok {
			missing = append(missing, ks)
		}
	}
	changed := false
	for _, ks := range missing {
		kc, ok := c.freeKeycode(func(b *borrowed) bool { return need[b.sym] })
		if !ok {
			break
		}
		if err := c.remap(ctx, kc, ks); err != nil {
			return err
		}
		changed = true
	}
	if !changed {
		return nil
	}
	return c.keymapSettle(ctx)
}

// keysyms yields the keysym of each character of text.
func keysyms(text string) iter.Seq[xproto.Keysym] {
	return func(yield func(xproto.Keysym) bool) {
		for _, r := range text {
			if !yield(runeKeysym(r)) {
				return
			}
		}
	}
}

// freeKeycode picks a keycode to borrow: a spare one, else the borrowed one
// least recently used that is not held down and not kept.
func (c *Conn) freeKeycode(keep func(*borrowed) bool) (xproto.Keycode, bool) {
	kb := &c.kb
	if n := len(kb.spare); n > 0 {
		// From the top, like xdotool: low keycodes (8) confuse some clients.
		kc := kb.spare[n-1]
		kb.spare = kb.spare[:n-1]
		return kc, true
	}
	var best xproto.Keycode
	var bestBatch uint64
	found := false
	for kc, b := range kb.borrowed {
		if b.held || (keep != nil && keep(b)) {
			continue
		}
		if !found || b.batch < bestBatch {
			best, bestBatch, found = kc, b.batch, true
		}
	}
	return best, found
}

// quiet returns once the key events sent in the last remapSettle have had
// that time to be read by every client, so none is translated with a
// keymap changed after it was sent.
func (c *Conn) quiet(ctx context.Context) error {
	wait := remapSettle - time.Since(c.kb.lastKey)
	if wait <= 0 {
		return nil
	}
	if err := c.sync(ctx); err != nil {
		return err
	}
	return sandbox.Sleep(ctx, wait)
}

// remap makes keycode kc carry ks, once the keys sent before are quiet.
func (c *Conn) remap(ctx context.Context, kc xproto.Keycode, ks xproto.Keysym) error {
	kb := &c.kb
	if err := c.quiet(ctx); err != nil {
		return err
	}
	if b := kb.borrowed[kc]; b != nil {
		delete(kb.index, b.sym)
	}
	// Both levels carry the keysym so the Shift state does not matter.
	xproto.ChangeKeyboardMapping(c.xc, 1, kc, 2, []xproto.Keysym{ks, ks})
	kb.borrowed[kc] = &borrowed{sym: ks, batch: kb.batch}
	kb.index[ks] = keyLoc{code: kc}
	return nil
}

// keymapSettle gives clients time to load a changed keymap before its keys come.
func (c *Conn) keymapSettle(ctx context.Context) error {
	if err := c.sync(ctx); err != nil {
		return err
	}
	return sandbox.Sleep(ctx, remapSettle)
}

// restoreKeymap gives borrowed keycodes back (empty) once clients have had
// time to process the last key events.
func (c *Conn) restoreKeymap() {
	kb := &c.kb
	if len(kb.borrowed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.quiet(ctx)
	for kc := range kb.borrowed {
		xproto.ChangeKeyboardMapping(c.xc, 1, kc, 2, []xproto.Keysym{0, 0})
		delete(kb.borrowed, kc)
	}
	_ = c.sync(ctx)
}

// XTEST event types.
const (
	evKeyPress      = 2
	evKeyRelease    = 3
	evButtonPress   = 4
	evButtonRelease = 5
	evMotion        = 6
)

func (c *Conn) fake(typ byte, detail byte) {
	if typ == evKeyPress || typ == evKeyRelease {
		c.kb.lastKey = time.Now()
	}
	xtestFakeInput(c.xc, typ, detail, c.root, 0, 0)
}

func (c *Conn) fakeMotion(x, y int) {
	xtestFakeInput(c.xc, evMotion, 0, c.root, int16(x), int16(y))
}

// keyEvents presses (down) or releases one resolved key.
func (c *Conn) keyEvent(loc keyLoc, down bool) {
	if down {
		c.fake(evKeyPress, byte(loc.code))
	} else {
		c.fake(evKeyRelease, byte(loc.code))
	}
}

// tapRune types one character: Shift around it when the character sits on
// the shifted level.
func (c *Conn) tapRune(ctx context.Context, ks xproto.Keysym) error {
	loc, err := c.resolve(ctx, ks)
	if err != nil {
		return err
	}
	if loc.shift {
		c.fake(evKeyPress, byte(c.kb.shift))
	}
	c.keyEvent(loc, true)
	c.keyEvent(loc, false)
	if loc.shift {
		c.fake(evKeyRelease, byte(c.kb.shift))
	}
	return nil
}

// resolveKeys parses key names ("ctrl", "shift+a", "€") into keys to press
// in order. A character on the shifted level gets Shift pressed before it
// unless Shift is already part of the combination.
func (c *Conn) resolveKeys(ctx context.Context, names []string, field string) ([]keyLoc, error) {
	var syms []xproto.Keysym
	for _, n := range names {
		ks, err := ParseKey(n)
		if err != nil {
			if se, ok := err.(*sandbox.Error); ok && field != "key" {
				se.WithDetail("field", field)
			}
			return nil, err
		}
		syms = append(syms, ks...)
	}
	if len(syms) == 0 {
		return nil, sandbox.InvalidArgument(field, "no key given")
	}
	hasShift := false
	for _, ks := range syms {
		if ks == ksShiftL || ks == ksShiftR {
			hasShift = true
		}
	}
	if err := c.premap(ctx, slices.Values(syms)); err != nil {
		return nil, err
	}
	locs := make([]keyLoc, 0, len(syms)+1)
	for _, ks := range syms {
		loc, err := c.resolve(ctx, ks)
		if err != nil {
			return nil, err
		}
		if loc.shift && !hasShift {
			locs = append(locs, keyLoc{code: c.kb.shift})
			hasShift = true
		}
		locs = append(locs, keyLoc{code: loc.code})
	}
	return locs, nil
}
