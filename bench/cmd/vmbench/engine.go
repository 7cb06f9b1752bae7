package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
)

const (
	owner = "bench"
	// text100 is 100 characters of mixed case, digits and punctuation.
	text100 = "The quick brown fox jumps over the lazy dog; PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS! 0123456789 ok."
	mib     = 1 << 20
	// cgroupParent keeps the bench's sandboxes apart from any other
	// server's on the machine (memory is read per sandbox cgroup).
	cgroupParent = "vmbench"
)

var bg = context.Background()

// engineEnv is a Manager over the local backend in this process.
type engineEnv struct {
	state string
	lp    *local.Provider
	pool  *sandbox.Pool
	m     *sandbox.Manager
}

func newEngine(log zerolog.Logger, maxSandboxes, warm int) (*engineEnv, error) {
	state, err := os.MkdirTemp("", "vmbench-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(state, 0o711); err != nil {
		return nil, err
	}
	lp, err := local.New(local.Options{StateDir: state, CgroupParent: cgroupParent, Log: log})
	if err != nil {
		return nil, err
	}
	e := &engineEnv{state: state, lp: lp}
	var p sandbox.Provider = lp
	if warm > 0 {
		// As main.go does for --warm-pool.
		e.pool = sandbox.NewPool(lp, sandbox.PoolOptions{Size: warm,
			Base: sandbox.Config{CPUCount: sandbox.MaxCPU, MemoryMB: sandbox.MaxMemoryMB, WorkingDirectory: sandbox.DefaultWorkdir,
				Timeout: sandbox.MaxTimeout}, Log: log})
		p = e.pool
	}
	e.m, err = sandbox.NewManager(p, sandbox.Settings{MaxConcurrentSandboxes: maxSandboxes}, log)
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	return e, nil
}

func (e *engineEnv) close() {
	if err := e.m.Close(); err != nil {
		progress("closing the engine: %v", err)
	}
	_ = os.RemoveAll(e.state)
}

func (e *engineEnv) create(res sandbox.Resolution) (*sandbox.Sandbox, error) {
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	return e.m.Create(ctx, sandbox.CreateRequest{Owner: owner, Config: sandbox.Config{Resolution: res}})
}

// waitWarm waits until the pool has n desktops ready.
func waitWarm(p *sandbox.Pool, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for p.Stats().Warm < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("the warm pool did not fill: %+v", p.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// terminalCmd draws an xterm full of text in the top-left of the screen so
// frames have realistic content; input goes to the empty bottom-right.
const terminalCmd = `xterm -geometry 110x45+0+0 -e sh -c 'ls -l /usr/bin | head -80; exec sleep 100000'`

func addContent(ctx context.Context, in sandbox.Instance) error {
	if _, err := in.Run(ctx, sandbox.CommandRequest{Command: terminalCmd, Background: true}); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, err := in.Desktop().ApplicationWindows(ctx, "xterm")
		if err == nil && len(ids) > 0 {
			time.Sleep(500 * time.Millisecond) // let it draw
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the xterm window never appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// point is the i-th input position, in the empty bottom-right area.
func point(i int, r sandbox.Resolution) sandbox.Point {
	if i < 0 {
		i = -i
	}
	return sandbox.Point{X: r.Width*3/4 + (i*37)%(r.Width/4-2), Y: r.Height/2 + (i*53)%(r.Height/2-2)}
}

var xga = sandbox.Resolution{Width: 1024, Height: 768}
var fhd = sandbox.Resolution{Width: 1920, Height: 1080}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// engineOps measures every operation through the Manager, plus the
// command-line equivalents on the same displays.
func (r *runner) engineOps() error {
	progress("engine: sandbox.Manager + local backend in process (load %s)", loadavg())
	e, err := newEngine(r.log, 200, 0)
	if err != nil {
		return err
	}
	defer e.close()

	r.measureCreateDestroy(pathEngine, func() (func() error, error) {
		sb, err := e.create(sandbox.Resolution{})
		return func() error { return e.m.Destroy(bg, sb) }, err
	})

	// Idle memory: a few idle desktops, median.
	if r.memory {
		var sets []*ProcSet
		var idle []*sandbox.Sandbox
		for i := 0; i < 5; i++ {
			sb, err := e.create(sandbox.Resolution{})
			if err != nil {
				return err
			}
			idle = append(idle, sb)
		}
		time.Sleep(3 * time.Second) // let start-up garbage settle
		for _, pids := range sandboxProcs(cgroupParent) {
			sets = append(sets, procMem(pids))
		}
		r.res.Memory.IdleSandbox, r.res.Memory.IdleSandboxes = medianSet(sets), len(sets)
		if s := r.res.Memory.IdleSandbox; s != nil {
			progress("  idle sandbox: RSS %.1f MiB, PSS %.1f MiB, %d processes %v", s.RSS, s.PSS, s.Processes, s.ByName)
		}
		for _, sb := range idle {
			_ = e.m.Destroy(bg, sb)
		}
	}

	before := ourLinks(e.state)
	a, err := e.create(xga)
	if err != nil {
		return err
	}
	aDisplay := newDisplay(before, ourLinks(e.state))
	before = ourLinks(e.state)
	b, err := e.create(fhd)
	if err != nil {
		return err
	}
	bDisplay := newDisplay(before, ourLinks(e.state))
	for _, sb := range []*sandbox.Sandbox{a, b} {
		if err := addContent(bg, sb.Instance()); err != nil {
			return err
		}
	}

	in := a.Instance()
	r.measureOps(pathEngine, engineDesk{m: e.m, a: a, b: b})

	// The command lines other stacks use, on the same displays.
	progress("command lines: exec per op on the host (DISPLAY of the sandbox) and inside the sandbox (bash -c via run_command) (load %s)", loadavg())
	if err := aDisplay.prepare(e.state); err != nil {
		return err
	}
	defer os.Remove(aDisplay.auth)
	if err := bDisplay.prepare(e.state); err != nil {
		return err
	}
	defer os.Remove(bDisplay.auth)
	tmp, err := os.MkdirTemp("", "vmbench-cli-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	shots := map[sandbox.Resolution]struct {
		d  *display
		sb *sandbox.Sandbox
	}{xga: {aDisplay, a}, fhd: {bDisplay, b}}
	for _, o := range r.ops() {
		switch {
		case o.cli != nil:
			r.add(measure(o.name, pathCLI, o.cliN, 3, func(i int) error {
				for _, args := range o.cli(i) {
					if err := aDisplay.run(args...); err != nil {
						return err
					}
				}
				return nil
			}))
			r.add(measure(o.name, pathCLIExec, o.cliN, 3, func(i int) error {
				for _, args := range o.cli(i) {
					if err := inSandbox(in, shellQuote(args)); err != nil {
						return err
					}
				}
				return nil
			}))
		case o.shot != nil:
			sh := shots[o.shot.res]
			ext := map[string]string{"png": "png", "jpeg": "jpg"}[o.shot.format]
			out := filepath.Join(tmp, "shot."+ext)
			// scrot writes a file; the caller reads it back (as the E2B SDK
			// and Anthropic's demo do) to get the image bytes.
			r.add(measure(o.name, pathCLI, o.cliN, 2, func(i int) error {
				if err := sh.d.run("scrot", "--pointer", "-o", out); err != nil {
					return err
				}
				_, err := os.ReadFile(out)
				return err
			}))
			r.add(measure(o.name, pathCLIExec, o.cliN, 2, func(i int) error {
				if err := inSandbox(sh.sb.Instance(), "scrot --pointer -o /tmp/shot."+ext); err != nil {
					return err
				}
				_, err := sh.sb.Instance().ReadFile(bg, "/tmp/shot."+ext, 64*mib)
				return err
			}))
		}
	}
	return nil
}

func shotName(r sandbox.Resolution, format string) string {
	return fmt.Sprintf("screenshot %s %s", r, strings.ToUpper(format))
}

// engineDesk reaches the sandboxes through the Manager as the tools do (a
// lookup of the owner's sandbox, then Input or the instance), without MCP.
type engineDesk struct {
	m    *sandbox.Manager
	a, b *sandbox.Sandbox
}

func (d engineDesk) input(fn func(x sandbox.Desktop) error) error {
	s, err := d.m.Get(owner, d.a.ID())
	if err != nil {
		return err
	}
	return s.Input(bg, fn)
}

func (d engineDesk) click(p sandbox.Point, count int) error {
	return d.input(func(x sandbox.Desktop) error { return x.Click(bg, &p, sandbox.ButtonLeft, count, nil) })
}
func (d engineDesk) moveMouse(p sandbox.Point) error {
	return d.input(func(x sandbox.Desktop) error { return x.MoveMouse(bg, p) })
}
func (d engineDesk) drag(from, to sandbox.Point) error {
	return d.input(func(x sandbox.Desktop) error { return x.Drag(bg, from, to, sandbox.ButtonLeft) })
}
func (d engineDesk) typeText(text string, chunk int) error {
	return d.input(func(x sandbox.Desktop) error { _, err := x.TypeText(bg, text, chunk, 0); return err })
}
func (d engineDesk) pressKeys(keys ...string) error {
	return d.input(func(x sandbox.Desktop) error { return x.PressKeys(bg, keys) })
}

func (d engineDesk) screenshot(res sandbox.Resolution, format string) error {
	sb := d.a
	if res == fhd {
		sb = d.b
	}
	s, err := d.m.Get(owner, sb.ID())
	if err != nil {
		return err
	}
	_, err = capture.Take(bg, s, capture.Shot{Format: imgenc.Format(format)})
	return err
}

func (d engineDesk) runCommand(cmd string) error {
	res, err := d.a.Instance().Run(bg, sandbox.CommandRequest{Command: cmd, Timeout: 30 * time.Second})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exit %d", res.ExitCode)
	}
	return err
}

func (d engineDesk) writeFile(path string, data []byte) error {
	return d.a.Instance().WriteFile(bg, path, data)
}

func (d engineDesk) readFile(path string) ([]byte, error) {
	return d.a.Instance().ReadFile(bg, path, 2*mib)
}

// runActions runs the steps one Input each, then the screenshot
// run_actions takes by default.
func (d engineDesk) runActions(steps []step) error {
	for _, s := range steps {
		if err := s(d); err != nil {
			return err
		}
	}
	return d.screenshot(xga, "png")
}

func inSandbox(in sandbox.Instance, cmd string) error {
	res, err := in.Run(bg, sandbox.CommandRequest{Command: cmd, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s: exit %d: %s", cmd, res.ExitCode, res.Stderr)
	}
	return nil
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// display is a sandbox's X display as host tools reach it: the local
// backend's /tmp/.X11-unix/XN symlink and a cookie for display N.
type display struct {
	n      int
	socket string
	auth   string
	env    []string
}

// newDisplay is the display that appeared between two ourLinks calls.
func newDisplay(before, after map[int]string) *display {
	for n, s := range after {
		if _, ok := before[n]; !ok {
			return &display{n: n, socket: s}
		}
	}
	return nil
}

// prepare writes an Xauthority for display N with the sandbox's cookie
// (its own file names display 0, as seen inside). This reads the local
// backend's state layout (StateDir/sb/sN/{x11/X0,Xauthority}): fine for a
// benchmark, never for the server.
func (d *display) prepare(stateDir string) error {
	if d == nil {
		return fmt.Errorf("could not find the sandbox's display on the host")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(d.socket)), "Xauthority"))
	if err != nil {
		return err
	}
	cookie := x11.XauthorityCookie(b, "0") // the sandbox's file names its display as seen inside
	if cookie == nil {
		return fmt.Errorf("the sandbox's Xauthority has no cookie for display 0")
	}
	f, err := os.CreateTemp("", "vmbench-xauth-")
	if err != nil {
		return err
	}
	f.Close()
	d.auth = f.Name()
	if err := x11.WriteXauthority(d.auth, d.n, cookie); err != nil {
		return err
	}
	d.env = append(os.Environ(), "DISPLAY=:"+strconv.Itoa(d.n), "XAUTHORITY="+d.auth)
	return nil
}

func (d *display) run(args ...string) error {
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", args[0], err, out)
	}
	return nil
}
