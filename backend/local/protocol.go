//go:build linux

package local

// The agent protocol: JSON lines on the agent's descriptor agentInFD
// (requests from the backend) and agentOutFD (replies and events to the
// backend); its stdin and stdout are /dev/null. Every request
// carries an id and gets exactly one reply with the same id. Process output
// and exits are events (id 0) tagged with the process id inside the sandbox.
// The agent sends all output of a process before its exit event.

// Operations.
const (
	opPing    = "ping"
	opStart   = "start"   // argv, cwd, env, stdin, max_out, discard -> pid
	opStdin   = "stdin"   // pid, data
	opClose   = "close"   // pid: close the process's stdin
	opSignal  = "signal"  // pid, sig: to the whole process group
	opStartWM = "startwm" // argv (the window manager), env -> pid once it manages windows
	opRead    = "read"    // path, max -> data
	opWrite   = "write"   // path, data, mode: creates parent directories
	opList    = "list"    // path -> entries
	opStat    = "stat"    // path -> entry
	opMkdir   = "mkdir"   // path: with parents
	opRemove  = "remove"  // path: recursively
)

// Events.
const (
	evOut  = "out"
	evExit = "exit"
)

type request struct {
	ID   uint64 `json:"id"`
	Op   string `json:"op"`
	Path string `json:"path,omitempty"`
	Data []byte `json:"data,omitempty"`
	Max  int64  `json:"max,omitempty"`
	Mode uint32 `json:"mode,omitempty"`

	Argv    []string `json:"argv,omitempty"`
	Cwd     string   `json:"cwd,omitempty"`
	Env     []string `json:"env,omitempty"`
	Stdin   bool     `json:"stdin,omitempty"`
	MaxOut  int      `json:"max_out,omitempty"` // per stream; 0 = forward everything
	Discard bool     `json:"discard,omitempty"` // output to /dev/null (background)
	Sys     bool     `json:"sys,omitempty"`     // a daemon: stays out of the user cgroup, holding its procs files (UserCgroupFDsEnv)
	// Self runs the agent's own binary (Argv[0] is its name), as a user
	// process like any other: the accessibility driver (a11y.go).
	Self bool `json:"self,omitempty"`
	PID  int  `json:"pid,omitempty"`
	Sig  int  `json:"sig,omitempty"`
}

type message struct {
	ID  uint64   `json:"id,omitempty"`
	Err *wireErr `json:"err,omitempty"`

	PID     int         `json:"pid,omitempty"`
	Data    []byte      `json:"data,omitempty"`
	Entries []wireEntry `json:"entries,omitempty"`
	Entry   *wireEntry  `json:"entry,omitempty"`

	Ev        string `json:"ev,omitempty"`
	Stream    string `json:"stream,omitempty"`
	Code      int    `json:"code,omitempty"`
	Signal    int    `json:"signal,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Error kinds the agent reports; the backend maps them to sandbox codes.
const (
	errNotFound = "not_found"
	errPerm     = "permission"
	errIsDir    = "is_dir"
	errNotDir   = "not_dir"
	errTooLarge = "too_large"
	errInvalid  = "invalid"
	errNoProc   = "no_process"
	errIO       = "io"
)

type wireErr struct {
	Kind string `json:"kind"`
	Msg  string `json:"msg"`
	Size int64  `json:"size,omitempty"`
}

type wireEntry struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Type    string `json:"type"`
	Size    int64  `json:"size"`
	Mode    uint32 `json:"mode"`
	ModTime int64  `json:"mtime"` // unix nanoseconds
	Target  string `json:"target,omitempty"`
}
