package local

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"sync"

	"github.com/rs/zerolog"
)

// agentClient is the backend's side of the agent protocol: one request
// writer, one reader goroutine that routes replies and process events.
type agentClient struct {
	cmd *exec.Cmd
	log zerolog.Logger
	w   io.WriteCloser
	r   io.ReadCloser

	wmu sync.Mutex
	enc *json.Encoder

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*pendingCall
	procs   map[int]*Process
	exited  map[int]bool // pids whose exit was watched (the window manager)
	watch   map[int]bool

	dead   chan struct{} // closed when the agent is gone
	onExit func(pid int)
}

type pendingCall struct {
	ch chan *message
	// onReply runs in the reader goroutine before any later message is
	// read, so a started process is registered before its first output.
	onReply func(*message)
}

func newAgentClient(cmd *exec.Cmd, log zerolog.Logger) (*agentClient, error) {
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		w.Close()
		return nil, err
	}
	c := &agentClient{cmd: cmd, log: log, w: w, r: r, enc: json.NewEncoder(w),
		pending: map[uint64]*pendingCall{}, procs: map[int]*Process{}, exited: map[int]bool{}, watch: map[int]bool{},
		dead: make(chan struct{})}
	return c, nil
}

// start runs the reader; stderr is what bwrap and the agent printed.
func (c *agentClient) start(stderr *tail) {
	go func() {
		dec := json.NewDecoder(bufio.NewReaderSize(c.r, 64<<10))
		for {
			m := new(message)
			if err := dec.Decode(m); err != nil {
				break
			}
			c.route(m)
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

	c.wmu.Lock()
	err := c.enc.Encode(r)
	c.wmu.Unlock()
	if err != nil {
		c.forget(r.ID)
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
