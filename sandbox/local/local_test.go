package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// newTestProvider makes a provider with its own state directory.
func newTestProvider(t testing.TB) *Provider {
	t.Helper()
	dir, err := os.MkdirTemp("", "vmservice-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	p, err := New(Options{StateDir: dir, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, p.Close())
		require.NoError(t, os.RemoveAll(dir))
	})
	return p
}

func testConfig() sandbox.Config {
	return sandbox.Config{}.WithDefaults(sandbox.DefaultSettings())
}

func newTestInstance(t testing.TB, p *Provider, mod func(*sandbox.Config)) *Instance {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	in, err := p.CreateLocal(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, in.Destroy(context.Background())) })
	return in
}

func TestSmoke(t *testing.T) {
	p := newTestProvider(t)
	start := time.Now()
	in := newTestInstance(t, p, nil)
	t.Logf("create took %v", time.Since(start))
	ctx := context.Background()
	res, err := in.Run(ctx, sandbox.CommandRequest{Command: "id; echo $HOME $DISPLAY; pwd; echo err >&2; exit 3"})
	require.NoError(t, err)
	t.Logf("%+v", res)
	require.Equal(t, 3, res.ExitCode)
	require.NoError(t, in.Alive(ctx))
}
