package x11

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strconv"
)

// Xauthority files are records of family (16 bits), address, display
// number, auth name and auth data, each string prefixed with its 16-bit
// big-endian length.

const (
	cookieName = "MIT-MAGIC-COOKIE-1"
	familyWild = 0xffff
)

// WriteXauthority writes an Xauthority file (mode 0600) with one
// MIT-MAGIC-COOKIE-1 entry for display number n with the wildcard family,
// which matches whatever the host name is (inside a sandbox's own uts
// namespace too). An X server loads every cookie in its -auth file
// whatever the display, so the same file can serve the server.
func WriteXauthority(path string, n int, cookie []byte) error {
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	b = binary.BigEndian.AppendUint16(b, familyWild)
	field(nil) // address
	field([]byte(strconv.Itoa(n)))
	field([]byte(cookieName))
	field(cookie)
	return os.WriteFile(path, b, 0o600)
}

// XauthorityCookie is the MIT-MAGIC-COOKIE-1 of display number n (as
// written after the colon: "7") in the contents of an Xauthority file, or
// nil when it has none.
func XauthorityCookie(data []byte, n string) []byte {
	r := bytes.NewReader(data)
	str := func() ([]byte, error) {
		var l uint16
		if err := binary.Read(r, binary.BigEndian, &l); err != nil {
			return nil, err
		}
		b := make([]byte, l)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	for {
		var family uint16
		if binary.Read(r, binary.BigEndian, &family) != nil {
			return nil
		}
		var fields [4][]byte // address, number, name, data
		for i := range fields {
			var err error
			if fields[i], err = str(); err != nil {
				return nil
			}
		}
		if string(fields[1]) == n && string(fields[2]) == cookieName && len(fields[3]) == 16 {
			return fields[3]
		}
	}
}
