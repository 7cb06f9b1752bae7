package e2btest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Binaries are what every emulated sandbox runs: E2B's envd (built from
// third_party/e2b-infra, unmodified) and envdinit (cmd/envdinit), which
// starts it.
type Binaries struct {
	Envd, Init string
	// Version is envd's own (envd -version): what the control plane
	// reports as envdVersion, and what the SDKs gate features on.
	Version string
}

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  error
)

// Build builds both with the Go toolchain from this repository's sources,
// once per process (the Go build cache makes every build after the first
// a link step).
func Build() (Binaries, error) {
	buildOnce.Do(func() { built, buildErr = build() })
	return built, buildErr
}

func build() (Binaries, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(gomod))
	if err != nil || mod == "" || mod == os.DevNull {
		return Binaries{}, errors.New("e2btest: no Go toolchain or module here to build envd")
	}
	root := filepath.Dir(mod)
	dir, err := binDir()
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Envd: filepath.Join(dir, "envd"), Init: filepath.Join(dir, "envdinit")}
	// envd is a module of its own (third_party/e2b-infra/packages/envd).
	if err := goBuild(filepath.Join(root, "third_party", "e2b-infra", "packages", "envd"), ".", b.Envd); err != nil {
		return Binaries{}, err
	}
	if err := goBuild(root, "./backend/e2b/e2btest/cmd/envdinit", b.Init); err != nil {
		return Binaries{}, err
	}
	v, err := exec.Command(b.Envd, "-version").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("e2btest: envd -version: %w", err)
	}
	b.Version = strings.TrimSpace(string(v))
	return b, nil
}

// goBuild builds pkg in dir into out, replacing it atomically: sandboxes of
// other processes may have the old file bound, and keep it.
func goBuild(dir, pkg, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".build-*")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-trimpath", "-o", tmp.Name(), pkg)
	cmd.Dir = dir
	// Static, as E2B builds envd; no VCS stamping (the vendored tree is
	// not a repository of its own).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("e2btest: building %s: %v: %s", pkg, err, o)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// binDir is where the binaries go: a directory of ours that sandbox uids
// can reach to bind them (a user cache under /root cannot be), the same
// for every process of this user so they replace one copy.
func binDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("vmservice-e2btest-%d", os.Geteuid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || !st.IsDir() || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("e2btest: %s is not a directory of ours that only we may write", dir)
	}
	return dir, nil
}
