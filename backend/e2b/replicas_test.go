package e2b

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/sandbox"
)

// Two replicas of one deployment (shared mode) against one E2B account:
// a client alternates between them, and ownership, lookup and quotas come
// from E2B's metadata, not from either replica's memory.
func TestReplicas(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	replica := func() *sandbox.Manager {
		o := e.options()
		o.ServerID, o.Shared = "deployment-1", true
		m, err := sandbox.NewManager(newProvider(t, o), sandbox.Settings{Shared: true, MaxConcurrentSandboxes: 3, MaxSandboxesPerUser: 2},
			zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	a, b := replica(), replica()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mk := func(m *sandbox.Manager, owner string) (*sandbox.Sandbox, error) {
		return m.Create(ctx, sandbox.CreateRequest{Owner: owner, Config: sandbox.Config{Timeout: 10 * time.Minute}})
	}

	// Created through A, driven and found through B.
	sa, err := mk(a, "alice")
	require.NoError(t, err)
	sb, err := b.Lookup(ctx, "alice", sa.ID())
	require.NoError(t, err)
	_, err = b.Lookup(ctx, "bob", sa.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err), "another principal's sandbox is not found")
	_, err = b.Lookup(ctx, "alice", "sb_nosuchsandbox")
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	res, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Command: "echo from-b"})
	require.NoError(t, err)
	assert.Equal(t, "from-b\n", res.Stdout)
	require.NoError(t, sb.Instance().WriteFile(ctx, "shared.txt", []byte("written through B")))
	data, err := sa.Instance().ReadFile(ctx, "shared.txt", 0)
	require.NoError(t, err)
	assert.Equal(t, "written through B", string(data))
	require.NoError(t, sb.Input(ctx, func(d sandbox.Desktop) error {
		return d.Click(ctx, &sandbox.Point{X: 321, Y: 123}, sandbox.ButtonLeft, 1, nil)
	}))
	require.NoError(t, sa.Input(ctx, func(d sandbox.Desktop) error {
		p, err := d.CursorPosition(ctx)
		assert.Equal(t, sandbox.Point{X: 321, Y: 123}, p, "A sees B's click")
		return err
	}))
	// B runs a helper of its own beside A's: the upload must not trip on
	// the binary A's helper is running ("text file busy": B fell back to
	// xdotool, 131 ms a click instead of 1.6 ms, and no settle).
	assert.Equal(t, "helper", sb.Instance().Details()["input_path"], "B's input path")
	assert.Equal(t, "helper", sa.Instance().Details()["input_path"], "A's input path")
	info := sb.Info()
	assert.Equal(t, "alice", info.UserID)
	assert.Equal(t, sa.Info().Resolution, info.Resolution)
	ids := func(is []sandbox.Info) (out []string) {
		for _, i := range is {
			out = append(out, i.SandboxID)
		}
		return out
	}
	assert.Equal(t, []string{sa.ID()}, ids(b.List("alice")))
	assert.Empty(t, b.List("bob"))

	// Quotas count the deployment's sandboxes, whichever replica made them.
	s2, err := mk(b, "alice")
	require.NoError(t, err)
	_, err = mk(a, "alice")
	require.Equal(t, sandbox.CodeQuotaExceeded, sandbox.CodeOf(err), "%v", err)
	assert.Equal(t, 2, sandbox.AsError(err).Details["current_usage"])
	_, err = mk(a, "bob")
	require.NoError(t, err)
	_, err = mk(b, "bob")
	require.Equal(t, sandbox.CodeQuotaExceeded, sandbox.CodeOf(err))
	assert.Equal(t, "max_concurrent_sandboxes", sandbox.AsError(err).Details["quota"])
	assert.Equal(t, 3, a.Stats("").TotalActiveSandboxes)
	assert.Equal(t, 3, e.srv.Count(), "refused creations left nothing behind")

	// Destroyed through B: gone for A too.
	require.NoError(t, b.Destroy(ctx, s2))
	require.Eventually(t, func() bool {
		_, err := a.Lookup(ctx, "alice", s2.ID())
		return sandbox.CodeOf(err) == sandbox.CodeNotFound
	}, 10*time.Second, 100*time.Millisecond)

	// Racing creations on both replicas past alice's limit (one left):
	// exactly one stands.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, m := range []*sandbox.Manager{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = mk(m, "alice") }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.Equal(t, sandbox.CodeQuotaExceeded, sandbox.CodeOf(err), "%v", err)
		}
	}
	assert.Equal(t, 1, ok, "%v", errs)
	assert.Len(t, a.List("alice"), 2)

	// A replica stopping takes no sandbox down: they are the deployment's.
	require.NoError(t, a.Close())
	assert.Equal(t, 3, e.srv.Count())
	assert.Len(t, b.List(""), 3)
	assert.Equal(t, 3, b.CleanupAll(ctx), "B cleans up what A made too")
	assert.Equal(t, 0, e.srv.Count())
}
