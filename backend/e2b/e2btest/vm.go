package e2btest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

// Where the binaries are inside every emulated sandbox.
const (
	vmEnvd = "/.e2b/envd"
	vmInit = "/.e2b/envdinit"
	// vmShim is envdinit again, as the ionice envd runs every process
	// through (see cmd/envdinit).
	vmShim = "/.e2b/bin/ionice"
)

// LocalBinds put the binaries into every sandbox of a local backend made
// with them (local.Options.ROBinds): the emulator's machine image.
func LocalBinds(b Binaries) []local.Bind {
	return []local.Bind{{Host: b.Envd, Path: vmEnvd}, {Host: b.Init, Path: vmInit}, {Host: b.Init, Path: vmShim}}
}

// Local builds the binaries (Build) and returns a local backend whose
// sandboxes have them: what LocalFactory needs.
func Local(log zerolog.Logger) (*local.Provider, Binaries, error) {
	b, err := Build()
	if err != nil {
		return nil, b, err
	}
	p, err := local.New(local.Options{Log: log, ROBinds: LocalBinds(b)})
	return p, b, err
}

// LocalFactory makes each emulated sandbox a real local sandbox
// (bubblewrap + Xvfb + openbox) playing the Firecracker VM, with E2B's
// envd running inside it as in E2B's VM. p must have LocalBinds.
func LocalFactory(p *local.Provider, log zerolog.Logger) Factory {
	return func(ctx context.Context, spec CreateSpec) (Machine, error) {
		cfg := sandbox.Config{Template: "desktop", AllowInternetAccess: spec.AllowInternetAccess}
		cfg = cfg.WithDefaults(sandbox.DefaultSettings())
		in, err := p.CreateLocal(ctx, cfg, map[string]string{"e2btest.sandbox_id": spec.ID})
		if err != nil {
			return nil, err
		}
		m := &localMachine{in: in, log: log.With().Str("sandbox", spec.ID).Logger()}
		if err := m.startEnvd(ctx); err != nil {
			_ = in.Destroy(context.WithoutCancel(ctx))
			return nil, err
		}
		return m, nil
	}
}

type localMachine struct {
	in   *local.Instance
	envd *local.Process
	log  zerolog.Logger

	mu  sync.Mutex
	out strings.Builder // envd's first output, for errors
}

// startEnvd starts envd as E2B's VM does outside Firecracker
// (-isnotfc), through envdinit: with the desktop's own processes, what it
// starts in the user's cgroup leaf (envd's own cgroup manager needs
// cgroup v2 controllers).
func (m *localMachine) startEnvd(ctx context.Context) error {
	p, err := m.in.Start(ctx, local.ProcessSpec{
		Argv:   []string{vmInit, vmEnvd, "-isnotfc", "-no-cgroups", "-port", strconv.Itoa(EnvdPort)},
		Cwd:    "/",
		System: true,
		OnOutput: func(_ string, b []byte) {
			m.mu.Lock()
			if m.out.Len() < 4096 {
				m.out.Write(b)
			}
			m.mu.Unlock()
		},
	})
	if err != nil {
		return fmt.Errorf("starting envd: %w", err)
	}
	m.envd = p
	return nil
}

// Exited reports envd's end (and what it printed) once it has exited.
func (m *localMachine) Exited() error {
	select {
	case <-m.envd.Done():
		st, _ := m.envd.Wait(context.Background())
		m.mu.Lock()
		defer m.mu.Unlock()
		return fmt.Errorf("envd exited (code %d): %s", st.Code, strings.TrimSpace(m.out.String()))
	default:
		return nil
	}
}

func (m *localMachine) Dial(ctx context.Context, port int) (net.Conn, error) {
	return m.in.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port))
}

// Env: E2B's desktop template runs an X server that needs no cookie; a
// local sandbox's does, so every process gets the cookie file's path.
func (m *localMachine) Env() map[string]string {
	return map[string]string{"XAUTHORITY": m.in.DisplayEnv()["XAUTHORITY"]}
}

func (m *localMachine) Close(ctx context.Context) error { return m.in.Destroy(ctx) }
