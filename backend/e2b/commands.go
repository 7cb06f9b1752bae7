package e2b

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/sandbox"
)

// defaultMaxOutput bounds each of stdout / stderr when the caller does not.
const defaultMaxOutput = 1 << 20

// killBackstop is how long after a command's timeout envd ends it if this
// side has not (the server went away).
const killBackstop = 30 * time.Second

// boundedBuffer keeps the first max bytes and remembers whether more came.
type boundedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *boundedBuffer) write(p []byte) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return
	}
	b.buf.Write(p)
}

// shellStart is a process.Start request for bash -l -c cmd, as the official
// SDKs send it (a login shell gets the template's PATH and profile), in a
// session of its own (setsid) so that killGroup can end all it started.
func shellStart(cmd, cwd string, env map[string]string, stdin bool) envd.StartRequest {
	sr := envd.StartRequest{Process: envd.ProcessConfig{Cmd: "setsid", Args: []string{"/bin/bash", "-l", "-c", cmd}, Envs: env}, Stdin: &stdin}
	if cwd != "" {
		sr.Process.Cwd = &cwd
	}
	return sr
}

// Run runs a shell command through envd.
func (in *Instance) Run(ctx context.Context, req sandbox.CommandRequest) (*sandbox.CommandResult, error) {
	if strings.TrimSpace(req.Command) == "" {
		return nil, sandbox.InvalidArgument("command", "command must not be empty")
	}
	if err := sandbox.ValidateEnv("environment", req.Environment); err != nil {
		return nil, err
	}
	cwd := req.Cwd
	if cwd == "" {
		cwd = in.cfg.WorkingDirectory
	}
	max := req.MaxOutput
	if max <= 0 {
		max = defaultMaxOutput
	}
	env := map[string]string{"DISPLAY": in.display}
	for k, v := range req.Environment {
		env[k] = v
	}

	if req.Background {
		// The stream is only needed until envd reports the pid; the process
		// keeps running after we disconnect.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := in.envd.start(sctx, shellStart(req.Command, cwd, env, false), 0)
		if err != nil {
			return nil, err
		}
		s.close()
		return &sandbox.CommandResult{PID: int(s.pid)}, nil
	}

	// The timeout runs from the process's start (reaching the sandbox may
	// take a while), and this side kills the process at it. envd is told a
	// later one: it ends the process itself if this server is gone by then.
	var backstop time.Duration
	if req.Timeout > 0 {
		backstop = req.Timeout + killBackstop
	}
	s, err := in.envd.start(ctx, shellStart(req.Command, cwd, env, false), backstop)
	if err != nil {
		return nil, err
	}
	defer s.close()
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if req.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	defer cancel()
	stop := context.AfterFunc(runCtx, s.stop) // ends the wait for output
	defer stop()
	res := &sandbox.CommandResult{PID: int(s.pid)}
	stdout := &boundedBuffer{max: max}
	stderr := &boundedBuffer{max: max}
	for {
		ev, err := s.next()
		if err != nil {
			if runCtx.Err() != nil {
				// Our deadline (or the caller's): stop the process, keep
				// what it printed.
				kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				in.killGroup(kctx, s.pid)
				kcancel()
				if ctx.Err() != nil {
					return nil, sandbox.AsError(ctx.Err())
				}
				res.TimedOut, res.ExitCode = true, -1
				break
			}
			if err == io.EOF {
				return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the command's output stream ended before it exited")
			}
			return nil, err
		}
		if ev.Data != nil {
			if len(ev.Data.Stdout) > 0 {
				stdout.write(ev.Data.Stdout)
				if req.OnOutput != nil {
					req.OnOutput("stdout", ev.Data.Stdout)
				}
			}
			if len(ev.Data.Stderr) > 0 {
				stderr.write(ev.Data.Stderr)
				if req.OnOutput != nil {
					req.OnOutput("stderr", ev.Data.Stderr)
				}
			}
		}
		if ev.End != nil {
			res.ExitCode = int(ev.End.ExitCode)
			if !ev.End.Exited && res.ExitCode == 0 {
				res.ExitCode = -1
			}
			break
		}
	}
	res.Stdout, res.Stderr = stdout.buf.String(), stderr.buf.String()
	res.Truncated = stdout.truncated || stderr.truncated
	return res, nil
}

// sh runs a short internal command and fails unless it exits 0.
func (in *Instance) sh(ctx context.Context, cmd string) (string, error) {
	res, err := in.Run(ctx, sandbox.CommandRequest{Command: cmd, Cwd: "/", Timeout: 60 * time.Second})
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		msg := strings.TrimSpace(res.Stderr)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return res.Stdout, &cmdError{code: res.ExitCode, stderr: msg}
	}
	return res.Stdout, nil
}

type cmdError struct {
	code   int
	stderr string
}

func (e *cmdError) Error() string { return "exit " + itoa(e.code) + ": " + e.stderr }

// shq quotes s for a POSIX shell.
func shq(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// killGroup kills a command and everything it started: commands run in a
// session of their own (setsid), so their process group is their pid, and
// envd signals single processes only.
func (in *Instance) killGroup(ctx context.Context, pid uint32) {
	_ = in.envd.signal(ctx, pid, envd.SIGKILL)
	s, err := in.envd.start(ctx, envd.StartRequest{Process: envd.ProcessConfig{Cmd: "/bin/sh", Args: []string{"-c", "kill -9 -" + itoa(int(pid))}}}, 0)
	if err != nil {
		return
	}
	defer s.close()
	for {
		if ev, err := s.next(); err != nil || ev.End != nil {
			return
		}
	}
}
