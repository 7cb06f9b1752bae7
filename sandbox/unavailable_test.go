package sandbox_test

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// A backend that could not start still gives a Manager: creating a sandbox
// answers BACKEND_UNAVAILABLE with the backend's own reason (what is missing
// and the fix), and nothing is counted or left behind.
func TestUnavailableBackend(t *testing.T) {
	cause := sandbox.Errorf(sandbox.CodeAuthenticationFailed, "the e2b backend needs an API key: set E2B_API_KEY")
	p := sandbox.Unavailable("e2b", cause)
	require.Equal(t, "e2b", p.Name())
	m, err := sandbox.NewManager(p, sandbox.Settings{}, zerolog.Nop())
	require.NoError(t, err)
	defer m.Close()

	for range 2 {
		_, err = m.Create(context.Background(), sandbox.CreateRequest{Owner: "alice"})
		e := sandbox.AsError(err)
		require.NotNil(t, e)
		require.Equal(t, sandbox.CodeBackendUnavailable, e.Code)
		require.Equal(t, "the e2b backend is not available: the e2b backend needs an API key: set E2B_API_KEY", e.Message)
		require.Equal(t, map[string]any{"backend": "e2b", "reason": "AUTHENTICATION_FAILED"}, e.Details)
		e.Details["scribbled"] = true // a caller's change reaches no other caller
	}
	require.Empty(t, m.List("alice"))
	require.Zero(t, m.Stats("").TotalActiveSandboxes)
}
