package local

import "github.com/rs/zerolog"

// Options configure the local backend. Zero values take the defaults.
type Options struct {
	// StateDir holds per-sandbox homes, cookies and the agent binary.
	// Default /run/vmservice/local (root) or /tmp/vmservice-UID/local.
	StateDir string
	Log      zerolog.Logger
	// LockDir holds the machine-wide slot locks shared by every server on
	// this machine (default /run/vmservice-local-slots; without root the
	// user's own, /tmp/vmservice-UID/slots).
	LockDir string
	// UIDBase is the first sandbox uid (default 200000); slot N runs as
	// UIDBase+N.
	UIDBase int
	// DisplayBase is the first X display number (default 100).
	DisplayBase int
	// MaxSlots bounds concurrently existing sandboxes on the machine
	// (default 1000).
	MaxSlots int
	// PidsMax is each sandbox's process/thread limit (default 1024:
	// browsers use a few hundred threads).
	PidsMax int
	// CgroupParent is the cgroup under which sandbox cgroups are made
	// (default "vmservice").
	CgroupParent string
	// DiskMB is the size of each sandbox's home and of its /tmp (tmpfs,
	// default 1024), never more than half its memory limit (quota.go).
	DiskMB int
	// ROBinds are host files or directories every sandbox sees read-only
	// at Bind.Path (the E2B emulator binds envd this way, as a VM image
	// has it).
	ROBinds []Bind
}

// Bind is a host path (Host) bound into sandboxes at Path.
type Bind struct{ Host, Path string }
