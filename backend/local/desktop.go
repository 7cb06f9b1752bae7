//go:build linux

package local

import "github.com/vmservice/vmservice/sandbox"

// Desktop is the sandbox's X display, driven over the X protocol by one
// x11.Conn per sandbox (driver/x11).
func (in *Instance) Desktop() sandbox.Desktop { return in.display() }
