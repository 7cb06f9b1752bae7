package x11

//go:generate go run gen_keysyms.go

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jezek/xgb/xproto"

	"github.com/vmservice/vmservice/sandbox"
)

// Keysyms used by the driver itself.
const (
	ksBackSpace xproto.Keysym = 0xff08
	ksTab       xproto.Keysym = 0xff09
	ksReturn    xproto.Keysym = 0xff0d
	ksEscape    xproto.Keysym = 0xff1b
	ksDelete    xproto.Keysym = 0xffff
	ksShiftL    xproto.Keysym = 0xffe1
	ksShiftR    xproto.Keysym = 0xffe2
)

// keyAliases are the friendly names agents use (E2B Desktop, Anthropic
// computer-use, xdotool), lower-case.
var keyAliases = map[string]string{
	"enter": "Return", "return": "Return", "ret": "Return",
	"esc": "Escape", "escape": "Escape",
	"tab": "Tab", "space": "space", "spacebar": "space",
	"backspace": "BackSpace", "back_space": "BackSpace", "bksp": "BackSpace",
	"delete": "Delete", "del": "Delete",
	"insert": "Insert", "ins": "Insert",
	"home": "Home", "end": "End",
	"pageup": "Prior", "page_up": "Prior", "pgup": "Prior", "prior": "Prior",
	"pagedown": "Next", "page_down": "Next", "pgdn": "Next", "pgdown": "Next", "next": "Next",
	"up": "Up", "down": "Down", "left": "Left", "right": "Right",
	"arrowup": "Up", "arrowdown": "Down", "arrowleft": "Left", "arrowright": "Right",
	"arrow_up": "Up", "arrow_down": "Down", "arrow_left": "Left", "arrow_right": "Right",
	"ctrl": "Control_L", "control": "Control_L", "ctl": "Control_L",
	"ctrl_l": "Control_L", "control_l": "Control_L", "lctrl": "Control_L",
	"ctrl_r": "Control_R", "control_r": "Control_R", "rctrl": "Control_R",
	"alt": "Alt_L", "alt_l": "Alt_L", "lalt": "Alt_L", "option": "Alt_L", "opt": "Alt_L",
	"alt_r": "Alt_R", "ralt": "Alt_R", "altgr": "ISO_Level3_Shift",
	"shift": "Shift_L", "shift_l": "Shift_L", "lshift": "Shift_L",
	"shift_r": "Shift_R", "rshift": "Shift_R",
	"cmd": "Super_L", "command": "Super_L", "super": "Super_L", "super_l": "Super_L",
	"win": "Super_L", "windows": "Super_L", "meta": "Super_L", "os": "Super_L",
	"super_r": "Super_R", "cmd_r": "Super_R", "win_r": "Super_R",
	"capslock": "Caps_Lock", "caps_lock": "Caps_Lock", "caps": "Caps_Lock",
	"numlock": "Num_Lock", "num_lock": "Num_Lock",
	"scrolllock": "Scroll_Lock", "scroll_lock": "Scroll_Lock",
	"printscreen": "Print", "print_screen": "Print", "print": "Print", "prtsc": "Print", "prtscr": "Print", "sysrq": "Sys_Req",
	"menu": "Menu", "apps": "Menu", "contextmenu": "Menu",
	"pause": "Pause", "break": "Break",
	"plus": "plus", "minus": "minus", "comma": "comma", "period": "period", "slash": "slash",
	"backslash": "backslash", "semicolon": "semicolon", "quote": "apostrophe", "apostrophe": "apostrophe",
	"backquote": "grave", "grave": "grave", "equal": "equal", "equals": "equal",
	"volumeup": "XF86AudioRaiseVolume", "volume_up": "XF86AudioRaiseVolume",
	"volumedown": "XF86AudioLowerVolume", "volume_down": "XF86AudioLowerVolume",
	"volumemute": "XF86AudioMute", "mute": "XF86AudioMute",
}

// lowerKeysyms maps lower-cased keysym names to values for case-insensitive
// look-ups. Where two names differ only by case (Aacute / aacute) the exact
// spelling is tried first, so the collision only matters for odd spellings.
var lowerKeysyms = func() map[string]uint32 {
	m := make(map[string]uint32, len(keysymNames))
	for name, v := range keysymNames {
		l := strings.ToLower(name)
		if old, ok := m[l]; !ok || v < old {
			m[l] = v
		}
	}
	return m
}()

// ParseKey turns a key name into keysyms. A single key ("enter", "Return",
// "KP_Enter", "XF86AudioMute", "f5", "a", "€") gives one keysym; an
// xdotool-style combination ("ctrl+shift+t", "ctrl++") gives one per part,
// in order. Aliases and keysym names are case-insensitive; a single
// character is taken literally ("A" is shift+a).
func ParseKey(name string) ([]xproto.Keysym, error) {
	if ks, ok := parseOne(strings.TrimSpace(name)); ok && name != "" {
		return []xproto.Keysym{ks}, nil // "U+20AC" is one key, not a combination
	}
	parts := splitCombo(name)
	if len(parts) == 0 {
		return nil, badKey(name, "key is empty")
	}
	out := make([]xproto.Keysym, 0, len(parts))
	for _, p := range parts {
		ks, ok := parseOne(p)
		if !ok {
			return nil, badKey(name, "unknown key %q: use a name like enter, ctrl, f5, pageup, an X keysym name (Return, KP_Enter) or a single character", p)
		}
		out = append(out, ks)
	}
	return out, nil
}

func badKey(name, format string, args ...any) *sandbox.Error {
	return sandbox.InvalidArgument("key", format, args...).WithDetail("key", name)
}

// splitCombo splits "ctrl+shift+t" on '+', where an empty part stands for
// the '+' key itself ("ctrl++" is ctrl and plus, "+" is plus).
func splitCombo(s string) []string {
	if utf8.RuneCountInString(s) == 1 {
		return []string{s} // " " is the space key
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	raw := strings.Split(s, "+")
	var parts []string
	for i := 0; i < len(raw); i++ {
		p := strings.TrimSpace(raw[i])
		if p != "" {
			parts = append(parts, p)
			continue
		}
		// An empty part: "a++" splits as [a, "", ""]; the pair stands for '+'.
		if i+1 < len(raw) && strings.TrimSpace(raw[i+1]) == "" {
			parts = append(parts, "+")
			i++
			continue
		}
		// A lone '+' at either end ("ctrl+", "+a"): nothing pressable.
		return append(parts, "")
	}
	return parts
}

func parseOne(p string) (xproto.Keysym, bool) {
	if p == "" {
		return 0, false
	}
	if r, size := utf8.DecodeRuneInString(p); size == len(p) {
		if r == utf8.RuneError || r == 0 {
			return 0, false
		}
		ks := runeKeysym(r)
		return ks, ks != 0
	}
	if v, ok := keysymNames[p]; ok {
		return xproto.Keysym(v), true
	}
	l := strings.ToLower(p)
	if a, ok := keyAliases[l]; ok {
		return xproto.Keysym(keysymNames[a]), true
	}
	if v, ok := lowerKeysyms[l]; ok {
		return xproto.Keysym(v), true
	}
	// f1..f35 are in the table; hex keysyms (0xff0d) and code points
	// (U+20AC, U20AC) are accepted for completeness.
	if strings.HasPrefix(l, "0x") {
		if v, err := strconv.ParseUint(l[2:], 16, 32); err == nil && v != 0 && v <= 0x1fffffff {
			return xproto.Keysym(v), true
		}
	}
	if strings.HasPrefix(l, "u+") || (strings.HasPrefix(l, "u") && len(l) >= 5) {
		hex := strings.TrimPrefix(strings.TrimPrefix(l, "u+"), "u")
		if v, err := strconv.ParseUint(hex, 16, 32); err == nil && v > 0 && v <= unicode.MaxRune {
			if ks := runeKeysym(rune(v)); ks != 0 {
				return ks, true
			}
		}
	}
	return 0, false
}

// runeKeysym is the keysym that types r: control characters map to their
// keys, Latin-1 keysyms equal the code point and everything else uses the
// Unicode keysym range.
func runeKeysym(r rune) xproto.Keysym {
	switch r {
	case '\n', '\r':
		return ksReturn
	case '\t':
		return ksTab
	case '\b':
		return ksBackSpace
	case 0x1b:
		return ksEscape
	case 0x7f:
		return ksDelete
	}
	switch {
	case r < 0x20 || (r >= 0x80 && r < 0xa0):
		return 0 // other control characters type nothing
	case r <= 0xff:
		return xproto.Keysym(r)
	case r > unicode.MaxRune || (r >= 0xd800 && r <= 0xdfff):
		return 0
	default:
		return xproto.Keysym(0x01000000 | uint32(r))
	}
}

// keysymRune is the character of a Latin-1 or Unicode keysym (0 if none).
func keysymRune(ks xproto.Keysym) rune {
	switch {
	case ks >= 0x20 && ks <= 0x7e, ks >= 0xa0 && ks <= 0xff:
		return rune(ks)
	case ks >= 0x01000100 && ks <= 0x0110ffff:
		return rune(ks & 0xffffff)
	}
	return 0
}
