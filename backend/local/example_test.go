package local_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

// The Go SDK without MCP: the README shows this snippet.
func Example() {
	ctx := context.Background()
	log := zerolog.New(os.Stderr)
	prov, err := local.New(local.Options{Log: log})
	if err != nil {
		fmt.Println(sandbox.AsError(err).ToDict())
		return
	}
	mgr, err := sandbox.NewManager(prov, sandbox.Settings{MaxConcurrentSandboxes: 10}, log)
	if err != nil {
		return
	}
	defer mgr.Close()

	sb, err := mgr.Create(ctx, sandbox.CreateRequest{Owner: "alice", Config: sandbox.Config{MemoryMB: 1024}})
	if err != nil {
		fmt.Println(sandbox.AsError(err).ToDict())
		return
	}
	_ = sb.Input(ctx, func(d sandbox.Desktop) error {
		return d.Click(ctx, &sandbox.Point{X: 100, Y: 200}, sandbox.ButtonLeft, 1, nil)
	})
	res, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Command: "echo hello from $(hostname)"})
	if err == nil {
		fmt.Print(res.Stdout)
	}
	// Output: hello from sandbox
}
