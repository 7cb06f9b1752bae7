// Package helperproto is the protocol between the e2b backend and vmhelper,
// the static binary it uploads into a sandbox and keeps running as one
// process: one JSON request per line on the helper's stdin (sent through
// envd's SendInput), one JSON reply per line on its stdout (streamed back by
// envd's process.Start). Replies come in request order. A screenshot's PNG
// follows its reply line as png_len raw bytes: inside JSON it would be
// base64 twice over (envd base64-encodes stdout too). OpA11y carries a
// request of the accessibility driver (driver/atspi), which the helper
// runs beside the sandbox's applications.
package helperproto

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"time"

	"github.com/vmservice/vmservice/driver/atspi"
	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
)

// Ops.
const (
	OpHello          = "hello"
	OpMove           = "move"
	OpClick          = "click"
	OpMouseDown      = "mousedown"
	OpMouseUp        = "mouseup"
	OpDrag           = "drag"
	OpScroll         = "scroll"
	OpType           = "type"
	OpKeys           = "keys"
	OpKeyDown        = "keydown"
	OpKeyUp          = "keyup"
	OpCursor         = "cursor"
	OpScreenSize     = "size"
	OpScreenshot     = "screenshot"
	OpCurrentWindow  = "curwin"
	OpAppWindows     = "appwins"
	OpWindowTitle    = "title"
	OpSettle         = "settle"
	OpA11y           = "a11y"
	protocolRevision = 3 // 2: settle, 3: a11y
)

// Request is one line on the helper's stdin.
type Request struct {
	ID        uint64            `json:"id"`
	Op        string            `json:"op"`
	Point     *sandbox.Point    `json:"p,omitempty"`
	To        *sandbox.Point    `json:"to,omitempty"`
	Button    sandbox.Button    `json:"b,omitempty"`
	Count     int               `json:"n,omitempty"`
	Modifiers []string          `json:"mods,omitempty"`
	Keys      []string          `json:"keys,omitempty"`
	Text      string            `json:"text,omitempty"`
	ChunkSize int               `json:"chunk,omitempty"`
	DelayMS   int64             `json:"delay_ms,omitempty"`
	Dir       string            `json:"dir,omitempty"`
	Region    *image.Rectangle  `json:"region,omitempty"`
	Window    sandbox.WindowID  `json:"win,omitempty"`
	App       string            `json:"app,omitempty"`
	QuietMS   int64             `json:"quiet_ms,omitempty"`
	MaxMS     int64             `json:"max_ms,omitempty"`
	Extra     map[string]string `json:"extra,omitempty"`
	A11y      *atspi.Request    `json:"a11y,omitempty"`
}

// Reply is one line on the helper's stdout.
type Reply struct {
	ID       uint64              `json:"id"`
	Err      *sandbox.Error      `json:"err,omitempty"`
	Point    *sandbox.Point      `json:"p,omitempty"`
	Size     *sandbox.Resolution `json:"size,omitempty"`
	N        int                 `json:"n,omitempty"`
	PNGLen   int                 `json:"png_len,omitempty"`
	PNG      []byte              `json:"-"` // sent after the line
	Window   sandbox.WindowID    `json:"win,omitempty"`
	Windows  []sandbox.WindowID  `json:"wins,omitempty"`
	Title    string              `json:"title,omitempty"`
	Revision int                 `json:"rev,omitempty"`
	Settle   *SettleReply        `json:"settle,omitempty"`
	A11y     *atspi.Reply        `json:"a11y,omitempty"`
}

// SettleReply is how a settle op's wait ended (sandbox.Settle).
type SettleReply struct {
	WaitedMS int64 `json:"waited_ms"`
	Settled  bool  `json:"settled"`
	Changes  int   `json:"changes"`
	BusyMS   int64 `json:"busy_ms,omitempty"`
}

// maxLine bounds a reply line (an accessibility snapshot is the longest).
const maxLine = 2 * atspi.MaxReplyBytes

// ReadReply reads one reply (and its PNG bytes) from the helper's stdout.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // longer than the buffer: gather it
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) <= maxLine {
			line, err = r.ReadSlice('\n')
			long = append(long, line...)
		}
		if len(long) > maxLine {
			return rep, errors.New("helper reply line too long")
		}
		line = long
	}
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, err
	}
	// The helper runs as the sandbox's user (sandbox code can replace it):
	// a frame is at most what a noisy 4K screen takes (about 25 MB).
	if rep.PNGLen < 0 || rep.PNGLen > MaxPNG {
		return rep, errors.New("helper reply has a bad png_len")
	}
	if rep.PNGLen > 0 {
		rep.PNG = make([]byte, rep.PNGLen)
		if _, err := io.ReadFull(r, rep.PNG); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// MaxPNG bounds one frame from the helper.
const MaxPNG = 64 << 20

// Encoder turns a frame into PNG bytes (imgenc.Encode in vmhelper).
type Encoder func(img *image.RGBA) ([]byte, error)

// A11yFunc answers an accessibility request (an atspi.Driver's Handle,
// with the display's windows added).
type A11yFunc func(ctx context.Context, q atspi.Request) atspi.Reply

// Serve answers requests from r on w with d and acc (nil: the helper has
// no accessibility driver) until r ends. Each request gets at most timeout.
func Serve(r io.Reader, w io.Writer, d sandbox.Desktop, enc Encoder, acc A11yFunc, timeout time.Duration) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	bw := bufio.NewWriterSize(w, 256<<10)
	je := json.NewEncoder(bw)
	for sc.Scan() {
		var req Request
		var rep Reply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep.Err = sandbox.InvalidArgument("request", "the helper could not parse a request")
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			rep = handle(ctx, d, enc, acc, req)
			cancel()
		}
		rep.ID = req.ID
		rep.PNGLen = len(rep.PNG)
		if err := je.Encode(&rep); err != nil {
			return err
		}
		if _, err := bw.Write(rep.PNG); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

func handle(ctx context.Context, d sandbox.Desktop, enc Encoder, acc A11yFunc, q Request) (r Reply) {
	var err error
	pt := func() sandbox.Point {
		if q.Point == nil {
			return sandbox.Point{}
		}
		return *q.Point
	}
	switch q.Op {
	case OpHello:
		r.Revision = protocolRevision
	case OpMove:
		err = d.MoveMouse(ctx, pt())
	case OpClick:
		err = d.Click(ctx, q.Point, q.Button, q.Count, q.Modifiers)
	case OpMouseDown:
		err = d.MouseDown(ctx, q.Button)
	case OpMouseUp:
		err = d.MouseUp(ctx, q.Button)
	case OpDrag:
		if q.To == nil {
			err = sandbox.InvalidArgument("to", "drag needs a destination")
			break
		}
		err = d.Drag(ctx, pt(), *q.To, q.Button)
	case OpScroll:
		err = d.Scroll(ctx, q.Point, sandbox.ScrollDirection(q.Dir), q.Count, q.Modifiers)
	case OpType:
		r.N, err = d.TypeText(ctx, q.Text, q.ChunkSize, time.Duration(q.DelayMS)*time.Millisecond)
	case OpKeys:
		err = d.PressKeys(ctx, q.Keys)
	case OpKeyDown:
		err = d.KeyDown(ctx, q.Text)
	case OpKeyUp:
		err = d.KeyUp(ctx, q.Text)
	case OpCursor:
		var p sandbox.Point
		p, err = d.CursorPosition(ctx)
		r.Point = &p
	case OpScreenSize:
		var s sandbox.Resolution
		s, err = d.ScreenSize(ctx)
		r.Size = &s
	case OpScreenshot:
		var region image.Rectangle
		if q.Region != nil {
			region = *q.Region
		}
		var img *image.RGBA
		if img, err = d.Screenshot(ctx, region); err == nil {
			r.PNG, err = enc(img)
		}
	case OpCurrentWindow:
		r.Window, err = d.CurrentWindow(ctx)
	case OpAppWindows:
		r.Windows, err = d.ApplicationWindows(ctx, q.App)
	case OpWindowTitle:
		r.Title, err = d.WindowTitle(ctx, q.Window)
	case OpSettle:
		st, ok := d.(sandbox.Settler)
		if !ok {
			err = sandbox.Errorf(sandbox.CodeBackendUnavailable, "the helper's desktop cannot tell when its screen is still")
			break
		}
		var s sandbox.Settle
		s, err = st.WaitSettled(ctx, sandbox.SettleOptions{Quiet: time.Duration(q.QuietMS) * time.Millisecond, Max: time.Duration(q.MaxMS) * time.Millisecond})
		r.Settle = &SettleReply{WaitedMS: s.Waited.Milliseconds(), Settled: s.Settled, Changes: s.Changes, BusyMS: s.Busy.Milliseconds()}
	case OpA11y:
		switch {
		case acc == nil:
			err = sandbox.Errorf(sandbox.CodeBackendUnavailable, "this helper has no accessibility driver")
		case q.A11y == nil:
			err = sandbox.InvalidArgument("a11y", "an a11y request needs its accessibility request")
		default:
			rep := acc(ctx, *q.A11y)
			r.A11y = &rep
		}
	default:
		err = sandbox.InvalidArgument("op", "the helper does not know %q", q.Op)
	}
	if err != nil {
		var se *sandbox.Error
		if !errors.As(err, &se) {
			se = sandbox.AsError(err)
		}
		r = Reply{Err: se}
	}
	return r
}

// Client is sandbox.Desktop over the protocol (the e2b backend's side):
// Call sends one request and waits for its reply. A Desktop method is one
// op: its constant, its case in handle and its Client method, all here.
type Client struct {
	Call func(ctx context.Context, q Request) (Reply, error)
}

var _ sandbox.Desktop = Client{}

func (c Client) MoveMouse(ctx context.Context, p sandbox.Point) error {
	_, err := c.Call(ctx, Request{Op: OpMove, Point: &p})
	return err
}

func (c Client) Click(ctx context.Context, p *sandbox.Point, b sandbox.Button, count int, mods []string) error {
	_, err := c.Call(ctx, Request{Op: OpClick, Point: p, Button: b, Count: count, Modifiers: mods})
	return err
}

func (c Client) MouseDown(ctx context.Context, b sandbox.Button) error {
	_, err := c.Call(ctx, Request{Op: OpMouseDown, Button: b})
	return err
}

func (c Client) MouseUp(ctx context.Context, b sandbox.Button) error {
	_, err := c.Call(ctx, Request{Op: OpMouseUp, Button: b})
	return err
}

func (c Client) Drag(ctx context.Context, from, to sandbox.Point, b sandbox.Button) error {
	_, err := c.Call(ctx, Request{Op: OpDrag, Point: &from, To: &to, Button: b})
	return err
}

func (c Client) Scroll(ctx context.Context, p *sandbox.Point, dir sandbox.ScrollDirection, amount int, mods []string) error {
	_, err := c.Call(ctx, Request{Op: OpScroll, Point: p, Dir: string(dir), Count: amount, Modifiers: mods})
	return err
}

func (c Client) TypeText(ctx context.Context, text string, chunk int, delay time.Duration) (int, error) {
	r, err := c.Call(ctx, Request{Op: OpType, Text: text, ChunkSize: chunk, DelayMS: delay.Milliseconds()})
	return r.N, err
}

func (c Client) PressKeys(ctx context.Context, keys []string) error {
	_, err := c.Call(ctx, Request{Op: OpKeys, Keys: keys})
	return err
}

func (c Client) KeyDown(ctx context.Context, key string) error {
	_, err := c.Call(ctx, Request{Op: OpKeyDown, Text: key})
	return err
}

func (c Client) KeyUp(ctx context.Context, key string) error {
	_, err := c.Call(ctx, Request{Op: OpKeyUp, Text: key})
	return err
}

func (c Client) CursorPosition(ctx context.Context) (sandbox.Point, error) {
	r, err := c.Call(ctx, Request{Op: OpCursor})
	if err != nil || r.Point == nil {
		return sandbox.Point{}, err
	}
	return *r.Point, nil
}

func (c Client) ScreenSize(ctx context.Context) (sandbox.Resolution, error) {
	r, err := c.Call(ctx, Request{Op: OpScreenSize})
	if err != nil || r.Size == nil {
		return sandbox.Resolution{}, err
	}
	return *r.Size, nil
}

func (c Client) Screenshot(ctx context.Context, region image.Rectangle) (*image.RGBA, error) {
	data, _, err := c.ScreenshotPNG(ctx, region)
	if err != nil {
		return nil, err
	}
	return imgenc.DecodePNG(data)
}

// ScreenshotPNG is the helper's PNG as it came (sandbox.PNGSource).
func (c Client) ScreenshotPNG(ctx context.Context, region image.Rectangle) ([]byte, bool, error) {
	q := Request{Op: OpScreenshot}
	if !region.Empty() {
		q.Region = &region
	}
	r, err := c.Call(ctx, q)
	if err != nil {
		return nil, false, err
	}
	return r.PNG, true, nil
}

var _ sandbox.PNGSource = Client{}

func (c Client) CurrentWindow(ctx context.Context) (sandbox.WindowID, error) {
	r, err := c.Call(ctx, Request{Op: OpCurrentWindow})
	return r.Window, err
}

func (c Client) ApplicationWindows(ctx context.Context, app string) ([]sandbox.WindowID, error) {
	r, err := c.Call(ctx, Request{Op: OpAppWindows, App: app})
	return r.Windows, err
}

var _ sandbox.Settler = Client{}

// WaitSettled waits in the helper, next to the X server: one round trip
// however long the wait (requests queue behind it meanwhile).
func (c Client) WaitSettled(ctx context.Context, o sandbox.SettleOptions) (sandbox.Settle, error) {
	r, err := c.Call(ctx, Request{Op: OpSettle, QuietMS: o.Quiet.Milliseconds(), MaxMS: o.Max.Milliseconds()})
	if err != nil || r.Settle == nil {
		return sandbox.Settle{}, err
	}
	return sandbox.Settle{Waited: time.Duration(r.Settle.WaitedMS) * time.Millisecond, Settled: r.Settle.Settled,
		Changes: r.Settle.Changes, Busy: time.Duration(r.Settle.BusyMS) * time.Millisecond}, nil
}

func (c Client) WindowTitle(ctx context.Context, id sandbox.WindowID) (string, error) {
	r, err := c.Call(ctx, Request{Op: OpWindowTitle, Window: id})
	return r.Title, err
}

var _ sandbox.Accessibility = Client{}

// a11y sends one accessibility request.
func (c Client) a11y(ctx context.Context, q atspi.Request) (*atspi.Reply, error) {
	r, err := c.Call(ctx, Request{Op: OpA11y, A11y: &q})
	if err != nil {
		return nil, err
	}
	if r.A11y == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the helper sent no accessibility reply")
	}
	if r.A11y.Err != nil {
		return nil, r.A11y.Err
	}
	return r.A11y, nil
}

// A11ySnapshot asks the helper's accessibility driver for a snapshot.
func (c Client) A11ySnapshot(ctx context.Context, q sandbox.A11yQuery) (*sandbox.A11ySnapshot, error) {
	r, err := c.a11y(ctx, atspi.Request{Op: atspi.OpSnapshot, Query: &q})
	if err != nil {
		return nil, err
	}
	if r.Snapshot == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the helper sent no snapshot")
	}
	r.Snapshot.Took = time.Duration(r.TookUS) * time.Microsecond
	return r.Snapshot, nil
}

// A11yFind asks the helper's accessibility driver for a search.
func (c Client) A11yFind(ctx context.Context, q sandbox.A11yQuery) ([]sandbox.A11yElement, error) {
	r, err := c.a11y(ctx, atspi.Request{Op: atspi.OpFind, Query: &q})
	if err != nil {
		return nil, err
	}
	if r.Elements == nil {
		r.Elements = []sandbox.A11yElement{}
	}
	return r.Elements, nil
}

// A11yAct asks the helper's accessibility driver to act on an element.
func (c Client) A11yAct(ctx context.Context, a sandbox.A11yAction) (*sandbox.A11yActResult, error) {
	r, err := c.a11y(ctx, atspi.Request{Op: atspi.OpAct, Action: &a})
	if err != nil {
		return nil, err
	}
	if r.Act == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the helper sent no result")
	}
	return r.Act, nil
}
