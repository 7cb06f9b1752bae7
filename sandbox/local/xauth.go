package local

import (
	"encoding/binary"
	"os"
)

// writeXauth writes an Xauthority file with one MIT-MAGIC-COOKIE-1 entry
// for display 0 with the wildcard family, which matches whatever the host
// name is: inside a sandbox (its own uts namespace) DISPLAY=:0 finds it.
// Xvfb loads every cookie in its -auth file whatever the display, so the
// same file serves the server.
func writeXauth(path string, cookie []byte) error {
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	b = binary.BigEndian.AppendUint16(b, 0xffff) // FamilyWild
	field(nil)                                   // address
	field([]byte("0"))                           // display number
	field([]byte("MIT-MAGIC-COOKIE-1"))
	field(cookie)
	return os.WriteFile(path, b, 0o600)
}
