// Package vnctest has a minimal RFB client for tests: enough of the
// handshake to prove who may talk to a VNC server, and a frame-update loop
// with Raw encoding to read pixels.
package vnctest

import (
	"bufio"
	"crypto/des"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// Security types of RFB 3.8.
const (
	SecNone = 1
	SecVNC  = 2
)

// Client is an RFB 3.8 client over any stream.
type Client struct {
	conn net.Conn
	r    *bufio.Reader

	Width, Height int
	Name          string
}

// ReadBanner reads the 12-byte ProtocolVersion the server sends first.
func ReadBanner(c net.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [12]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return "", err
	}
	return string(b[:]), nil
}

// Handshake runs version, security (None or VNC auth with password) and
// init. It returns the security types the server offered alongside any
// error, so a test can assert on them.
func Handshake(c net.Conn, password string) (*Client, []byte, error) {
	cl := &Client{conn: c, r: bufio.NewReader(c)}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	var ver [12]byte
	if _, err := io.ReadFull(cl.r, ver[:]); err != nil {
		return nil, nil, fmt.Errorf("banner: %w", err)
	}
	if string(ver[:]) != "RFB 003.008\n" {
		return nil, nil, fmt.Errorf("unexpected banner %q", ver[:])
	}
	if _, err := c.Write([]byte("RFB 003.008\n")); err != nil {
		return nil, nil, err
	}
	n, err := cl.r.ReadByte()
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("server refused: %s", cl.readReason())
	}
	types := make([]byte, n)
	if _, err := io.ReadFull(cl.r, types); err != nil {
		return nil, nil, err
	}
	want := byte(SecNone)
	if password != "" {
		want = SecVNC
	}
	offered := false
	for _, t := range types {
		offered = offered || t == want
	}
	if !offered {
		return nil, types, fmt.Errorf("security type %d not offered (got %v)", want, types)
	}
	if _, err := c.Write([]byte{want}); err != nil {
		return nil, types, err
	}
	if want == SecVNC {
		var chal [16]byte
		if _, err := io.ReadFull(cl.r, chal[:]); err != nil {
			return nil, types, err
		}
		resp := VNCAuthResponse(password, chal)
		if _, err := c.Write(resp[:]); err != nil {
			return nil, types, err
		}
	}
	var res [4]byte
	if _, err := io.ReadFull(cl.r, res[:]); err != nil {
		return nil, types, err
	}
	if binary.BigEndian.Uint32(res[:]) != 0 {
		return nil, types, fmt.Errorf("authentication failed: %s", cl.readReason())
	}
	if _, err := c.Write([]byte{1}); err != nil { // ClientInit: shared
		return nil, types, err
	}
	var si [24]byte
	if _, err := io.ReadFull(cl.r, si[:]); err != nil {
		return nil, types, err
	}
	cl.Width = int(binary.BigEndian.Uint16(si[0:]))
	cl.Height = int(binary.BigEndian.Uint16(si[2:]))
	name := make([]byte, binary.BigEndian.Uint32(si[20:]))
	if _, err := io.ReadFull(cl.r, name); err != nil {
		return nil, types, err
	}
	cl.Name = string(name)
	return cl, types, nil
}

func (cl *Client) readReason() string {
	var l [4]byte
	if _, err := io.ReadFull(cl.r, l[:]); err != nil {
		return "(no reason)"
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > 4096 {
		return "(reason too long)"
	}
	b := make([]byte, n)
	_, _ = io.ReadFull(cl.r, b)
	return string(b)
}

// VNCAuthResponse encrypts the challenge with the password as RFB's DES
// variant does (first 8 bytes, each byte's bits reversed).
func VNCAuthResponse(password string, chal [16]byte) [16]byte {
	var key [8]byte
	copy(key[:], password)
	for i, b := range key {
		var r byte
		for j := 0; j < 8; j++ {
			if b&(1<<j) != 0 {
				r |= 1 << (7 - j)
			}
		}
		key[i] = r
	}
	blk, _ := des.NewCipher(key[:])
	var out [16]byte
	blk.Encrypt(out[:8], chal[:8])
	blk.Encrypt(out[8:], chal[8:])
	return out
}

// Pixel reads one full frame in Raw encoding (32 bpp, little-endian
// 0x00RRGGBB) and returns the colour at x, y as 0xRRGGBB.
func (cl *Client) Pixel(x, y int) (uint32, error) {
	c := cl.conn
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	// SetPixelFormat: 32 bpp, depth 24, little endian, true colour.
	pf := []byte{0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}
	// SetEncodings: Raw only.
	enc := []byte{2, 0, 0, 1, 0, 0, 0, 0}
	req := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(req[6:], uint16(cl.Width))
	binary.BigEndian.PutUint16(req[8:], uint16(cl.Height))
	for _, m := range [][]byte{pf, enc, req} {
		if _, err := c.Write(m); err != nil {
			return 0, err
		}
	}
	var got *uint32
	for got == nil {
		t, err := cl.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch t {
		case 0: // FramebufferUpdate
			var h [3]byte
			if _, err := io.ReadFull(cl.r, h[:]); err != nil {
				return 0, err
			}
			for i := 0; i < int(binary.BigEndian.Uint16(h[1:])); i++ {
				var r [12]byte
				if _, err := io.ReadFull(cl.r, r[:]); err != nil {
					return 0, err
				}
				rx, ry := int(binary.BigEndian.Uint16(r[0:])), int(binary.BigEndian.Uint16(r[2:]))
				rw, rh := int(binary.BigEndian.Uint16(r[4:])), int(binary.BigEndian.Uint16(r[6:]))
				if e := int32(binary.BigEndian.Uint32(r[8:])); e != 0 {
					return 0, fmt.Errorf("unexpected encoding %d", e)
				}
				buf := make([]byte, rw*rh*4)
				if _, err := io.ReadFull(cl.r, buf); err != nil {
					return 0, err
				}
				if x >= rx && x < rx+rw && y >= ry && y < ry+rh {
					o := ((y-ry)*rw + (x - rx)) * 4
					v := binary.LittleEndian.Uint32(buf[o:]) & 0xffffff
					got = &v
				}
			}
			if got == nil {
				if _, err := c.Write(req); err != nil {
					return 0, err
				}
			}
		case 2: // Bell
		case 3: // ServerCutText
			var h [7]byte
			if _, err := io.ReadFull(cl.r, h[:]); err != nil {
				return 0, err
			}
			if _, err := io.CopyN(io.Discard, cl.r, int64(binary.BigEndian.Uint32(h[3:]))); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("unexpected server message %d", t)
		}
	}
	return *got, nil
}

// WaitPixel reads frames until the colour at x, y is want or timeout
// passes (x11vnc's first frames can predate its first poll of the screen),
// and returns the last colour seen.
func (cl *Client) WaitPixel(x, y int, want uint32, timeout time.Duration) (uint32, error) {
	end := time.Now().Add(timeout)
	for {
		got, err := cl.Pixel(x, y)
		if err != nil || got == want || time.Now().After(end) {
			return got, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
