package stream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/vnc"
	"github.com/vmservice/vmservice/sandbox/x11/x11test"
	"github.com/vmservice/vmservice/stream"
)

// deskProvider is a minimal real backend for the stream tests: each
// sandbox is a real Xvfb whose streams are real x11vnc processes (through
// vnc.Slot, as the local backend does). Only lifecycle and Streams are
// implemented; the stream service uses nothing else.
type deskProvider struct {
	t testing.TB
	n atomic.Int32
}

type deskInstance struct {
	sandbox.Instance // nil: any other method panics, which would be a bug here
	id               string
	display, auth    string
	base             vnc.Spec
	slot             vnc.Slot
	log              zerolog.Logger
}

const nobody = 65534

func (p *deskProvider) Name() string { return "desk" }
func (p *deskProvider) Close() error { return nil }
func (p *deskProvider) Create(ctx context.Context, cfg sandbox.Config, labels map[string]string) (sandbox.Instance, error) {
	t := p.t
	_, _, display, auth := x11test.StartXvfb(t, cfg.Resolution.Width, cfg.Resolution.Height)
	dir, err := os.MkdirTemp("", "streamtest-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o711))
	data, err := os.ReadFile(auth)
	require.NoError(t, err)
	a := filepath.Join(dir, "Xauthority")
	require.NoError(t, os.WriteFile(a, data, 0o600))
	require.NoError(t, os.Chown(a, nobody, nobody))
	in := &deskInstance{id: fmt.Sprintf("desk%d", p.n.Add(1)), display: display, auth: a,
		base: vnc.Spec{Display: display, AuthFile: a, Dir: filepath.Join(dir, "run"), UID: nobody, GID: nobody},
		log:  zerolog.New(zerolog.NewTestWriter(t))}
	return in, nil
}

func (i *deskInstance) ID() string                                      { return i.id }
func (i *deskInstance) Details() map[string]any                         { return nil }
func (i *deskInstance) Alive(context.Context) error                     { return nil }
func (i *deskInstance) SetTimeout(context.Context, time.Duration) error { return nil }
func (i *deskInstance) Destroy(context.Context) error                   { return i.slot.Close() }
func (i *deskInstance) StartVNC(ctx context.Context, o sandbox.StreamOptions) (*sandbox.StreamEndpoint, error) {
	return i.slot.Start(ctx, i.base, o, i.log)
}
func (i *deskInstance) StopVNC(context.Context) error { return i.slot.Stop() }

// newManager returns a Manager over deskProvider, closed at cleanup.
func newManager(t *testing.T) *sandbox.Manager {
	m, err := sandbox.NewManager(&deskProvider{t: t}, sandbox.Settings{}, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func newSandbox(t *testing.T, m *sandbox.Manager) *sandbox.Sandbox {
	sb, err := m.Create(context.Background(), sandbox.CreateRequest{Owner: "u1",
		Config: sandbox.Config{Resolution: sandbox.Resolution{Width: 640, Height: 480}}})
	require.NoError(t, err)
	return sb
}

// newService starts a stream service listening on a free loopback port.
func newService(t *testing.T) *stream.Service {
	s, err := stream.New(stream.Config{Listen: "127.0.0.1:0", Log: zerolog.New(zerolog.NewTestWriter(t))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	select {
	case <-s.Listening():
	case err := <-done:
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		cancel()
		<-done
	})
	return s
}

// x11vncOn counts x11vnc processes serving display.
func x11vncOn(display string) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 3 || filepath.Base(args[0]) != "x11vnc" {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			continue
		}
		for j, a := range args {
			if a == "-display" && j+1 < len(args) && args[j+1] == display {
				n++
			}
		}
	}
	return n
}
