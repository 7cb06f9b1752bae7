// Package e2btest is a test-only emulator of E2B: the control plane's REST API
// and the envd subset that the backend and the official SDKs use, written
// from the published definitions (openapi.yml, envd.yaml, process.proto,
// filesystem.proto). Each emulated sandbox is a Machine, normally a real
// local sandbox (backend/local), so commands, files and the desktop are real.
package e2btest

import (
	"context"
	"time"
)

// Machine is what an emulated sandbox runs on.
type Machine interface {
	Start(ctx context.Context, spec ProcSpec) (Proc, error)
	ReadFile(ctx context.Context, path string, max int64) ([]byte, error)
	WriteFile(ctx context.Context, path string, data []byte) error
	Stat(ctx context.Context, path string) (Entry, error)
	List(ctx context.Context, path string) ([]Entry, error)
	MakeDir(ctx context.Context, path string) error
	Remove(ctx context.Context, path string) error
	// Home is the default user's home directory (relative paths).
	Home() string
	Close(ctx context.Context) error
}

// ProcSpec is a process to start. Output goes to OnOutput as it arrives
// ("stdout" / "stderr"); all of it is delivered before Wait returns.
type ProcSpec struct {
	Argv     []string
	Cwd      string
	Env      map[string]string
	Stdin    bool
	OnOutput func(stream string, data []byte)
}

// Proc is a running process.
type Proc interface {
	PID() int
	Write(data []byte) error
	CloseStdin() error
	// Kill sends SIGKILL (true) or SIGTERM (false) to the process group.
	Kill(hard bool) error
	// Wait returns the exit code, or the signal number when killed.
	Wait() (code int, signal int, err error)
}

// Entry describes a file.
type Entry struct {
	Name, Path string
	Dir        bool
	Symlink    bool
	Size       int64
	Mode       uint32
	ModTime    time.Time
}

// Errors a Machine reports, mapped to Connect codes and HTTP statuses.
type Error struct {
	Kind string // "not_found", "exists", "is_dir", "not_dir", "permission", "invalid", "too_large", "no_process", "unavailable"
	Msg  string
}

func (e *Error) Error() string { return e.Kind + ": " + e.Msg }

// CreateSpec is what the control plane asks a Factory for.
type CreateSpec struct {
	ID                  string
	Template            string
	Env                 map[string]string
	AllowInternetAccess bool
}

// Factory makes the Machine behind a new sandbox.
type Factory func(ctx context.Context, spec CreateSpec) (Machine, error)
