package x11

import "github.com/vmservice/vmservice/sandbox"

// Argument checks of the desktop calls, shared with the e2b backend's
// xdotool path so that the same bad input gets the same error whichever
// way the desktop is driven.

// CheckPoint checks that p is on a width x height screen; field names the
// argument in the error.
func CheckPoint(p sandbox.Point, width, height int, field string) error {
	if p.X < 0 || p.Y < 0 || p.X >= width || p.Y >= height {
		return sandbox.InvalidArgument(field, "point (%d, %d) is outside the %dx%d screen", p.X, p.Y, width, height).
			WithDetail("x", p.X).WithDetail("y", p.Y).
			WithDetail("width", width).WithDetail("height", height)
	}
	return nil
}

// ButtonNumber is X's number for a mouse button ("" is left).
func ButtonNumber(b sandbox.Button) (byte, error) {
	switch b {
	case sandbox.ButtonLeft, "":
		return 1, nil
	case sandbox.ButtonMiddle:
		return 2, nil
	case sandbox.ButtonRight:
		return 3, nil
	}
	return 0, sandbox.InvalidArgument("button", "unknown button %q: use left, right or middle", string(b)).
		WithDetail("allowed", []string{"left", "right", "middle"})
}

// ClickCount checks a click count: 1 (single), 2 (double) or 3 (triple);
// 0 means 1.
func ClickCount(n int) (int, error) {
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 3 {
		return 0, sandbox.InvalidArgument("count", "click count %d: use 1 (single), 2 (double) or 3 (triple)", n)
	}
	return n, nil
}

// WheelButton is X's button for a scroll direction (4 up, 5 down, 6 left,
// 7 right).
func WheelButton(dir sandbox.ScrollDirection) (byte, error) {
	switch dir {
	case sandbox.ScrollUp:
		return 4, nil
	case sandbox.ScrollDown:
		return 5, nil
	case sandbox.ScrollLeft:
		return 6, nil
	case sandbox.ScrollRight:
		return 7, nil
	}
	return 0, sandbox.InvalidArgument("direction", "unknown scroll direction %q: use up, down, left or right", string(dir)).
		WithDetail("allowed", []string{"up", "down", "left", "right"})
}

// ScrollAmount checks a number of wheel notches (1 to 1000; 0 means 1).
func ScrollAmount(n int) (int, error) {
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 1000 {
		return 0, sandbox.InvalidArgument("amount", "scroll amount %d: use 1 to 1000 notches", n)
	}
	return n, nil
}
