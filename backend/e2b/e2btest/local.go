package e2btest

import (
	"context"
	"errors"
	"strings"
	"syscall"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

// LocalFactory makes each emulated sandbox a real local sandbox
// (bubblewrap + Xvfb + openbox), so commands, files and the desktop behave
// like a small VM's.
func LocalFactory(p *local.Provider) Factory {
	return func(ctx context.Context, spec CreateSpec) (Machine, error) {
		cfg := sandbox.Config{Template: "desktop", AllowInternetAccess: spec.AllowInternetAccess, Environment: spec.Env}
		cfg = cfg.WithDefaults(sandbox.DefaultSettings())
		in, err := p.CreateLocal(ctx, cfg, map[string]string{"e2bemu.sandbox_id": spec.ID})
		if err != nil {
			return nil, err
		}
		return &localMachine{in: in}, nil
	}
}

type localMachine struct{ in *local.Instance }

func (m *localMachine) Home() string { return sandbox.DefaultWorkdir }

// localErr maps the local backend's errors to the kinds envd reports.
func localErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sandbox.Error
	if !errors.As(err, &se) {
		return err
	}
	kind := "invalid"
	low := strings.ToLower(se.Message)
	switch {
	case se.Code == sandbox.CodePermissionDenied:
		kind = "permission"
	case strings.Contains(low, "no such file"), strings.Contains(low, "is not installed"), strings.Contains(low, "does not exist"):
		kind = "not_found"
	case strings.Contains(low, "is a directory"):
		kind = "is_dir"
	case strings.Contains(low, "not a directory"):
		kind = "not_dir"
	case se.Details != nil && se.Details["field"] == "max_bytes":
		kind = "too_large"
	case se.Code == sandbox.CodeBackendUnavailable:
		kind = "unavailable"
	case se.Code != sandbox.CodeInvalidArgument:
		return err
	}
	return &Error{Kind: kind, Msg: se.Message}
}

func (m *localMachine) Start(ctx context.Context, spec ProcSpec) (Proc, error) {
	p, err := m.in.Start(ctx, local.ProcessSpec{Argv: spec.Argv, Cwd: spec.Cwd, Env: spec.Env,
		Stdin: spec.Stdin, OnOutput: spec.OnOutput})
	if err != nil {
		return nil, localErr(err)
	}
	return &localProc{p: p}, nil
}

func (m *localMachine) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	b, err := m.in.ReadFile(ctx, p, max)
	return b, localErr(err)
}

func (m *localMachine) WriteFile(ctx context.Context, p string, data []byte) error {
	return localErr(m.in.WriteFile(ctx, p, data))
}

func entryOf(fe sandbox.FileEntry, mode uint32) Entry {
	return Entry{Name: fe.Name, Path: fe.Path, Dir: fe.Type == "dir", Symlink: fe.Type == "symlink",
		Size: fe.Size, Mode: mode, ModTime: fe.ModifiedAt}
}

func (m *localMachine) Stat(ctx context.Context, p string) (Entry, error) {
	fi, err := m.in.Stat(ctx, p)
	if err != nil {
		return Entry{}, localErr(err)
	}
	return entryOf(fi.FileEntry, fi.Mode), nil
}

func (m *localMachine) List(ctx context.Context, p string) ([]Entry, error) {
	fes, err := m.in.ListFiles(ctx, p)
	if err != nil {
		return nil, localErr(err)
	}
	out := make([]Entry, 0, len(fes))
	for _, fe := range fes {
		mode := uint32(0o644)
		if fe.Type == "dir" {
			mode = 0o755
		}
		out = append(out, entryOf(fe, mode))
	}
	return out, nil
}

func (m *localMachine) MakeDir(ctx context.Context, p string) error {
	return localErr(m.in.MakeDir(ctx, p))
}

func (m *localMachine) Remove(ctx context.Context, p string) error {
	return localErr(m.in.Remove(ctx, p))
}

func (m *localMachine) Close(ctx context.Context) error { return m.in.Destroy(ctx) }

type localProc struct{ p *local.Process }

func (p *localProc) PID() int { return p.p.PID() }

func (p *localProc) Write(data []byte) error {
	return localErr(p.p.Write(context.Background(), data))
}

func (p *localProc) CloseStdin() error { return localErr(p.p.CloseStdin(context.Background())) }

func (p *localProc) Kill(hard bool) error {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	return localErr(p.p.Signal(context.Background(), sig))
}

func (p *localProc) Wait() (int, int, error) {
	st, err := p.p.Wait(context.Background())
	if err != nil {
		return -1, 0, err
	}
	if st.Lost {
		return -1, 0, errors.New("the sandbox stopped")
	}
	return st.Code, st.Signal, nil
}
