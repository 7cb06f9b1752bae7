package envd

import (
	"bytes"
	"strconv"
	"time"
)

// The messages of envd's process and filesystem services (process.proto,
// filesystem.proto) as plain structs in their proto3 JSON form; the subset
// the backend sends and reads. Unknown fields are ignored.

// Int64 is a proto3 int64: a JSON string on the wire, a number accepted.
type Int64 int64

func (v Int64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(v), 10) + `"`), nil
}

func (v *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*v = Int64(n)
	return err
}

// ProcessConfig is process.ProcessConfig.
type ProcessConfig struct {
	Cmd  string            `json:"cmd"`
	Args []string          `json:"args,omitempty"`
	Envs map[string]string `json:"envs,omitempty"`
	Cwd  *string           `json:"cwd,omitempty"`
}

// StartRequest is process.StartRequest.
type StartRequest struct {
	Process ProcessConfig `json:"process"`
	Tag     *string       `json:"tag,omitempty"`
	Stdin   *bool         `json:"stdin,omitempty"`
}

// ProcessSelector is process.ProcessSelector (one of pid / tag).
type ProcessSelector struct {
	PID *uint32 `json:"pid,omitempty"`
	Tag *string `json:"tag,omitempty"`
}

// SelectPID selects a process by pid.
func SelectPID(pid uint32) ProcessSelector { return ProcessSelector{PID: &pid} }

// StartEvent, DataEvent, EndEvent make up process.ProcessEvent.
type StartEvent struct {
	PID uint32 `json:"pid,omitempty"`
}

type DataEvent struct {
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	PTY    []byte `json:"pty,omitempty"`
}

type EndEvent struct {
	ExitCode int32   `json:"exitCode,omitempty"`
	Exited   bool    `json:"exited,omitempty"`
	Status   string  `json:"status,omitempty"`
	Error    *string `json:"error,omitempty"`
}

// ProcessEvent is process.ProcessEvent: exactly one field is set.
type ProcessEvent struct {
	Start     *StartEvent `json:"start,omitempty"`
	Data      *DataEvent  `json:"data,omitempty"`
	End       *EndEvent   `json:"end,omitempty"`
	Keepalive *struct{}   `json:"keepalive,omitempty"`
}

// StartResponse is process.StartResponse.
type StartResponse struct {
	Event ProcessEvent `json:"event"`
}

// ProcessInput is process.ProcessInput.
type ProcessInput struct {
	Stdin []byte `json:"stdin,omitempty"`
}

// SendInputRequest is process.SendInputRequest.
type SendInputRequest struct {
	Process ProcessSelector `json:"process"`
	Input   ProcessInput    `json:"input"`
}

// Signal is process.Signal, by its enum name.
type Signal string

const (
	SIGTERM Signal = "SIGNAL_SIGTERM"
	SIGKILL Signal = "SIGNAL_SIGKILL"
)

// SendSignalRequest is process.SendSignalRequest.
type SendSignalRequest struct {
	Process ProcessSelector `json:"process"`
	Signal  Signal          `json:"signal"`
}

// FileType is filesystem.FileType, by its enum name.
type FileType string

const (
	FileTypeFile      FileType = "FILE_TYPE_FILE"
	FileTypeDirectory FileType = "FILE_TYPE_DIRECTORY"
	FileTypeSymlink   FileType = "FILE_TYPE_SYMLINK"
)

// EntryInfo is filesystem.EntryInfo.
type EntryInfo struct {
	Name         string     `json:"name,omitempty"`
	Type         FileType   `json:"type,omitempty"`
	Path         string     `json:"path,omitempty"`
	Size         Int64      `json:"size,omitempty"`
	Mode         uint32     `json:"mode,omitempty"`
	ModifiedTime *time.Time `json:"modifiedTime,omitempty"`
}

// PathRequest is the request of Stat, MakeDir and Remove.
type PathRequest struct {
	Path string `json:"path"`
}

// EntryResponse is the answer of Stat and MakeDir.
type EntryResponse struct {
	Entry *EntryInfo `json:"entry,omitempty"`
}

// ListDirRequest / ListDirResponse are filesystem.ListDir's.
type ListDirRequest struct {
	Path  string `json:"path"`
	Depth uint32 `json:"depth,omitempty"`
}

type ListDirResponse struct {
	Entries []EntryInfo `json:"entries,omitempty"`
}

// empty is google.protobuf.Empty-like answers ({}).
type empty struct{}
