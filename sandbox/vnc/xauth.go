package vnc

import (
	"encoding/binary"
	"os"
	"strconv"
)

// WriteXauthority writes an Xauthority file with one MIT-MAGIC-COOKIE-1
// entry for display number n with the wildcard family (any host name), for
// an x11vnc that connects from the host to ":n".
func WriteXauthority(path string, n int, cookie []byte) error {
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	b = binary.BigEndian.AppendUint16(b, 0xffff) // FamilyWild
	field(nil)
	field([]byte(strconv.Itoa(n)))
	field([]byte("MIT-MAGIC-COOKIE-1"))
	field(cookie)
	return os.WriteFile(path, b, 0o600)
}
