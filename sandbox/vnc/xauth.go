package vnc

import "github.com/vmservice/vmservice/sandbox/x11"

// WriteXauthority is x11.WriteXauthority, for callers that know it here.
func WriteXauthority(path string, n int, cookie []byte) error {
	return x11.WriteXauthority(path, n, cookie)
}
