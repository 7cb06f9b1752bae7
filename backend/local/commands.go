//go:build linux

package local

import (
	"bytes"
	"context"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

const (
	// DefaultMaxOutput bounds each of stdout and stderr of Run.
	DefaultMaxOutput = 1 << 20
	// TimeoutExitCode is the exit code Run reports for a command it killed
	// at its timeout (with TimedOut set), as coreutils' timeout does.
	TimeoutExitCode = 124
)

// ProcessSpec describes a process started with Start.
type ProcessSpec struct {
	// Command runs with bash -c; Argv, when set, is run as is instead.
	Command string
	Argv    []string
	// Cwd is relative to the working directory (default: the working
	// directory itself).
	Cwd string
	// Env is added to the sandbox's environment (config environment first).
	Env map[string]string
	// Stdin keeps the process's stdin open for Write and CloseStdin;
	// otherwise it reads /dev/null.
	Stdin bool
	// OnOutput receives output ("stdout" / "stderr") as it arrives, in
	// order. It is called from the sandbox's reader goroutine: keep it
	// short, never block in it and never call the Instance from it.
	OnOutput func(stream string, chunk []byte)
	// MaxOutput bounds the bytes forwarded per stream (0 = all); beyond it
	// output is dropped and ExitStatus.Truncated set.
	MaxOutput int
	// Discard sends the output to /dev/null.
	Discard bool
	// System runs the process with the desktop's own, outside the user's
	// cgroup leaf and its limits, holding that leaf's cgroup.procs files
	// open (fd numbers in UserCgroupFDsEnv) so it can place what it starts
	// there: for a daemon that runs the user's processes (the E2B
	// emulator's envd), which a fork bomb of theirs must not starve.
	System bool
	// self runs the server's own binary (the accessibility driver).
	self bool
}

// UserCgroupFDsEnv names the fds of a System process that are the user
// leaf's cgroup.procs files (comma-separated): writing "0" to one moves
// the writer.
const UserCgroupFDsEnv = "VMSERVICE_USER_CGROUP_FDS"

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code; 128+signal when a signal killed it (as shells
	// report it); -1 when the sandbox went away first.
	Code      int
	Signal    int
	Truncated bool
	// Lost is set when the sandbox stopped before the process's exit was
	// seen.
	Lost bool
}

// Process is a process running inside the sandbox (started with Start).
// Its PID is the pid inside the sandbox's pid namespace.
type Process struct {
	in       *Instance
	pid      int
	onOutput func(string, []byte)

	once   sync.Once
	done   chan struct{}
	status ExitStatus
}

func (p *Process) output(stream string, data []byte) {
	if p.onOutput != nil {
		p.onOutput(stream, data)
	}
}

func (p *Process) finish(m *message, lost bool) {
	p.once.Do(func() {
		p.status = ExitStatus{Code: m.Code, Signal: m.Signal, Truncated: m.Truncated, Lost: lost}
		close(p.done)
	})
}

// PID is the process id inside the sandbox.
func (p *Process) PID() int { return p.pid }

// Done is closed when the process has exited and all its output was
// delivered.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit.
func (p *Process) Wait(ctx context.Context) (ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, nil
	case <-ctx.Done():
		return ExitStatus{}, sandbox.AsError(ctx.Err())
	}
}

// Write sends data to the process's stdin (Stdin must have been set).
func (p *Process) Write(ctx context.Context, data []byte) error {
	return p.stdinOp(ctx, &request{Op: opStdin, PID: p.pid, Data: data})
}

// CloseStdin closes the process's stdin.
func (p *Process) CloseStdin(ctx context.Context) error {
	return p.stdinOp(ctx, &request{Op: opClose, PID: p.pid})
}

func (p *Process) stdinOp(ctx context.Context, r *request) error {
	m, err := p.in.agent().call(ctx, r)
	if err != nil {
		return sandbox.AsError(err)
	}
	if m.Err != nil {
		return sandbox.InvalidArgument("pid", "process %d has ended or its stdin is not open", p.pid).WithDetail("pid", p.pid)
	}
	return nil
}

// Signal sends sig to the process's whole process group.
func (p *Process) Signal(ctx context.Context, sig syscall.Signal) error {
	return p.in.signal(ctx, p.pid, sig)
}

func (in *Instance) signal(ctx context.Context, pid int, sig syscall.Signal) error {
	m, err := in.agent().call(ctx, &request{Op: opSignal, PID: pid, Sig: int(sig)})
	if err != nil {
		return sandbox.AsError(err)
	}
	if m.Err != nil {
		return sandbox.InvalidArgument("pid", "no process %d in the sandbox", pid).WithDetail("pid", pid)
	}
	return nil
}

// Kill SIGKILLs the process group of pid inside the sandbox (for processes
// started in the background).
func (in *Instance) Kill(ctx context.Context, pid int) error {
	return in.signal(ctx, pid, syscall.SIGKILL)
}

// resolve turns a sandbox path (relative to the working directory) into a
// clean absolute one.
func (in *Instance) resolve(field, p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", sandbox.InvalidArgument(field, "%s must not contain NUL characters", field)
	}
	if len(p) > 4096 {
		return "", sandbox.InvalidArgument(field, "%s is too long", field)
	}
	if !path.IsAbs(p) {
		p = path.Join(in.cfg.WorkingDirectory, p)
	}
	return path.Clean(p), nil
}

// Start starts a process inside the sandbox and returns once it runs. The
// process lives until it exits, is signalled, or the sandbox is destroyed.
func (in *Instance) Start(ctx context.Context, spec ProcessSpec) (*Process, error) {
	argv := spec.Argv
	if len(argv) == 0 {
		if strings.TrimSpace(spec.Command) == "" {
			return nil, sandbox.InvalidArgument("command", "command must not be empty")
		}
		if strings.ContainsRune(spec.Command, 0) {
			return nil, sandbox.InvalidArgument("command", "command must not contain NUL characters")
		}
		argv = []string{"/bin/bash", "-c", spec.Command}
	}
	cwd, err := in.resolve("cwd", spec.Cwd)
	if err != nil {
		return nil, err
	}
	if err := sandbox.ValidateEnv("environment", spec.Env); err != nil {
		return nil, err
	}
	p := &Process{in: in, onOutput: spec.OnOutput, done: make(chan struct{})}
	r := &request{Op: opStart, Argv: argv, Cwd: cwd, Env: in.env(spec.Env), Stdin: spec.Stdin,
		MaxOut: spec.MaxOutput, Discard: spec.Discard, Sys: spec.System, Self: spec.self}
	// Starting is quick; not tied to ctx so a started process is never lost
	// track of (it could not be killed at the timeout then).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	c := in.agent()
	m, err := c.callHook(sctx, r, func(m *message) {
		if m.Err == nil {
			p.pid = m.PID
			c.mu.Lock()
			c.procs[m.PID] = p
			c.mu.Unlock()
		}
	})
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	if m.Err != nil {
		switch m.Err.Kind {
		case errNotFound:
			if strings.HasPrefix(m.Err.Msg, "working directory") {
				return nil, sandbox.InvalidArgument("cwd", "the working directory %s does not exist in the sandbox", cwd).WithDetail("path", cwd)
			}
			return nil, sandbox.InvalidArgument("command", "%s is not installed in the sandbox", argv[0])
		case errInvalid:
			return nil, sandbox.InvalidArgument("command", "%s", m.Err.Msg)
		}
		return nil, unavailable("the sandbox could not start the process: %s", m.Err.Msg)
	}
	return p, nil
}

// Run runs a shell command (bash -c) and waits for it, unless Background.
// At its timeout the whole process group is killed and the result has
// TimedOut set and ExitCode TimeoutExitCode (124). Cancelling ctx kills it
// too. Stdout and stderr are each bounded by MaxOutput (default 1 MiB).
func (in *Instance) Run(ctx context.Context, req sandbox.CommandRequest) (*sandbox.CommandResult, error) {
	if err := sandbox.ValidateEnv("environment", req.Environment); err != nil {
		return nil, err
	}
	if req.Timeout < 0 {
		return nil, sandbox.InvalidArgument("timeout", "timeout must not be negative")
	}
	spec := ProcessSpec{Command: req.Command, Cwd: req.Cwd, Env: req.Environment}
	if req.Background {
		spec.Discard = true
		p, err := in.Start(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &sandbox.CommandResult{PID: p.pid}, nil
	}
	maxOut := req.MaxOutput
	if maxOut <= 0 {
		maxOut = DefaultMaxOutput
	}
	var stdout, stderr bytes.Buffer
	spec.MaxOutput = maxOut
	hostCut := false // the agent bounds output; a subverted one must not grow our buffers
	spec.OnOutput = func(stream string, chunk []byte) {
		buf := &stdout
		if stream == "stderr" {
			buf = &stderr
		}
		if room := maxOut - buf.Len(); len(chunk) > room {
			chunk, hostCut = chunk[:max(0, room)], true
		}
		buf.Write(chunk)
		if req.OnOutput != nil {
			req.OnOutput(stream, chunk)
		}
	}
	p, err := in.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	var timeout <-chan time.Time
	if req.Timeout > 0 {
		t := time.NewTimer(req.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	timedOut := false
	select {
	case <-p.done:
	case <-timeout:
		select {
		case <-p.done: // finished at the same moment
		default:
			timedOut = true
		}
	case <-ctx.Done():
	}
	if !timedOut && ctx.Err() != nil {
		select {
		case <-p.done:
		default:
			_ = in.signal(context.Background(), p.pid, syscall.SIGKILL)
			return nil, sandbox.AsError(ctx.Err())
		}
	}
	if timedOut {
		_ = in.signal(context.Background(), p.pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			return nil, unavailable("the sandbox did not stop the command at its timeout")
		}
	}
	st := p.status
	if st.Lost {
		return nil, unavailable("the sandbox stopped while the command ran")
	}
	res := &sandbox.CommandResult{ExitCode: st.Code, Stdout: stdout.String(), Stderr: stderr.String(),
		Truncated: st.Truncated || hostCut, TimedOut: timedOut}
	if timedOut {
		res.ExitCode = TimeoutExitCode
	}
	return res, nil
}
