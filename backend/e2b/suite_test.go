package e2b

import (
	"testing"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/sandboxtest"
)

// TestBehaviour runs the backend suite (the one the local backend passes)
// against the e2b backend talking to the emulator, once through the helper
// and once through the xdotool/scrot fallback.
func TestBehaviour(t *testing.T) {
	for _, path := range []string{"helper", "xdotool"} {
		t.Run(path, func(t *testing.T) {
			e := startEmu(t, e2btest.Options{MaxSandboxes: 64}, nil)
			o := e.options()
			o.NoHelper = path == "xdotool"
			sandboxtest.Run(t, func(t *testing.T) sandbox.Provider {
				p, err := New(o)
				if err != nil {
					t.Fatal(err)
				}
				return p
			})
		})
	}
}
