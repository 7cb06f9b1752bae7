// Package tools declares every MCP tool of vmservice, one file per toolset
// (the --toolsets flag): sandbox.go, desktop.go, files.go, apps.go,
// commands.go, stream.go, computer.go, admin.go. Each tool is one named
// constructor that calls toolkit.Define with its name, description, hints,
// argument and result types and a thin handler; each file registers its
// toolset's constructors in a list at its top. CONTRIBUTING.md has the
// recipe for adding a tool or a toolset.
package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// The toolkit's types, as every toolset file names them.
type (
	// Tool is a declared tool.
	Tool = toolkit.Tool
	// SandboxRef is the argument of every per-sandbox tool.
	SandboxRef = toolkit.SandboxRef
	// OK is the result of tools that only act.
	OK = toolkit.OK
	// NoArgs is for tools without arguments.
	NoArgs = toolkit.NoArgs
)

// Streams is what the stream tools need of the stream service.
type Streams interface {
	Start(ctx context.Context, sb *sandbox.Sandbox, o stream.Options) (*stream.Info, error)
	Stop(ctx context.Context, sandboxID string) error
	Get(sandboxID string) (*stream.Info, bool)
	StartHandOver(sandboxID, message string) (*stream.HandOver, error)
	EndHandOver(id string)
}

// Options configure a Toolbox.
type Options struct {
	Manager *sandbox.Manager
	// Streams may be nil: the stream tools then answer BACKEND_UNAVAILABLE.
	Streams Streams
	// ComputerSize is the screen size the computer tool advertises
	// (screenshots scaled to it, coordinates mapped back). Default XGA.
	ComputerSize sandbox.Resolution
	// MaxSteps bounds run_actions (default and at most maxSteps, 200).
	MaxSteps int
	// MaxReadBytes bounds read_file (default 10 MiB).
	MaxReadBytes int64
	// Recordings may be nil: the recording tools then answer
	// BACKEND_UNAVAILABLE.
	Recordings *recording.Service
	Log        zerolog.Logger
}

// Toolbox holds every tool, bound to one Manager.
type Toolbox struct {
	*toolkit.Env
	opts      Options
	tools     []*Tool
	byName    map[string]*Tool
	handovers handOvers // hand_over calls waiting for their second round (handover.go)
}

// constructor declares one tool over a Toolbox.
type constructor func(tb *Toolbox) *Tool

type toolset struct {
	name  string
	tools []constructor
}

// toolsets are registered by the toolset files, in the order Go
// initialises them (file name order).
var toolsets []toolset

// register adds a toolset; each toolset file calls it once, in a package
// variable, and gets the toolset's name back.
func register(name string, tools ...constructor) string {
	toolsets = append(toolsets, toolset{name: name, tools: tools})
	return name
}

// AllToolsets lists every toolset, sorted.
var AllToolsets []string

// DefaultToolsets are the toolsets served unless --toolsets says
// otherwise, named one by one: not desktop, whose tools (click, type_text,
// screenshot, ...) drive the desktop a second way beside computer (an
// agent sees one way; --toolsets all or default,desktop adds the other),
// and no new toolset until it is added here and the default tools/list
// still fits its budget (TestToolsListBudget).
var DefaultToolsets = []string{SetAdmin, SetApps, SetCommands, SetComputer, SetFiles, SetSandbox, SetStream}

func init() {
	for _, s := range toolsets {
		AllToolsets = append(AllToolsets, s.name)
	}
	sort.Strings(AllToolsets)
	sort.Strings(DefaultToolsets)
}

// New declares every tool.
func New(o Options) *Toolbox {
	if o.ComputerSize.IsZero() {
		o.ComputerSize = sandbox.DefaultResolution
	}
	if o.MaxSteps <= 0 || o.MaxSteps > maxSteps {
		o.MaxSteps = maxSteps
	}
	if o.MaxReadBytes <= 0 {
		o.MaxReadBytes = 10 << 20
	}
	tb := &Toolbox{Env: &toolkit.Env{Manager: o.Manager, MaxReadBytes: o.MaxReadBytes, Log: o.Log},
		opts: o, byName: map[string]*Tool{}}
	for _, s := range toolsets {
		for _, declare := range s.tools {
			t := declare(tb)
			t.Toolset = s.name
			if _, dup := tb.byName[t.Name]; dup {
				panic("tools: declared twice: " + t.Name)
			}
			tb.tools = append(tb.tools, t)
			tb.byName[t.Name] = t
		}
	}
	return tb
}

// All returns every tool, sorted by name.
func (tb *Toolbox) All() []*Tool {
	out := append([]*Tool(nil), tb.tools...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns a tool by name.
func (tb *Toolbox) Get(name string) *Tool { return tb.byName[name] }

// ParseToolsets parses a comma-separated toolset list ("all" = every one,
// "default" = DefaultToolsets, which may be combined with others).
func ParseToolsets(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		if f == "all" {
			return append([]string(nil), AllToolsets...), nil
		}
		if f == "default" {
			for _, d := range DefaultToolsets {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
			}
			continue
		}
		ok := false
		for _, k := range AllToolsets {
			ok = ok || k == f
		}
		if !ok {
			return nil, fmt.Errorf("unknown toolset %q (known: all, default, %s)", f, strings.Join(AllToolsets, ", "))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no toolset selected (known: all, default, %s)", strings.Join(AllToolsets, ", "))
	}
	return out, nil
}

// Select returns the tools of the given toolsets; readOnly keeps only the
// tools that change nothing.
func (tb *Toolbox) Select(toolsets []string, readOnly bool) []*Tool {
	want := map[string]bool{}
	for _, s := range toolsets {
		want[s] = true
	}
	var out []*Tool
	for _, t := range tb.All() {
		if want[t.Toolset] && (!readOnly || t.ReadOnly) {
			out = append(out, t)
		}
	}
	return out
}
