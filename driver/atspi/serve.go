package atspi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

// The protocol of a driver running in a sandbox: one JSON request per line
// in, one JSON reply per line out, in order.

// Ops of a Request.
const (
	OpSnapshot = "snapshot"
	OpFind     = "find"
	OpAct      = "act"
)

// Request is one line to a driver.
type Request struct {
	ID uint64 `json:"id"`
	Op string `json:"op"`
	// RefBase is the highest reference number the caller has seen: a new
	// driver (one restarted after a crash) numbers on from there, so an
	// old reference never names a new element.
	RefBase int                 `json:"ref_base,omitempty"`
	Query   *sandbox.A11yQuery  `json:"query,omitempty"`
	Action  *sandbox.A11yAction `json:"action,omitempty"`
}

// Reply is one line from a driver.
type Reply struct {
	ID       uint64                 `json:"id"`
	Err      *sandbox.Error         `json:"err,omitempty"`
	Snapshot *sandbox.A11ySnapshot  `json:"snapshot,omitempty"`
	Elements []sandbox.A11yElement  `json:"elements,omitempty"`
	Act      *sandbox.A11yActResult `json:"act,omitempty"`
	TookUS   int64                  `json:"took_us,omitempty"`
	// RefNext is the highest reference number given so far.
	RefNext int `json:"ref_next,omitempty"`
}

// MaxReplyBytes bounds a reply line: the snapshot's own bound plus its
// JSON escaping and the elements of a search.
const MaxReplyBytes = 8 << 20

// Handle answers one request.
func (d *Driver) Handle(ctx context.Context, q Request) (rep Reply) {
	rep = Reply{ID: q.ID}
	var err error
	t0 := time.Now()
	d.mu.Lock()
	d.next = max(d.next, q.RefBase)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		rep.RefNext = d.next
		d.mu.Unlock()
	}()
	switch q.Op {
	case OpSnapshot, OpFind:
		if q.Query == nil {
			q.Query = &sandbox.A11yQuery{}
		}
		if q.Op == OpSnapshot {
			rep.Snapshot, err = d.Snapshot(ctx, *q.Query)
		} else {
			rep.Elements, err = d.Find(ctx, *q.Query)
		}
	case OpAct:
		if q.Action == nil {
			err = sandbox.InvalidArgument("action", "act needs an action")
			break
		}
		rep.Act, err = d.Act(ctx, *q.Action)
	default:
		err = sandbox.InvalidArgument("op", "unknown accessibility operation %q", q.Op)
	}
	rep.TookUS = time.Since(t0).Microseconds()
	if err != nil {
		rep = Reply{ID: q.ID, Err: sandbox.AsError(err)}
	}
	return rep
}

// Serve answers requests from r on w until r ends; each gets at most
// timeout.
func (d *Driver) Serve(r io.Reader, w io.Writer, timeout time.Duration) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	for sc.Scan() {
		var q Request
		var rep Reply
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			rep = Reply{ID: q.ID, Err: sandbox.InvalidArgument("request", "the accessibility driver could not parse a request")}
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			rep = d.Handle(ctx, q)
			cancel()
		}
		if err := enc.Encode(&rep); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
