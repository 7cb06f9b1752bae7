package helperproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/atspi"
	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/driver/x11/x11test"
	"github.com/vmservice/vmservice/sandbox"
)

// TestLongReplies: an accessibility reply is longer than the reader's
// buffer; it arrives whole, and the next reply after it.
func TestLongReplies(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	big := strings.Repeat("e1 button \"OK\"\n", 20000) // ~330 KB of snapshot
	go func() {
		_ = Serve(inR, outW, nil, nil, func(ctx context.Context, q atspi.Request) atspi.Reply {
			return atspi.Reply{ID: q.ID, Snapshot: &sandbox.A11ySnapshot{Text: big}}
		}, 10*time.Second)
		outW.Close()
	}()
	replies := bufio.NewReaderSize(outR, 64<<10)
	for id := uint64(1); id <= 2; id++ {
		b, _ := json.Marshal(Request{ID: id, Op: OpA11y, A11y: &atspi.Request{ID: 7, Op: atspi.OpSnapshot}})
		_, err := inW.Write(append(b, '\n'))
		require.NoError(t, err)
		r, err := ReadReply(replies)
		require.NoError(t, err)
		assert.Equal(t, id, r.ID)
		require.NotNil(t, r.A11y)
		assert.Equal(t, big, r.A11y.Snapshot.Text)
	}
	inW.Close()
}

// TestServe drives Serve over pipes against a real Xvfb, as vmhelper runs.
func TestServe(t *testing.T) {
	sock, cookie, _, _ := x11test.StartXvfb(t, 320, 240)
	conn, err := x11.Dial(sock, cookie)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(inR, outW, conn, func(img *image.RGBA) ([]byte, error) { return imgenc.Encode(img, imgenc.Options{}) }, nil, 10*time.Second)
		outW.Close()
	}()
	replies := bufio.NewReaderSize(outR, 64<<10)
	call := func(q Request) Reply {
		b, _ := json.Marshal(q)
		_, err := inW.Write(append(b, '\n'))
		require.NoError(t, err)
		r, err := ReadReply(replies)
		require.NoError(t, err)
		assert.Equal(t, q.ID, r.ID)
		return r
	}

	assert.Equal(t, protocolRevision, call(Request{ID: 1, Op: OpHello}).Revision)
	r := call(Request{ID: 2, Op: OpClick, Point: &sandbox.Point{X: 30, Y: 40}, Button: sandbox.ButtonLeft, Count: 1})
	assert.Nil(t, r.Err)
	r = call(Request{ID: 3, Op: OpCursor})
	assert.Equal(t, &sandbox.Point{X: 30, Y: 40}, r.Point)
	r = call(Request{ID: 4, Op: OpScreenSize})
	assert.Equal(t, &sandbox.Resolution{Width: 320, Height: 240}, r.Size)
	rect := image.Rect(0, 0, 50, 20)
	r = call(Request{ID: 5, Op: OpScreenshot, Region: &rect})
	require.Nil(t, r.Err)
	img, err := png.Decode(bytes.NewReader(r.PNG))
	require.NoError(t, err)
	assert.Equal(t, image.Pt(50, 20), img.Bounds().Size())

	// A settle wait runs in the helper.
	r = call(Request{ID: 50, Op: OpSettle, QuietMS: 50, MaxMS: 20000})
	require.Nil(t, r.Err)
	require.NotNil(t, r.Settle)
	assert.True(t, r.Settle.Settled)
	assert.GreaterOrEqual(t, r.Settle.WaitedMS, int64(50))

	// Errors keep their code across the pipe.
	r = call(Request{ID: 6, Op: OpKeys, Keys: []string{"nosuchkey"}})
	require.NotNil(t, r.Err)
	assert.Equal(t, sandbox.CodeInvalidArgument, r.Err.Code)
	r = call(Request{ID: 7, Op: "bogus"})
	require.NotNil(t, r.Err)
	assert.Equal(t, sandbox.CodeInvalidArgument, r.Err.Code)
	r = call(Request{ID: 8, Op: OpScreenSize}) // the stream stays in step after a PNG
	assert.Equal(t, 320, r.Size.Width)
	r = call(Request{ID: 9, Op: OpA11y, A11y: &atspi.Request{Op: atspi.OpSnapshot}})
	require.NotNil(t, r.Err, "this helper runs no accessibility driver")
	assert.Equal(t, sandbox.CodeBackendUnavailable, r.Err.Code)
	_, _ = inW.Write([]byte("not json\n"))
	r, err = ReadReply(replies)
	require.NoError(t, err)
	require.NotNil(t, r.Err)
	assert.Equal(t, sandbox.CodeInvalidArgument, r.Err.Code)

	inW.Close()
	require.NoError(t, <-done)
}
