//go:build linux

package local

import (
	"context"
	"path"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

// DefaultMaxRead bounds ReadFile when the caller gives no bound; MaxRead
// is the largest bound a caller may give (the agent channel's message
// limit is made for it).
const (
	DefaultMaxRead = 64 << 20
	MaxRead        = DefaultMaxRead
)

// MaxListEntries bounds ListFiles: a directory of millions of files would
// otherwise be hundreds of megabytes in the server's memory.
const MaxListEntries = 10000

// File operations run in the agent, inside the sandbox: a path (also one
// with "..", also a symlink planted in the home) resolves in the sandbox's
// own view, where host files outside the read-only system directories do not
// exist and those inside are read-only and not readable beyond what any
// user may read.

// fileErr maps an agent error to the SDK's codes. Messages name only the
// sandbox path.
func fileErr(p string, e *wireErr, maxBytes int64) error {
	switch e.Kind {
	case errNotFound:
		return sandbox.InvalidArgument("path", "no such file or directory in the sandbox: %s", p).WithDetail("path", p)
	case errPerm:
		return sandbox.Errorf(sandbox.CodePermissionDenied, "permission denied: %s", p).WithDetail("path", p)
	case errIsDir:
		return sandbox.InvalidArgument("path", "%s is a directory", p).WithDetail("path", p)
	case errNotDir:
		return sandbox.InvalidArgument("path", "a parent of %s is not a directory", p).WithDetail("path", p)
	case errTooLarge:
		return sandbox.InvalidArgument("max_bytes", "%s is %d bytes, more than the limit of %d bytes", p, e.Size, maxBytes).
			WithDetail("path", p).WithDetail("size", e.Size).WithDetail("max_bytes", maxBytes)
	case errInvalid:
		return sandbox.InvalidArgument("path", "%s", e.Msg).WithDetail("path", p)
	}
	return unavailable("the file operation on %s failed in the sandbox", p).WithDetail("path", p)
}

func (in *Instance) fileCall(ctx context.Context, r *request) (*message, error) {
	m, err := in.agent().call(ctx, r)
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	if m.Err != nil {
		return nil, fileErr(r.Path, m.Err, r.Max)
	}
	return m, nil
}

func (in *Instance) filePath(p string) (string, error) {
	if p == "" {
		return "", sandbox.InvalidArgument("path", "path must not be empty")
	}
	return in.resolve("path", p)
}

// writable reports whether p is in one of the sandbox's writable areas:
// the home, /tmp and the working directory.
func (in *Instance) writable(p string) bool {
	for _, root := range []string{homeDir, "/tmp", in.cfg.WorkingDirectory} {
		if under(p, root) {
			return true
		}
	}
	return false
}

func (in *Instance) writePath(p string) (string, error) {
	p, err := in.filePath(p)
	if err != nil {
		return "", err
	}
	if !in.writable(p) {
		return "", sandbox.Errorf(sandbox.CodePermissionDenied, "%s is outside the sandbox's writable areas (%s, /tmp)", p, homeDir).WithDetail("path", p)
	}
	return p, nil
}

// ReadFile reads a file of at most maxBytes (<= 0: DefaultMaxRead; never
// more than MaxRead); a bigger file is INVALID_ARGUMENT with its size in
// the details.
func (in *Instance) ReadFile(ctx context.Context, p string, maxBytes int64) ([]byte, error) {
	p, err := in.filePath(p)
	if err != nil {
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRead
	}
	maxBytes = min(maxBytes, MaxRead)
	m, err := in.fileCall(ctx, &request{Op: opRead, Path: p, Max: maxBytes})
	if err != nil {
		return nil, err
	}
	if m.Data == nil {
		return []byte{}, nil
	}
	return m.Data, nil
}

// WriteFile writes data (binary safe), creating parent directories.
func (in *Instance) WriteFile(ctx context.Context, p string, data []byte) error {
	p, err := in.writePath(p)
	if err != nil {
		return err
	}
	_, err = in.fileCall(ctx, &request{Op: opWrite, Path: p, Data: data})
	return err
}

func toEntry(e wireEntry) sandbox.FileEntry {
	return sandbox.FileEntry{Name: e.Name, Path: e.Path, Type: e.Type, Size: e.Size, ModifiedAt: time.Unix(0, e.ModTime).UTC()}
}

// ListFiles lists a directory.
func (in *Instance) ListFiles(ctx context.Context, p string) ([]sandbox.FileEntry, error) {
	if p == "" {
		p = in.cfg.WorkingDirectory
	}
	p, err := in.filePath(p)
	if err != nil {
		return nil, err
	}
	m, err := in.fileCall(ctx, &request{Op: opList, Path: p, Max: MaxListEntries})
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.FileEntry, 0, len(m.Entries))
	for _, e := range m.Entries {
		out = append(out, toEntry(e))
	}
	return out, nil
}

// FileInfo is Stat's answer: the entry plus its permission bits and, for a
// symlink, its target.
type FileInfo struct {
	sandbox.FileEntry
	Mode   uint32 `json:"mode"`
	Target string `json:"target,omitempty"`
}

// Stat describes one path (a symlink itself, not its target).
func (in *Instance) Stat(ctx context.Context, p string) (*FileInfo, error) {
	p, err := in.filePath(p)
	if err != nil {
		return nil, err
	}
	m, err := in.fileCall(ctx, &request{Op: opStat, Path: p})
	if err != nil {
		return nil, err
	}
	if m.Entry == nil {
		return nil, unavailable("the sandbox gave no answer for %s", p)
	}
	return &FileInfo{FileEntry: toEntry(*m.Entry), Mode: m.Entry.Mode, Target: m.Entry.Target}, nil
}

// MakeDir creates a directory and its parents.
func (in *Instance) MakeDir(ctx context.Context, p string) error {
	p, err := in.writePath(p)
	if err != nil {
		return err
	}
	_, err = in.fileCall(ctx, &request{Op: opMkdir, Path: p})
	return err
}

// Remove removes a file or a directory tree.
func (in *Instance) Remove(ctx context.Context, p string) error {
	p, err := in.writePath(p)
	if err != nil {
		return err
	}
	if p == homeDir || p == "/tmp" || p == path.Clean(in.cfg.WorkingDirectory) {
		return sandbox.Errorf(sandbox.CodePermissionDenied, "%s cannot be removed", p).WithDetail("path", p)
	}
	_, err = in.fileCall(ctx, &request{Op: opRemove, Path: p})
	return err
}
