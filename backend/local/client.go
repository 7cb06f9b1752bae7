//go:build linux

package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// What the backend reads from an agent is bounded: the agent runs inside
// the sandbox and is treated as hostile. One line (one message) is at most
// maxAgentLine (the largest honest one is a read of MaxRead bytes, base64
// in JSON), and the channel is read at agentRate bytes/s sustained after a
// burst of agentBurst (one such read at full speed); beyond, the reader
// falls behind and the agent blocks on its own pipe. An agent that sends
// anything else is cut off and its sandbox marked broken.
//
// Variables so tests can lower them.
var (
	maxAgentLine         = MaxRead/3*4 + 1<<20
	agentRate    float64 = 32 << 20
	// callTimeout is the deadline of an agent request whose context has
	// none: a request the agent never answers must not hang a tool call.
	callTimeout = 2 * time.Minute
)

// agentClient is the backend's side of the agent protocol: one request
// writer, one reader goroutine that routes replies and process events.
type agentClient struct {
	cmd *exec.Cmd
	log zerolog.Logger
	w   *os.File // requests: the agent's agentInFD
	r   *os.File // replies and events: the agent's agentOutFD

	wmu sync.Mutex

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*pendingCall
	procs   map[int]*Process
	exited  map[int]bool // pids whose exit was watched (the window manager)
	watch   map[int]bool
	failure error // why the backend cut the channel (nil: the agent ended it)

	dead   chan struct{} // closed when the agent is gone
	onExit func(pid int)
}

type pendingCall struct {
	ch chan *message
	// onReply runs in the reader goroutine before any later message is
	// read, so a started process is registered before its first output.
	onReply func(*message)
}

// newAgentClient makes the pipes of the agent's channel; the caller hands
// agentEnds to the agent (as agentInFD and agentOutFD) and closes them
// once it started.
func newAgentClient(cmd *exec.Cmd, log zerolog.Logger) (c *agentClient, agentEnds []*os.File, err error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, nil, err
	}
	c = &agentClient{cmd: cmd, log: log, w: inW, r: outR,
		pending: map[uint64]*pendingCall{}, procs: map[int]*Process{}, exited: map[int]bool{}, watch: map[int]bool{},
		dead: make(chan struct{})}
	return c, []*os.File{inR, outW}, nil
}

// start runs the reader; stderr is what bwrap and the agent printed.
func (c *agentClient) start(stderr *tail) {
	go func() {
		err := c.read(c.r)
		if err != nil {
			c.cut(err)
		}
		_ = c.cmd.Wait()
		if s := stderr.String(); s != "" {
			c.log.Debug().Str("stderr", s).Msg("sandbox agent exited")
		}
		c.mu.Lock()
		procs := c.procs
		c.procs = map[int]*Process{}
		close(c.dead)
		c.mu.Unlock()
		for _, p := range procs {
			p.finish(&message{Code: -1}, true)
		}
	}()
}

// read routes the agent's messages until it ends the channel (nil) or
// breaks the protocol (the reason).
func (c *agentClient) read(r io.Reader) error {
	lines := newLineReader(&rateReader{r: r, rate: agentRate, burst: float64(maxAgentLine)}, maxAgentLine)
	for {
		line, err := lines.next()
		if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		m := new(message)
		if err := json.Unmarshal(line, m); err != nil {
			return fmt.Errorf("the agent sent a message that is not JSON (%d bytes)", len(line))
		}
		c.route(m)
	}
}

// cut records why the channel is abandoned and kills the agent (and so the
// sandbox's processes): its sandbox is then reported broken.
func (c *agentClient) cut(reason error) {
	c.mu.Lock()
	if c.failure == nil {
		c.failure = reason
	}
	c.mu.Unlock()
	c.log.Warn().Err(reason).Msg("sandbox agent cut off")
	_ = c.r.Close()
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
}

// broken is why the backend cut the channel, or nil.
func (c *agentClient) broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure
}

func (c *agentClient) route(m *message) {
	if m.ID != 0 {
		c.mu.Lock()
		pc := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if pc != nil {
			if pc.onReply != nil {
				pc.onReply(m)
			}
			pc.ch <- m
		}
		return
	}
	switch m.Ev {
	case evOut:
		c.mu.Lock()
		p := c.procs[m.PID]
		c.mu.Unlock()
		if p != nil {
			p.output(m.Stream, m.Data)
		}
	case evExit:
		c.mu.Lock()
		p := c.procs[m.PID]
		delete(c.procs, m.PID)
		if c.watch[m.PID] {
			c.exited[m.PID] = true
		}
		c.mu.Unlock()
		if p != nil {
			p.finish(m, false)
		}
		if c.onExit != nil {
			c.onExit(m.PID)
		}
	}
}

// call sends r and waits for its reply. A reply carrying an error is
// returned as the message (m.Err set) with a nil error: the caller maps it.
func (c *agentClient) call(ctx context.Context, r *request) (*message, error) {
	return c.callHook(ctx, r, nil)
}

func (c *agentClient) callHook(ctx context.Context, r *request, onReply func(*message)) (*message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	pc := &pendingCall{ch: make(chan *message, 1), onReply: onReply}
	c.mu.Lock()
	select {
	case <-c.dead:
		c.mu.Unlock()
		return nil, unavailable("the sandbox stopped")
	default:
	}
	c.next++
	r.ID = c.next
	c.pending[r.ID] = pc
	c.mu.Unlock()

	b, err := json.Marshal(r)
	if err != nil {
		c.forget(r.ID)
		return nil, err
	}
	b = append(b, '\n')
	deadline, _ := ctx.Deadline()
	c.wmu.Lock()
	_ = c.w.SetWriteDeadline(deadline)
	_, err = c.w.Write(b)
	c.wmu.Unlock()
	if err != nil {
		c.forget(r.ID)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Part of a request may be in the pipe: the channel is unusable.
			c.cut(errors.New("the agent stopped reading requests"))
			return nil, unavailable("the sandbox does not respond")
		}
		return nil, unavailable("the sandbox stopped").WithCause(err)
	}
	select {
	case m := <-pc.ch:
		return m, nil
	case <-ctx.Done():
		c.forget(r.ID)
		return nil, ctx.Err()
	case <-c.dead:
		return nil, unavailable("the sandbox stopped")
	}
}

func (c *agentClient) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// close ends the agent's input: it exits and the sandbox's pid namespace
// goes with it.
func (c *agentClient) close() {
	c.wmu.Lock()
	_ = c.w.Close()
	c.wmu.Unlock()
}

// lineReader splits a stream into lines of at most max bytes.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

var errLineTooLong = errors.New("the agent sent a message over the size limit")

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its newline; it is valid until the
// next call.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(chunk) > l.max+1 {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			if len(l.buf) == 0 { // the common case: no copy
				return chunk[:len(chunk)-1], nil
			}
			l.buf = append(l.buf, chunk[:len(chunk)-1]...)
			return l.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.buf = append(l.buf, chunk...)
		default:
			if err == io.EOF && len(l.buf)+len(chunk) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// rateReader reads at most rate bytes/s on average, after a burst.
type rateReader struct {
	r           io.Reader
	rate, burst float64
	tokens      float64
	last        time.Time
	now         func() time.Time    // time.Now
	sleep       func(time.Duration) // time.Sleep
}

func (t *rateReader) Read(p []byte) (int, error) {
	if t.now == nil {
		t.now, t.sleep = time.Now, time.Sleep
	}
	for {
		now := t.now()
		if t.last.IsZero() {
			t.tokens = t.burst
		} else {
			t.tokens = min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
		}
		t.last = now
		if t.tokens >= 1 {
			break
		}
		t.sleep(time.Duration((1 - t.tokens) / t.rate * float64(time.Second)))
	}
	if float64(len(p)) > t.tokens {
		p = p[:int(t.tokens)]
	}
	n, err := t.r.Read(p)
	t.tokens -= float64(n)
	return n, err
}
