// Package x11 drives an X11 desktop directly over the X protocol: input
// through XTEST, pixels through GetImage, windows through EWMH properties.
// One *Conn is one X connection; its methods are safe for concurrent use and
// are serialised by a mutex so input events keep the order of the calls.
package x11

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"

	"github.com/vmservice/vmservice/sandbox"
)

// Conn is a connection to one X display. It implements sandbox.Desktop.
type Conn struct {
	mu  sync.Mutex // serialises every call: one batch of events at a time
	xc  *xgb.Conn
	log atomic.Pointer[zerolog.Logger] // read by the event loop too

	root          xproto.Window
	width, height int
	pix           pixelFormat

	closed atomic.Bool
	dead   atomic.Bool   // the event loop saw the connection drop
	done   chan struct{} // closed when the event loop ends

	kb    keyboard
	atoms map[string]xproto.Atom

	shot      frameBuffer
	shm       *shmSegment // nil when MIT-SHM is unavailable
	noSHM     bool
	serverUID int // uid of the X server process, -1 when unknown
	serverPID int // pid of the X server process, 0 when unknown

	dmg damageState // settle detection (settle.go)
}

var _ sandbox.Desktop = (*Conn)(nil)

func init() {
	// xgb logs through a package-level logger. Route it to zerolog at debug
	// level; the "no authority" notes are expected (Dial supplies the cookie
	// itself) and dropped.
	xgb.Logger = log.New(xgbLogWriter{}, "", 0)
}

type xgbLogWriter struct{}

func (xgbLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "authority info") {
		return len(p), nil
	}
	zlog.Debug().Str("component", "xgb").Msg(msg)
	return len(p), nil
}

// Dial connects over the X server's unix socket (e.g. /tmp/.X11-unix/X123)
// authenticating with an MIT-MAGIC-COOKIE-1 cookie (raw 16 bytes). It reads
// no environment variables and no Xauthority file.
func Dial(socketPath string, cookie []byte) (*Conn, error) {
	if len(cookie) != 16 {
		return nil, sandbox.InvalidArgument("cookie", "an MIT-MAGIC-COOKIE-1 cookie is 16 bytes, got %d", len(cookie))
	}
	nc, err := net.DialTimeout("unix", socketPath, 5*time.Second)
	if err != nil {
		return nil, unavailable("cannot reach the X server").WithCause(err)
	}
	// The handshake must not hang on a wedged server.
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	xc, err := xgb.NewConnNet(&cookieConn{Conn: nc, cookie: append([]byte(nil), cookie...)})
	if err != nil {
		nc.Close()
		return nil, unavailable("the X server refused the connection").WithCause(err)
	}
	_ = nc.SetDeadline(time.Time{})
	c, err := newConn(xc)
	if err != nil {
		return nil, err
	}
	c.serverPID, c.serverUID = peerCred(nc)
	return c, nil
}

// DialEnv connects using $DISPLAY and $XAUTHORITY (for helpers that run
// inside a sandbox).
func DialEnv() (*Conn, error) {
	xc, err := xgb.NewConnDisplay("")
	if err != nil {
		return nil, unavailable("cannot connect to the X display").WithCause(err)
	}
	return newConn(xc)
}

// cookieConn rewrites the connection set-up request xgb sends (which
// carries whatever xgb found in $XAUTHORITY, if anything) so that it
// carries our cookie instead, and bounds what the server sends (guard.go).
type cookieConn struct {
	net.Conn
	cookie []byte
	sent   bool
	guard  frameGuard
}

func (c *cookieConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if gerr := c.guard.scan(b[:n]); gerr != nil {
		c.Conn.Close()
		return 0, gerr
	}
	return n, err
}

func (c *cookieConn) Write(b []byte) (int, error) {
	if c.sent {
		return c.Conn.Write(b)
	}
	c.sent = true
	const name = "MIT-MAGIC-COOKIE-1"
	buf := make([]byte, 12+xgb.Pad(len(name))+xgb.Pad(len(c.cookie)))
	buf[0] = 0x6c // little-endian, as xgb itself speaks
	xgb.Put16(buf[2:], 11)
	xgb.Put16(buf[6:], uint16(len(name)))
	xgb.Put16(buf[8:], uint16(len(c.cookie)))
	copy(buf[12:], name)
	copy(buf[12+xgb.Pad(len(name)):], c.cookie)
	if _, err := c.Conn.Write(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

func newConn(xc *xgb.Conn) (*Conn, error) {
	fail := func(e error) (*Conn, error) {
		xc.Close()
		return nil, e
	}
	if err := initExtension(xc, "XTEST", xtest.Init); err != nil {
		return fail(unavailable("the X server has no XTEST extension").WithCause(err))
	}
	setup := xproto.Setup(xc)
	if setup == nil || len(setup.Roots) <= xc.DefaultScreen {
		return fail(unavailable("the X server sent no screen"))
	}
	scr := setup.DefaultScreen(xc)
	l := zlog.Logger.With().Str("component", "x11").Logger()
	c := &Conn{
		xc:        xc,
		root:      scr.Root,
		width:     int(scr.WidthInPixels),
		height:    int(scr.HeightInPixels),
		done:      make(chan struct{}),
		serverUID: -1,
		atoms:     map[string]xproto.Atom{},
	}
	c.log.Store(&l)
	c.pix = newPixelFormat(setup, scr)
	c.kb.min, c.kb.max = setup.MinKeycode, setup.MaxKeycode
	go c.events()

	if err := c.internAtoms(atomNames...); err != nil {
		return fail(err)
	}
	if err := c.loadKeymap(); err != nil {
		return fail(err)
	}
	// Settle detection from the first input on; without DAMAGE only
	// WaitSettled fails (and says why).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.initDamage(ctx); err != nil {
		c.logger().Debug().Err(err).Msg("no settle detection yet")
	}
	return c, nil
}

// extMu guards xgb's process-wide event and error tables, which every
// extension's Init writes (for the event and error numbers the server
// gave it) while every connection's reader goroutine reads them:
// concurrent first screenshots crashed the server ("concurrent map
// writes" in shm.Init). Each extension is initialised once per process
// and numbering; other connections to servers numbering it the same way
// only record its opcode.
var (
	extMu   sync.Mutex
	extDone = map[string]bool{}
)

func initExtension(xc *xgb.Conn, name string, init func(*xgb.Conn) error) error {
	ext, err := xproto.QueryExtension(xc, uint16(len(name)), name).Reply()
	if err != nil {
		return err
	}
	if !ext.Present {
		return fmt.Errorf("the X server has no %s extension", name)
	}
	key := fmt.Sprintf("%s/%d/%d", name, ext.FirstEvent, ext.FirstError)
	extMu.Lock()
	defer extMu.Unlock()
	if !extDone[key] {
		if err := init(xc); err != nil {
			return err
		}
		extDone[key] = true
		return nil
	}
	xc.ExtLock.Lock()
	xc.Extensions[name] = ext.MajorOpcode
	xc.ExtLock.Unlock()
	return nil
}

// SetLogger replaces the logger (zerolog's global logger by default).
func (c *Conn) SetLogger(l zerolog.Logger) { c.log.Store(&l) }

func (c *Conn) logger() *zerolog.Logger { return c.log.Load() }

// events drains the event queue: xgb blocks reading once 5000 events pile
// up, and every client receives MappingNotify whenever the keymap changes.
func (c *Conn) events() {
	defer close(c.done)
	for {
		ev, xerr := c.xc.WaitForEvent()
		if ev == nil && xerr == nil {
			c.dead.Store(true)
			return
		}
		if xerr != nil {
			c.logger().Debug().Str("x_error", xerr.Error()).Msg("asynchronous X error")
			continue
		}
		if c.handleExtEvent(ev) {
			continue
		}
		if m, ok := ev.(xproto.MappingNotifyEvent); ok && m.Request != xproto.MappingPointer {
			c.kb.stale.Store(true)
		}
	}
}

// Done is closed when the connection has ended: closed, or lost (the X
// server went away or broke the protocol, guard.go).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection. Keycodes borrowed for characters missing
// from the keymap are given back first. It is idempotent.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	if !c.dead.Load() {
		c.restoreKeymap()
	}
	c.shmClose()
	c.xc.Close()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	return nil
}

// begin takes the lock for one call and checks the call may run.
func (c *Conn) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return sandbox.AsError(err)
	}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return unavailable("the X connection is closed")
	}
	if c.dead.Load() {
		c.mu.Unlock()
		return unavailable("the X server went away")
	}
	return nil
}

func (c *Conn) end() { c.mu.Unlock() }

// sync makes one round trip so every request sent before it has been
// processed by the server (XTEST events included) before the call returns.
func (c *Conn) sync(ctx context.Context) error {
	_, err := await(ctx, xproto.GetInputFocus(c.xc).Reply)
	return c.xerr(err)
}

// await waits for a reply, giving up when ctx ends (a wedged X server must
// not hang a tool call).
func await[R any](ctx context.Context, reply func() (R, error)) (R, error) {
	if ctx.Done() == nil {
		return reply()
	}
	type result struct {
		r   R
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := reply()
		ch <- result{r, err}
	}()
	select {
	case res := <-ch:
		return res.r, res.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// xerr converts errors from xgb into *sandbox.Error: a dropped connection
// is BACKEND_UNAVAILABLE, an X protocol error INTERNAL (callers map the
// ones they expect, e.g. BadWindow, before this).
func (c *Conn) xerr(err error) error {
	if err == nil {
		return nil
	}
	var se *sandbox.Error
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return sandbox.AsError(err)
	}
	if errors.Is(err, io.EOF) || c.dead.Load() {
		c.dead.Store(true)
		return unavailable("the X server went away").WithCause(err)
	}
	var xe xgb.Error
	if errors.As(err, &xe) {
		return sandbox.Errorf(sandbox.CodeInternal, "the X server rejected a request").WithCause(err)
	}
	return sandbox.AsError(err)
}

func unavailable(msg string) *sandbox.Error {
	return sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s", msg)
}
