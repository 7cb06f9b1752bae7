package main

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/vmservice/vmservice/sandbox"
)

// desk is one path to the two benchmark sandboxes (a: 1024x768 and
// b: 1920x1080, each with an xterm of text): the Manager in process
// (engineDesk) or the tools over MCP (mcpDesk). recorder writes the calls
// as run_actions steps.
type desk interface {
	click(p sandbox.Point, count int) error
	moveMouse(p sandbox.Point) error
	drag(from, to sandbox.Point) error
	typeText(text string, chunk int) error
	pressKeys(keys ...string) error
	screenshot(res sandbox.Resolution, format string) error
	runCommand(cmd string) error
	writeFile(path string, data []byte) error
	readFile(path string) ([]byte, error)
	runActions(steps []step) error
}

// step is one step of run_actions.
type step func(d desk) error

// op is one measured operation: what it does on a desk, and the command
// lines that do the same on the CLI paths (none when both are nil).
type op struct {
	name    string
	n, warm int
	run     func(d desk, i int) error
	cliN    int
	cli     func(i int) [][]string // xdotool / bash per call
	shot    *shotOp                // scrot, then reading the file back
}

type shotOp struct {
	res    sandbox.Resolution
	format string
}

const benchFile = "/home/user/bench.bin"

// ops are the operations every path measures, in the report's order.
func (r *runner) ops() []op {
	nIn, nCLI := r.n(300), r.n(100)
	data := randomBytes(mib)
	list := []op{
		// The E2B Desktop SDK's command lines (moveMouse: `xdotool
		// mousemove --sync x y`; leftClick(x, y): that, then `xdotool
		// click 1`).
		{name: "click", n: nIn, warm: 5, run: func(d desk, i int) error { return d.click(point(i, xga), 1) },
			cliN: nCLI, cli: func(i int) [][]string { return append(mousemove(i), []string{"xdotool", "click", "1"}) }},
		{name: "move_mouse", n: nIn, warm: 5, run: func(d desk, i int) error { return d.moveMouse(point(i, xga)) },
			cliN: nCLI, cli: mousemove},
		{name: "type_text 100 chars", n: r.n(100), warm: 3, run: func(d desk, i int) error { return d.typeText(text100, 100) },
			cliN: r.n(50), cli: func(int) [][]string { return [][]string{{"xdotool", "type", "--delay", "0", "--", text100}} }},
		{name: "press_key", n: nIn, warm: 5, run: func(d desk, i int) error { return d.pressKeys("enter") },
			cliN: nCLI, cli: func(int) [][]string { return [][]string{{"xdotool", "key", "Return"}} }},
	}
	for _, res := range []sandbox.Resolution{xga, fhd} {
		for _, f := range []string{"png", "jpeg"} {
			list = append(list, op{name: shotName(res, f), n: r.n(60), warm: 3,
				run:  func(d desk, i int) error { return d.screenshot(res, f) },
				cliN: r.n(40), shot: &shotOp{res: res, format: f}})
		}
	}
	return append(list,
		op{name: "run_command true", n: r.n(100), warm: 3, run: func(d desk, i int) error { return d.runCommand("true") },
			cliN: nCLI, cli: func(int) [][]string { return [][]string{{"bash", "-c", "true"}} }},
		op{name: "write_file 1 MiB", n: r.n(40), warm: 2, run: func(d desk, i int) error { return d.writeFile(benchFile, data) }},
		op{name: "read_file 1 MiB", n: r.n(40), warm: 2, run: func(d desk, i int) error {
			got, err := d.readFile(benchFile)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("read %d bytes, not what was written", len(got))
			}
			return err
		}},
		op{name: "run_actions 10 steps", n: r.n(50), warm: 2, run: func(d desk, i int) error { return d.runActions(actionSteps(i)) }},
	)
}

func mousemove(i int) [][]string {
	p := point(i, xga)
	return [][]string{{"xdotool", "mousemove", "--sync", strconv.Itoa(p.X), strconv.Itoa(p.Y)}}
}

// actionSteps are run_actions' ten steps (it then takes a PNG screenshot).
func actionSteps(i int) []step {
	p1, p2, p3 := point(i, xga), point(i+1, xga), point(i+2, xga)
	return []step{
		func(d desk) error { return d.moveMouse(p1) },
		func(d desk) error { return d.click(p1, 1) },
		func(d desk) error { return d.typeText("hello", 25) },
		func(d desk) error { return d.pressKeys("enter") },
		func(d desk) error { return d.moveMouse(p2) },
		func(d desk) error { return d.click(p2, 2) },
		func(d desk) error { return d.drag(p2, p3) },
		func(d desk) error { return d.pressKeys("ctrl", "a") },
		func(d desk) error { return d.typeText("world", 25) },
		func(d desk) error { return d.pressKeys("BackSpace") },
	}
}

// measureOps measures every op on d for path.
func (r *runner) measureOps(path string, d desk) {
	for _, o := range r.ops() {
		r.add(measure(o.name, path, o.n, o.warm, func(i int) error { return o.run(d, i) }))
	}
}

// measureCreateDestroy measures cold creations (create returns how to
// destroy what it made), then destroying each.
func (r *runner) measureCreateDestroy(path string, create func() (destroy func() error, err error)) {
	var made []func() error
	r.add(measure("create_sandbox (cold)", path, r.n(15), 1, func(i int) error {
		destroy, err := create()
		if err == nil {
			made = append(made, destroy)
		}
		return err
	}))
	r.add(measure("destroy_sandbox", path, len(made), 0, func(i int) error {
		if i < 0 {
			return nil
		}
		return made[i]()
	}))
}

// recorder turns desk calls into run_actions steps.
type recorder struct{ steps []map[string]any }

func (c *recorder) add(action string, args map[string]any) error {
	args["action"] = action
	c.steps = append(c.steps, args)
	return nil
}

func (c *recorder) click(p sandbox.Point, count int) error {
	args := map[string]any{"x": p.X, "y": p.Y}
	if count == 2 {
		args["double"] = true
	}
	return c.add("click", args)
}
func (c *recorder) moveMouse(p sandbox.Point) error {
	return c.add("move_mouse", map[string]any{"x": p.X, "y": p.Y})
}
func (c *recorder) drag(from, to sandbox.Point) error {
	return c.add("drag", map[string]any{"from_x": from.X, "from_y": from.Y, "to_x": to.X, "to_y": to.Y})
}
func (c *recorder) typeText(text string, chunk int) error {
	return c.add("type_text", map[string]any{"text": text, "chunk_size": chunk, "delay_ms": 0})
}
func (c *recorder) pressKeys(keys ...string) error {
	if len(keys) == 1 {
		return c.add("press_key", map[string]any{"key": keys[0]})
	}
	return c.add("press_key_combination", map[string]any{"keys": keys})
}
func (c *recorder) screenshot(sandbox.Resolution, string) error { return errNotAStep }
func (c *recorder) runCommand(string) error                     { return errNotAStep }
func (c *recorder) writeFile(string, []byte) error              { return errNotAStep }
func (c *recorder) readFile(string) ([]byte, error)             { return nil, errNotAStep }
func (c *recorder) runActions([]step) error                     { return errNotAStep }

var errNotAStep = fmt.Errorf("not one of the benchmark's run_actions steps")
