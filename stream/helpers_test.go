package stream_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/sandbox"
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

func (p *deskProvider) Name() string { return "desk" }
func (p *deskProvider) Close() error { return nil }
func (p *deskProvider) Create(ctx context.Context, cfg sandbox.Config, labels map[string]string) (sandbox.Instance, error) {
	t := p.t
	base := vnctest.Desktop(t, cfg.Resolution.Width, cfg.Resolution.Height)
	in := &deskInstance{id: fmt.Sprintf("desk%d", p.n.Add(1)), display: base.Display, auth: base.AuthFile,
		base: base, log: zerolog.New(zerolog.NewTestWriter(t))}
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
func x11vncOn(display string) int { return len(vnctest.X11vnc(display, 0)) }
