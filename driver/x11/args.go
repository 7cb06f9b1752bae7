package x11

import "github.com/vmservice/vmservice/sandbox"

// X's numbers for the desktop arguments; the checks themselves are
// sandbox's (CheckPoint, ParseButton, ClickCount, ...), shared with the e2b
// backend's xdotool path and the tools.

// ButtonNumber is X's number for a mouse button ("" is left).
func ButtonNumber(b sandbox.Button) (byte, error) {
	b, err := sandbox.ParseButton(string(b))
	if err != nil {
		return 0, err
	}
	switch b {
	case sandbox.ButtonMiddle:
		return 2, nil
	case sandbox.ButtonRight:
		return 3, nil
	}
	return 1, nil
}

// WheelButton is X's button for a scroll direction (4 up, 5 down, 6 left,
// 7 right).
func WheelButton(dir sandbox.ScrollDirection) (byte, error) {
	dir, err := sandbox.ParseScrollDirection(string(dir))
	if err != nil {
		return 0, err
	}
	switch dir {
	case sandbox.ScrollUp:
		return 4, nil
	case sandbox.ScrollDown:
		return 5, nil
	case sandbox.ScrollLeft:
		return 6, nil
	}
	return 7, nil
}
