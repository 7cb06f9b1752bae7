package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// envd's Connect procedures.
const (
	ProcStart      = "/process.Process/Start"
	ProcConnect    = "/process.Process/Connect"
	ProcList       = "/process.Process/List"
	ProcSendInput  = "/process.Process/SendInput"
	ProcSendSignal = "/process.Process/SendSignal"
	ProcCloseStdin = "/process.Process/CloseStdin"
	ProcUpdate     = "/process.Process/Update"
	FsStat         = "/filesystem.Filesystem/Stat"
	FsMakeDir      = "/filesystem.Filesystem/MakeDir"
	FsMove         = "/filesystem.Filesystem/Move"
	FsListDir      = "/filesystem.Filesystem/ListDir"
	FsRemove       = "/filesystem.Filesystem/Remove"
)

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

// PTY is process.PTY.
type PTY struct {
	Size struct {
		Cols uint32 `json:"cols,omitempty"`
		Rows uint32 `json:"rows,omitempty"`
	} `json:"size"`
}

// StartRequest is process.StartRequest.
type StartRequest struct {
	Process ProcessConfig `json:"process"`
	PTY     *PTY          `json:"pty,omitempty"`
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

// ConnectRequest is process.ConnectRequest.
type ConnectRequest struct {
	Process ProcessSelector `json:"process"`
}

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

// StartResponse is process.StartResponse (and ConnectResponse).
type StartResponse struct {
	Event ProcessEvent `json:"event"`
}

// ProcessInput is process.ProcessInput.
type ProcessInput struct {
	Stdin []byte `json:"stdin,omitempty"`
	PTY   []byte `json:"pty,omitempty"`
}

// SendInputRequest is process.SendInputRequest.
type SendInputRequest struct {
	Process ProcessSelector `json:"process"`
	Input   ProcessInput    `json:"input"`
}

// Signals of process.Signal.
const (
	SignalSIGTERM = "SIGNAL_SIGTERM"
	SignalSIGKILL = "SIGNAL_SIGKILL"
)

// SendSignalRequest is process.SendSignalRequest. Signal is the enum's name
// (a number is accepted too; see SignalName).
type SendSignalRequest struct {
	Process ProcessSelector `json:"process"`
	Signal  json.RawMessage `json:"signal,omitempty"`
}

// SignalName normalises an enum value sent as name or number.
func SignalName(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		switch n {
		case 9:
			return SignalSIGKILL
		case 15:
			return SignalSIGTERM
		}
	}
	return "SIGNAL_UNSPECIFIED"
}

// CloseStdinRequest is process.CloseStdinRequest.
type CloseStdinRequest struct {
	Process ProcessSelector `json:"process"`
}

// ProcessInfo and ListResponse are process.List's answer.
type ProcessInfo struct {
	Config ProcessConfig `json:"config"`
	PID    uint32        `json:"pid,omitempty"`
	Tag    *string       `json:"tag,omitempty"`
}

type ListResponse struct {
	Processes []ProcessInfo `json:"processes,omitempty"`
}

// File types of filesystem.FileType.
const (
	FileTypeFile      = "FILE_TYPE_FILE"
	FileTypeDirectory = "FILE_TYPE_DIRECTORY"
	FileTypeSymlink   = "FILE_TYPE_SYMLINK"
)

// EntryInfo is filesystem.EntryInfo.
type EntryInfo struct {
	Name          string            `json:"name,omitempty"`
	Type          string            `json:"type,omitempty"`
	Path          string            `json:"path,omitempty"`
	Size          Int64             `json:"size,omitempty"`
	Mode          uint32            `json:"mode,omitempty"`
	Permissions   string            `json:"permissions,omitempty"`
	Owner         string            `json:"owner,omitempty"`
	Group         string            `json:"group,omitempty"`
	ModifiedTime  *time.Time        `json:"modifiedTime,omitempty"`
	SymlinkTarget *string           `json:"symlinkTarget,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// PathRequest is the request of Stat, MakeDir and Remove.
type PathRequest struct {
	Path string `json:"path"`
}

// EntryResponse is the answer of Stat, MakeDir and Move.
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

// MoveRequest is filesystem.MoveRequest.
type MoveRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// FileEntry is one item of POST /files' answer (envd.yaml EntryInfo).
type FileEntry struct {
	Path     string            `json:"path"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// HTTPError is the error body of envd's HTTP API and of the control plane.
type HTTPError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}
