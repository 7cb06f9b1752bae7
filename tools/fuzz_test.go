package tools

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/sandbox"
)

var (
	fuzzOnce sync.Once
	fuzzTB   *Toolbox
	fuzzErr  error
)

// fuzzToolbox is a Toolbox over a real (private, empty) local backend. The
// fuzzing principal owns no sandbox and create_sandbox is never called, so
// no call reaches a desktop: what is fuzzed is argument validation and
// decoding and the tenancy checks behind them.
func fuzzToolbox() (*Toolbox, error) {
	fuzzOnce.Do(func() {
		p, err := local.New(local.Options{StateDir: "/run/vmservice-fuzz", LockDir: "/run/vmservice-fuzz-slots",
			UIDBase: 320000, DisplayBase: 6500, MaxSlots: 4, CgroupParent: "vmservice-fuzz", Log: zerolog.Nop()})
		if err != nil {
			fuzzErr = err
			return
		}
		m, err := sandbox.NewManager(p, sandbox.Settings{MaxConcurrentSandboxes: 1}, zerolog.Nop())
		if err != nil {
			fuzzErr = err
			return
		}
		fuzzTB = New(Options{Manager: m, Log: zerolog.Nop()})
	})
	return fuzzTB, fuzzErr
}

var knownCodes = map[string]bool{"INVALID_ARGUMENT": true, "SANDBOX_NOT_FOUND": true, "SANDBOX_CREATION_FAILED": true,
	"QUOTA_EXCEEDED": true, "AUTHENTICATION_FAILED": true, "PERMISSION_DENIED": true, "TIMEOUT": true,
	"BACKEND_UNAVAILABLE": true, "INTERNAL": true}

// FuzzToolArguments: any bytes as the arguments of any tool give a result
// (never a panic, never a Go error), and an error result carries a known
// code, a message and no host path.
func FuzzToolArguments(f *testing.F) {
	tb, err := fuzzToolbox()
	if err != nil {
		f.Fatal(err)
	}
	var names []string
	for _, t := range tb.All() {
		if t.Name != "create_sandbox" { // would boot a desktop per input
			names = append(names, t.Name)
		}
	}
	seeds := []string{`{}`, `null`, `[]`, `"x"`, `{"sandbox_id":"sb_x"}`, `{"sandbox_id":42}`,
		`{"sandbox_id":"sb_x","x":1,"y":2,"button":"left"}`, `{"sandbox_id":"sb_x","direction":-1,"amount":1e309}`,
		`{"sandbox_id":"sb_x","steps":[{"action":"wait","seconds":1},{"action":"click","x":-1}]}`,
		`{"sandbox_id":"sb_x","action":"zoom","region":[0,0,99999999999999999999,1]}`,
		`{"sandbox_id":"sb_x","path":"../../etc/shadow","content":"x","encoding":"base64"}`,
		`{"user_id":"*"}`, `{"user_id":"alice"}`, `{"sandbox_id":"sb_x","keys":["ctrl",{"a":1}]}`,
		`{"sandbox_id":"sb_x","scale_to":"99999x99999","region":{"x":-5}}`, `{"sandbox_id":"sb_x","timeout":1e400}`}
	for i := range names {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{ID: "fuzzer"})
	hostPaths := []string{"/run/vmservice", os.TempDir() + "/", "/proc/self", ".go:"}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		tool := tb.Get(names[int(which)%len(names)])
		req := mcp.CallToolRequest{}
		req.Params.Name = tool.Name
		req.Params.RawArguments = args
		res, err := tool.Handler()(ctx, req)
		if err != nil {
			t.Fatalf("%s(%q): Go error %v", tool.Name, args, err)
		}
		if res == nil || len(res.Content) == 0 {
			t.Fatalf("%s(%q): empty result", tool.Name, args)
		}
		if !res.IsError {
			return
		}
		b, _ := json.Marshal(res.StructuredContent)
		var e struct {
			Code    string         `json:"error_code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		}
		if err := json.Unmarshal(b, &e); err != nil || !knownCodes[e.Code] || e.Message == "" || e.Details == nil {
			t.Fatalf("%s(%q): malformed error %s", tool.Name, args, b)
		}
		if e.Code == "INTERNAL" {
			t.Fatalf("%s(%q): INTERNAL for bad input: %s", tool.Name, args, b)
		}
		for _, hp := range hostPaths {
			if strings.Contains(e.Message, hp) {
				t.Fatalf("%s(%q): host path in %q", tool.Name, args, e.Message)
			}
		}
	})
}
