//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/internal/procfs"
)

// Recovery. Sandbox code can take parts of its own desktop down: kill its
// window manager, make the X server fail, or (a fault) lose its agent. The
// sandbox then comes back by itself, under the same id, with the same
// home: a watcher restarts the part that stopped (the X server and the
// window manager with it; the agent, and with it the sandbox's namespaces,
// the window manager and its network). What ran inside and used the part
// is gone (X clients with their display, every process with the agent,
// and /tmp with the agent's mount namespace); the home is a mount of the
// host's and stays. A desktop restarted maxRestarts times within
// restartWindow (or that cannot be restarted) is not restarted again, and the
// sandbox says why (Alive, get_sandbox_info).

const (
	maxRestarts   = 4
	restartWindow = time.Minute
)

// The parts of a desktop that are restarted.
const (
	partDisplay = "display"
	partWM      = "window manager"
	partAgent   = "agent"
	partConn    = "connection to its display" // the server's; redialled
)

type recovery struct {
	restarting string      // the part being restarted, or ""
	cause      string      // how the part last restarted (or being restarted) stopped
	recent     []time.Time // restarts within restartWindow
	gaveUp     error       // why the sandbox is no longer restarted
	count      int         // restarts so far
}

// display is the sandbox's X connection (the current one).
func (in *Instance) display() *x11.Conn {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.desk
}

// agent is the sandbox's agent client (the current one).
func (in *Instance) agent() *agentClient {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ag
}

// onProcessExit is called by the agent client for every exit event.
func (in *Instance) onProcessExit(pid int) {
	in.mu.Lock()
	wm := pid != 0 && pid == in.wmPID
	if wm {
		in.wmPID = 0
	}
	in.mu.Unlock()
	if wm {
		in.log.Warn().Msg("the window manager exited")
		select {
		case in.wmExit <- struct{}{}:
		default:
		}
	}
}

// watch restarts what stops until the sandbox is destroyed or given up.
func (in *Instance) watch() {
	for {
		in.mu.Lock()
		xDone, agDead, deskDone := in.xDone, in.ag.dead, in.desk.Done()
		in.mu.Unlock()
		select {
		case <-in.destroyed:
			return
		case <-agDead:
		case <-xDone:
		case <-deskDone:
			// Lost with the X server itself, most often: its exit is seen
			// a little later.
			select {
			case <-xDone:
			case <-in.destroyed:
			case <-time.After(2 * time.Second):
			}
		case <-in.wmExit:
			// The window manager also stops with its display or agent:
			// restart what it stopped with.
			time.Sleep(100 * time.Millisecond)
		}
		part := partWM
		switch {
		case closed(agDead):
			part = partAgent
		case closed(xDone):
			part = partDisplay
		case closed(deskDone):
			part = partConn
		}
		if !in.recover(part) {
			return
		}
	}
}

// cause says how the part stopped, for messages (no host paths).
func (in *Instance) cause(part string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch part {
	case partDisplay:
		if in.xvfb != nil && in.xvfb.ProcessState != nil {
			// bubblewrap exits with 128+n when the X server dies of signal n.
			st := in.xvfb.ProcessState
			if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return "the X server was killed (" + unix.SignalName(ws.Signal()) + ")"
			} else if c := st.ExitCode(); c > 128 && c < 128+65 {
				return "the X server was killed (" + unix.SignalName(syscall.Signal(c-128)) + ")"
			}
			return "the X server exited (" + st.String() + ")"
		}
	case partConn:
		return "the server's connection to the X server broke"
	case partAgent:
		if err := in.ag.broken(); err != nil {
			return "the agent was cut off: " + err.Error()
		}
		return "the agent exited"
	}
	return "the " + part + " exited"
}

// recover restarts part and reports whether the sandbox is running again.
func (in *Instance) recover(part string) bool {
	in.recMu.Lock()
	defer in.recMu.Unlock()
	select {
	case <-in.destroyed:
		return false
	default:
	}
	cause := in.cause(part)
	now := time.Now()
	in.mu.Lock()
	recent := in.rec.recent[:0]
	for _, t := range in.rec.recent {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	in.rec.recent = recent
	if len(recent) >= maxRestarts {
		in.rec.gaveUp = fmt.Errorf("its desktop stopped %d times within %s (last: %s), so it is no longer restarted; destroy it and create another", len(recent)+1, restartWindow, cause)
		in.mu.Unlock()
		in.log.Error().Str("part", part).Str("cause", cause).Msg("sandbox given up")
		return false
	}
	in.rec.restarting, in.rec.cause = part, cause
	in.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	go func() {
		select {
		case <-in.destroyed:
			cancel()
		case <-ctx.Done():
		}
	}()
	t0 := time.Now()
	err := in.restart(ctx, part)
	in.mu.Lock()
	in.rec.restarting = ""
	if err != nil {
		in.rec.gaveUp = fmt.Errorf("its %s stopped (%s) and could not be restarted; destroy it and create another", part, cause)
	} else {
		in.rec.recent = append(in.rec.recent, now)
		in.rec.count++
	}
	in.mu.Unlock()
	if err != nil {
		select {
		case <-in.destroyed:
		default:
			in.log.Error().Err(err).Str("part", part).Str("cause", cause).Msg("sandbox restart failed")
		}
		return false
	}
	in.log.Warn().Str("part", part).Str("cause", cause).Dur("took", time.Since(t0)).Msg("sandbox restarted")
	return true
}

// restart brings part back (recMu held).
func (in *Instance) restart(ctx context.Context, part string) error {
	switch part {
	case partWM:
		return in.startWM(ctx)
	case partConn:
		return in.dialDisplay(ctx)
	case partDisplay:
		in.mu.Lock()
		desk := in.desk
		in.wmPID = 0 // its exit (it loses its display) is no news
		in.mu.Unlock()
		if desk != nil {
			_ = desk.Close()
		}
		// The window manager ends with its display (an X I/O error).
		if err := in.startXvfb(ctx); err != nil {
			return err
		}
		if err := in.dialDisplay(ctx); err != nil {
			return err
		}
		drain(in.wmExit)
		return in.startWM(ctx)
	case partAgent:
		in.mu.Lock()
		old, slirp, slirpDone := in.bwrap, in.slirp, in.slirpDone
		in.wmPID = 0
		in.mu.Unlock()
		if old != nil && old.Process != nil {
			_ = old.Process.Kill()
		}
		if slirp != nil && slirp.Process != nil {
			_ = slirp.Process.Kill()
			<-slirpDone
		}
		childPID, err := in.startAgent(ctx)
		if err != nil {
			return err
		}
		in.mu.Lock()
		in.childPID = childPID
		in.mu.Unlock()
		drain(in.wmExit)
		err = in.startWM(ctx)
		if err == nil && in.network == "slirp4netns" {
			err = in.startSlirp(ctx, childPID)
		}
		return err
	}
	return errors.New("unknown part " + part)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func drain(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}

// Alive says whether the desktop works: the display server, the window
// manager and the agent, and if not why (being restarted, or given up).
func (in *Instance) Alive(ctx context.Context) error {
	select {
	case <-in.destroyed:
		return unavailable("the sandbox was destroyed")
	default:
	}
	in.mu.Lock()
	rec, ag, xDone, wmPID := in.rec, in.ag, in.xDone, in.wmPID
	in.mu.Unlock()
	if rec.gaveUp != nil {
		return unavailable("the sandbox is broken: %v", rec.gaveUp)
	}
	if rec.restarting != "" {
		return unavailable("the sandbox's %s stopped (%s) and is being restarted (same sandbox, same home)", rec.restarting, rec.cause)
	}
	select {
	case <-xDone:
		return unavailable("the sandbox's display stopped; it is being restarted")
	case <-ag.dead:
		return unavailable("the sandbox's agent stopped; it is being restarted")
	default:
	}
	if wmPID == 0 {
		return unavailable("the sandbox's window manager stopped; it is being restarted")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := ag.call(ctx, &request{Op: opPing}); err != nil {
		return unavailable("the sandbox does not respond").WithCause(err)
	}
	return nil
}

// Restarts is how many times a part of the desktop was restarted, and how
// the last one stopped.
func (in *Instance) Restarts() int {
	n, _ := in.restarts()
	return n
}

func (in *Instance) restarts() (int, string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec.count, in.rec.cause
}

// xvfbPID and agentPID are the host pids of the X server and the agent
// (for tests that kill them).
func (in *Instance) xvfbPID() int {
	in.mu.Lock()
	ns := in.xNSPid
	in.mu.Unlock()
	if kids := procfs.Children(ns); len(kids) > 0 {
		return kids[0]
	}
	return 0
}

func (in *Instance) agentPID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.childPID
}
