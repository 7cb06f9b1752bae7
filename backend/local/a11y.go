//go:build linux

package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmservice/vmservice/driver/atspi"
	"github.com/vmservice/vmservice/sandbox"
)

// Every sandbox has its own D-Bus session bus, started with the desktop
// (like the window manager: as the sandbox user, in its namespaces and user
// cgroup; sandbox code can talk to it anyway). Applications need one
// anyway, and it activates the accessibility stack on first use as a
// desktop session does: at-spi-bus-launcher (org.a11y.Bus) starts the
// AT-SPI bus and its registry, which applications join when they start
// (apps.AccessibilityEnv switches that on).
// Its socket is in a directory of its own in the sandbox's /tmp (/run and
// the runtime directory stay empty until an application fills them).
const (
	sessionBusDir     = "/tmp/.session-bus"
	sessionBusAddress = "unix:path=" + sessionBusDir + "/bus"
)

// startSessionBus starts dbus-daemon and returns once it listens (it prints
// its address then).
func (in *Instance) startSessionBus(ctx context.Context) error {
	var mu sync.Mutex
	var out bytes.Buffer
	ready := make(chan struct{})
	var once sync.Once
	p, err := in.Start(ctx, ProcessSpec{
		Argv: []string{"dbus-daemon", "--session", "--address=" + sessionBusAddress, "--nofork", "--nopidfile", "--print-address=1"},
		Cwd:  "/",
		// Its runtime files (dbus-1/, and at-spi/ of the services it
		// starts) go beside its socket, not in the user's runtime directory.
		Env: map[string]string{"XDG_RUNTIME_DIR": sessionBusDir},
		OnOutput: func(stream string, b []byte) {
			if stream != "stdout" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if out.Len() < 4096 {
				out.Write(b)
			}
			if bytes.IndexByte(out.Bytes(), '\n') >= 0 {
				once.Do(func() { close(ready) })
			}
		},
	})
	if err != nil {
		return fmt.Errorf("session bus: %w", err)
	}
	select {
	case <-ready:
		return nil
	case <-p.Done():
		return unavailable("the session bus did not start (exit code %d)", p.status.Code)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The accessibility driver (driver/atspi) runs inside the sandbox as a
// user process: this binary re-executed (modeA11y), started on first use
// through the agent, answering JSON lines on its stdin / stdout. See the
// atspi package for why it is not in the server.

var _ sandbox.Accessibility = (*Instance)(nil)

// a11yTimeout bounds one request; a driver that does not answer in time is
// killed (the next request starts a new one).
const a11yTimeout = 60 * time.Second

type a11yClient struct {
	mu      sync.Mutex // one request at a time
	proc    *Process
	next    uint64
	refNext int // the highest reference number any driver gave

	lmu      sync.Mutex
	buf      []byte
	lines    chan []byte
	overflow chan struct{} // closed when a reply line is too long
}

func a11yMain() int {
	// Not dumpable: the sandbox's other processes (same uid) cannot read
	// its memory or where its binary lives.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	d := atspi.NewDriver()
	defer d.Close()
	if err := d.Serve(os.Stdin, os.Stdout, 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "vmservice a11y:", err)
		return 1
	}
	return 0
}

func (in *Instance) a11yCall(ctx context.Context, q atspi.Request) (*atspi.Reply, error) {
	c := &in.a11y
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.Done():
			c.proc = nil
		default:
		}
	}
	if c.proc == nil {
		c.lmu.Lock()
		c.buf, c.lines, c.overflow = nil, make(chan []byte, 4), make(chan struct{})
		lines := c.lines
		c.lmu.Unlock()
		p, err := in.Start(ctx, ProcessSpec{
			Argv: []string{"vmservice-a11y"}, Cwd: homeDir, Stdin: true, self: true,
			Env: map[string]string{reexecEnv: modeA11y},
			OnOutput: func(stream string, b []byte) {
				if stream == "stdout" {
					c.output(lines, b)
				} else {
					in.log.Debug().Str("stderr", string(b[:min(len(b), 1024)])).Msg("accessibility driver")
				}
			},
		})
		if err != nil {
			return nil, err
		}
		c.proc = p
	}
	p := c.proc
	kill := func() {
		_ = p.Signal(context.Background(), syscall.SIGKILL)
		c.proc = nil
	}
	c.next++
	q.ID = c.next
	q.RefBase = c.refNext
	line, err := json.Marshal(q)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	if err := p.Write(ctx, append(line, '\n')); err != nil {
		kill()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a11yTimeout)
	defer cancel()
	c.lmu.Lock()
	lines, overflow := c.lines, c.overflow
	c.lmu.Unlock()
	for {
		select {
		case l := <-lines:
			var rep atspi.Reply
			if err := json.Unmarshal(l, &rep); err != nil {
				kill()
				return nil, unavailable("the accessibility driver sent a bad reply").WithCause(err)
			}
			if rep.ID != q.ID {
				continue // the reply of a request given up on
			}
			c.refNext = max(c.refNext, rep.RefNext)
			if rep.Err != nil {
				return nil, rep.Err
			}
			return &rep, nil
		case <-overflow:
			kill()
			return nil, unavailable("the accessibility driver's reply was too large")
		case <-p.Done():
			c.proc = nil
			return nil, unavailable("the accessibility driver stopped (exit code %d)", p.status.Code)
		case <-ctx.Done():
			kill()
			if ctx.Err() == context.DeadlineExceeded {
				return nil, sandbox.Errorf(sandbox.CodeTimeout, "the accessibility tree did not come in time (an application may be busy)")
			}
			return nil, sandbox.AsError(ctx.Err())
		}
	}
}

// output collects the driver's stdout into lines; a line beyond
// atspi.MaxReplyBytes ends the driver (its reply cannot be trusted whole).
func (c *a11yClient) output(lines chan []byte, b []byte) {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	if lines != c.lines {
		return
	}
	select {
	case <-c.overflow:
		return
	default:
	}
	c.buf = append(c.buf, b...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		l := append([]byte(nil), c.buf[:i]...)
		c.buf = c.buf[i+1:]
		select {
		case lines <- l:
		default: // nobody waits for it (given up on)
		}
	}
	if len(c.buf) > atspi.MaxReplyBytes {
		c.buf = nil
		close(c.overflow)
	}
}

// a11yQuery sends a query with the display's windows added.
func (in *Instance) a11yQuery(ctx context.Context, op string, q sandbox.A11yQuery) (*atspi.Reply, error) {
	wins, err := in.desk.TopLevels(ctx)
	if err != nil {
		return nil, err
	}
	q.Windows = wins
	return in.a11yCall(ctx, atspi.Request{Op: op, Query: &q})
}

// A11ySnapshot renders the accessibility tree of the desktop or a window.
func (in *Instance) A11ySnapshot(ctx context.Context, q sandbox.A11yQuery) (*sandbox.A11ySnapshot, error) {
	rep, err := in.a11yQuery(ctx, atspi.OpSnapshot, q)
	if err != nil {
		return nil, err
	}
	if rep.Snapshot == nil {
		return nil, unavailable("the accessibility driver sent no snapshot")
	}
	rep.Snapshot.Took = time.Duration(rep.TookUS) * time.Microsecond
	return rep.Snapshot, nil
}

// A11yFind lists the elements matching a role and / or name.
func (in *Instance) A11yFind(ctx context.Context, q sandbox.A11yQuery) ([]sandbox.A11yElement, error) {
	rep, err := in.a11yQuery(ctx, atspi.OpFind, q)
	if err != nil {
		return nil, err
	}
	if rep.Elements == nil {
		rep.Elements = []sandbox.A11yElement{}
	}
	return rep.Elements, nil
}

// A11yAct acts on an element by reference.
func (in *Instance) A11yAct(ctx context.Context, a sandbox.A11yAction) (*sandbox.A11yActResult, error) {
	rep, err := in.a11yCall(ctx, atspi.Request{Op: atspi.OpAct, Action: &a})
	if err != nil {
		return nil, err
	}
	if rep.Act == nil {
		return nil, unavailable("the accessibility driver sent no result")
	}
	return rep.Act, nil
}
