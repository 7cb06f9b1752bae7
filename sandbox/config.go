package sandbox

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limits of a sandbox configuration (the VM Service SDK's ranges).
const (
	MinCPU          = 1
	MaxCPU          = 8
	MinMemoryMB     = 512
	MaxMemoryMB     = 8192
	MinTimeout      = 10 * time.Second
	MaxTimeout      = 24 * time.Hour
	DefaultTemplate = "desktop"
	DefaultWorkdir  = HomeDir
	MinWidth        = 320
	MinHeight       = 240
	MaxWidth        = 3840
	MaxHeight       = 2160
	maxEnvVars      = 256
	maxEnvValueLen  = 32 << 10
)

// DefaultResolution is the display size when none is asked for.
var DefaultResolution = Resolution{Width: 1024, Height: 768}

// Resolution is a display size in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

func (r Resolution) String() string { return fmt.Sprintf("%dx%d", r.Width, r.Height) }

// IsZero reports whether r is unset.
func (r Resolution) IsZero() bool { return r.Width == 0 && r.Height == 0 }

var resolutionRe = regexp.MustCompile(`^\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*$`)

// ParseResolution parses "WIDTHxHEIGHT" (e.g. "1024x768").
func ParseResolution(field, s string) (Resolution, error) {
	m := resolutionRe.FindStringSubmatch(s)
	if m == nil {
		return Resolution{}, InvalidArgument(field, "%s must look like 1024x768, got %q", field, s)
	}
	w, _ := strconv.Atoi(m[1])
	h, _ := strconv.Atoi(m[2])
	return Resolution{Width: w, Height: h}, nil
}

// Config describes a sandbox to create (the VM Service SDK's SandboxConfig plus the
// display resolution). Zero values mean "use the default".
type Config struct {
	Template            string            `json:"template,omitempty"`
	CPUCount            int               `json:"cpu_count,omitempty"`
	MemoryMB            int               `json:"memory_mb,omitempty"`
	Timeout             time.Duration     `json:"-"`
	AllowInternetAccess bool              `json:"allow_internet_access,omitempty"`
	Environment         map[string]string `json:"environment,omitempty"`
	WorkingDirectory    string            `json:"working_directory,omitempty"`
	Resolution          Resolution        `json:"resolution,omitempty"`
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// WithDefaults returns c with every unset field filled from s.
func (c Config) WithDefaults(s Settings) Config {
	if c.Template == "" {
		c.Template = s.DefaultTemplate
	}
	if c.CPUCount == 0 {
		c.CPUCount = s.DefaultCPU
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = s.DefaultMemoryMB
	}
	if c.Timeout == 0 {
		c.Timeout = s.DefaultTimeout
	}
	if c.WorkingDirectory == "" {
		c.WorkingDirectory = DefaultWorkdir
	}
	if c.Resolution.IsZero() {
		c.Resolution = DefaultResolution
	}
	return c
}

// Validate checks every field against its allowed range. The error names the
// field and the range so a caller can fix the request.
func (c Config) Validate() error {
	if c.Template == "" || len(c.Template) > 64 || strings.ContainsAny(c.Template, "/\\ \t\n") {
		return InvalidArgument("template", "template must be a short name such as %q", DefaultTemplate)
	}
	if c.CPUCount < MinCPU || c.CPUCount > MaxCPU {
		return InvalidArgument("cpu_count", "cpu_count must be between %d and %d, got %d", MinCPU, MaxCPU, c.CPUCount).
			WithDetail("min", MinCPU).WithDetail("max", MaxCPU)
	}
	if c.MemoryMB < MinMemoryMB || c.MemoryMB > MaxMemoryMB {
		return InvalidArgument("memory_mb", "memory_mb must be between %d and %d, got %d", MinMemoryMB, MaxMemoryMB, c.MemoryMB).
			WithDetail("min", MinMemoryMB).WithDetail("max", MaxMemoryMB)
	}
	if c.Timeout < MinTimeout || c.Timeout > MaxTimeout {
		return InvalidArgument("timeout_seconds", "timeout_seconds must be between %d and %d, got %d",
			int(MinTimeout.Seconds()), int(MaxTimeout.Seconds()), int(c.Timeout.Seconds())).
			WithDetail("min", int(MinTimeout.Seconds())).WithDetail("max", int(MaxTimeout.Seconds()))
	}
	if c.Resolution.Width < MinWidth || c.Resolution.Width > MaxWidth || c.Resolution.Height < MinHeight || c.Resolution.Height > MaxHeight {
		return InvalidArgument("resolution", "resolution must be between %dx%d and %dx%d, got %s",
			MinWidth, MinHeight, MaxWidth, MaxHeight, c.Resolution)
	}
	if !path.IsAbs(c.WorkingDirectory) || path.Clean(c.WorkingDirectory) != c.WorkingDirectory || strings.ContainsRune(c.WorkingDirectory, 0) {
		return InvalidArgument("working_directory", "working_directory must be a clean absolute path such as %s, got %q", DefaultWorkdir, c.WorkingDirectory)
	}
	if len(c.Environment) > maxEnvVars {
		return InvalidArgument("environment", "at most %d environment variables are allowed", maxEnvVars)
	}
	return ValidateEnv("environment", c.Environment)
}

// ValidateEnv checks environment variable names and values.
func ValidateEnv(field string, env map[string]string) error {
	for k, v := range env {
		if !envNameRe.MatchString(k) {
			return InvalidArgument(field, "environment variable name %q is not valid (letters, digits and _; not starting with a digit)", k)
		}
		if len(v) > maxEnvValueLen || strings.ContainsRune(v, 0) {
			return InvalidArgument(field, "environment variable %s has a value that is too long or contains NUL", k)
		}
	}
	return nil
}

// Settings are the manager-wide settings (the VM Service SDK's client settings).
type Settings struct {
	// MaxConcurrentSandboxes bounds all live sandboxes (default 10, >= 1).
	MaxConcurrentSandboxes int
	// MaxSandboxesPerUser bounds one user's live sandboxes (default: same as
	// MaxConcurrentSandboxes).
	MaxSandboxesPerUser int
	DefaultTemplate     string
	DefaultTimeout      time.Duration
	DefaultCPU          int
	DefaultMemoryMB     int
	// MaxTimeout bounds timeout extensions (default MaxTimeout).
	MaxTimeout time.Duration
	// Shared: several servers (replicas) share the backend's account and
	// serve any of a principal's sandboxes (shared.go). The provider must
	// be a Directory. Sandboxes then outlive the server: the backend's own
	// timer ends them.
	Shared bool
}

// DefaultSettings are the VM Service SDK's defaults.
func DefaultSettings() Settings {
	return Settings{
		MaxConcurrentSandboxes: 10,
		DefaultTemplate:        DefaultTemplate,
		DefaultTimeout:         300 * time.Second,
		DefaultCPU:             2,
		DefaultMemoryMB:        2048,
		MaxTimeout:             MaxTimeout,
	}
}

// Normalize fills unset fields with defaults and validates the result.
func (s Settings) Normalize() (Settings, error) {
	d := DefaultSettings()
	if s.MaxConcurrentSandboxes == 0 {
		s.MaxConcurrentSandboxes = d.MaxConcurrentSandboxes
	}
	if s.MaxSandboxesPerUser == 0 {
		s.MaxSandboxesPerUser = s.MaxConcurrentSandboxes
	}
	if s.DefaultTemplate == "" {
		s.DefaultTemplate = d.DefaultTemplate
	}
	if s.DefaultTimeout == 0 {
		s.DefaultTimeout = d.DefaultTimeout
	}
	if s.DefaultCPU == 0 {
		s.DefaultCPU = d.DefaultCPU
	}
	if s.DefaultMemoryMB == 0 {
		s.DefaultMemoryMB = d.DefaultMemoryMB
	}
	if s.MaxTimeout == 0 {
		s.MaxTimeout = d.MaxTimeout
	}
	switch {
	case s.MaxConcurrentSandboxes < 1:
		return s, InvalidArgument("max_concurrent_sandboxes", "max_concurrent_sandboxes must be >= 1, got %d", s.MaxConcurrentSandboxes)
	case s.MaxSandboxesPerUser < 1:
		return s, InvalidArgument("max_sandboxes_per_user", "max_sandboxes_per_user must be >= 1, got %d", s.MaxSandboxesPerUser)
	case s.DefaultTimeout < MinTimeout || s.DefaultTimeout > s.MaxTimeout:
		return s, InvalidArgument("default_timeout", "default_timeout must be between %d and %d seconds, got %d",
			int(MinTimeout.Seconds()), int(s.MaxTimeout.Seconds()), int(s.DefaultTimeout.Seconds()))
	case s.DefaultCPU < MinCPU || s.DefaultCPU > MaxCPU:
		return s, InvalidArgument("default_cpu", "default cpu_count must be between %d and %d", MinCPU, MaxCPU)
	case s.DefaultMemoryMB < MinMemoryMB || s.DefaultMemoryMB > MaxMemoryMB:
		return s, InvalidArgument("default_memory_mb", "default memory_mb must be between %d and %d", MinMemoryMB, MaxMemoryMB)
	}
	return s, nil
}
