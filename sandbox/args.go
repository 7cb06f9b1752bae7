package sandbox

import "strings"

// Argument checks of the Desktop calls, backend-neutral so that the same bad
// input gets the same error whichever backend (or tool) checks it.

// CheckPoint checks that p is on a width x height screen; field names the
// argument in the error.
func CheckPoint(p Point, width, height int, field string) error {
	if p.X < 0 || p.Y < 0 || p.X >= width || p.Y >= height {
		return InvalidArgument(field, "point (%d, %d) is outside the %dx%d screen", p.X, p.Y, width, height).
			WithDetail("x", p.X).WithDetail("y", p.Y).
			WithDetail("width", width).WithDetail("height", height)
	}
	return nil
}

// ParseButton reads a mouse button name, case-insensitively; "" is left.
func ParseButton(name string) (Button, error) {
	switch b := Button(strings.ToLower(name)); b {
	case ButtonLeft, "":
		return ButtonLeft, nil
	case ButtonMiddle, ButtonRight:
		return b, nil
	}
	return "", InvalidArgument("button", "unknown button %q: use left, right or middle", name).
		WithDetail("allowed", []string{"left", "right", "middle"})
}

// ParseScrollDirection reads a wheel direction (up, down, left or right),
// case-insensitively.
func ParseScrollDirection(name string) (ScrollDirection, error) {
	switch d := ScrollDirection(strings.ToLower(name)); d {
	case ScrollUp, ScrollDown, ScrollLeft, ScrollRight:
		return d, nil
	}
	return "", InvalidArgument("direction", "unknown scroll direction %q: use up, down, left or right", name).
		WithDetail("allowed", []string{"up", "down", "left", "right"})
}

// ClickCount checks a click count: 1 (single), 2 (double) or 3 (triple);
// 0 means 1.
func ClickCount(n int) (int, error) {
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 3 {
		return 0, InvalidArgument("count", "click count %d: use 1 (single), 2 (double) or 3 (triple)", n)
	}
	return n, nil
}

// ScrollAmount checks a number of wheel notches (1 to 1000; 0 means 1).
func ScrollAmount(n int) (int, error) {
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 1000 {
		return 0, InvalidArgument("amount", "scroll amount %d: use 1 to 1000 notches", n)
	}
	return n, nil
}

// HomeDir is the sandbox user's home on every backend.
const HomeDir = "/home/user"

// ExpandHome reads a leading "~" or "~/" of a sandbox path as the home
// (what a window title such as mousepad's "~/notes.txt" shows); "~name"
// is left alone.
func ExpandHome(p string) string {
	if p == "~" {
		return HomeDir
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return HomeDir + "/" + rest
	}
	return p
}
