package e2b

import (
	"context"
	"fmt"
	"image"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/driver/x11"
	"github.com/vmservice/vmservice/sandbox"
)

// The Instance's desktop is the helper, or xdotool/scrot commands when the
// helper could not start or has died.

// driver is the desktop to use now. A dead helper (killed, out of memory)
// is dropped for the command path: the call that found it dead failed,
// later ones work.
func (in *Instance) driver() sandbox.Desktop {
	in.mu.Lock()
	defer in.mu.Unlock()
	if h := in.helper; h != nil && !in.destroyed && !h.alive() {
		in.p.log.Warn().Err(h.deadErr).Str("e2b_sandbox", in.id).Msg("input helper died; using xdotool commands")
		go h.close()
		in.helper, in.desk, in.inputPath = nil, in.cmdDesk, "xdotool"
	}
	return in.desk
}

// Desktop is the helper, or the xdotool commands; its screen size is read
// once (an Xvfb display keeps its size).
func (in *Instance) Desktop() sandbox.Desktop { return sizeOnce{in.driver(), in} }

// sizeOnce remembers the screen size in the Instance: every screenshot
// asks for it, and each ask is an envd round trip (or an xdotool run).
type sizeOnce struct {
	sandbox.Desktop
	in *Instance
}

// ScreenshotPNG hands on the driver's PNG (both have one).
func (d sizeOnce) ScreenshotPNG(ctx context.Context, region image.Rectangle) ([]byte, bool, error) {
	if ps, ok := d.Desktop.(sandbox.PNGSource); ok {
		return ps.ScreenshotPNG(ctx, region)
	}
	return nil, false, nil
}

var _ sandbox.Settler = sizeOnce{}

// WaitSettled waits in the uploaded helper (its X connection watches the
// screen); the xdotool path pauses sandbox.FallbackPause instead.
func (s sizeOnce) WaitSettled(ctx context.Context, o sandbox.SettleOptions) (sandbox.Settle, error) {
	return sandbox.SettleOn(ctx, s.Desktop, o)
}

func (d sizeOnce) ScreenSize(ctx context.Context) (sandbox.Resolution, error) {
	d.in.mu.Lock()
	r := d.in.screen
	d.in.mu.Unlock()
	if !r.IsZero() {
		return r, nil
	}
	r, err := d.Desktop.ScreenSize(ctx)
	if err != nil {
		return r, err
	}
	d.in.mu.Lock()
	d.in.screen = r
	d.in.mu.Unlock()
	return r, nil
}

// cmdDesktop drives the desktop the way E2B's own desktop SDK does: one
// `bash -l -c "xdotool ..."` (or scrot) process per action through envd.
// Unlike the SDK it never uses `mousemove --sync`: when the pointer is
// already at the target, --sync waits for a move that never comes; the
// chained commands share one X connection, so order is kept anyway.
type cmdDesktop struct {
	in *Instance
}

func (d *cmdDesktop) xdo(ctx context.Context, args ...string) (string, error) {
	out, err := d.in.sh(ctx, "xdotool "+strings.Join(args, " "))
	if err != nil {
		return "", sandbox.Errorf(sandbox.CodeBackendUnavailable, "xdotool failed in the sandbox").WithCause(err)
	}
	return out, nil
}

// buttonNumber is xdotool's argument for a button (the x11 driver's checks).
func buttonNumber(b sandbox.Button) (string, error) {
	n, err := x11.ButtonNumber(b)
	return strconv.Itoa(int(n)), err
}

func (d *cmdDesktop) checkPoint(ctx context.Context, p sandbox.Point, field string) error {
	r := d.in.cfg.Resolution
	return sandbox.CheckPoint(p, r.Width, r.Height, field)
}

func pointArgs(p sandbox.Point) string { return strconv.Itoa(p.X) + " " + strconv.Itoa(p.Y) }

// xkeys turns key names (the x11 driver's vocabulary) into keysym numbers
// that xdotool accepts, so both paths understand the same names.
func xkeys(names []string, field string) ([]string, error) {
	var out []string
	for _, n := range names {
		kss, err := x11.ParseKey(n)
		if err != nil {
			if se, ok := err.(*sandbox.Error); ok && se.Details != nil {
				se.Details["field"] = field
			}
			return nil, err
		}
		for _, ks := range kss {
			out = append(out, fmt.Sprintf("0x%x", uint32(ks)))
		}
	}
	return out, nil
}

func (d *cmdDesktop) MoveMouse(ctx context.Context, p sandbox.Point) error {
	if err := d.checkPoint(ctx, p, "point"); err != nil {
		return err
	}
	_, err := d.xdo(ctx, "mousemove", pointArgs(p))
	return err
}

func (d *cmdDesktop) withMods(mods []string, action string) (string, error) {
	ks, err := xkeys(mods, "modifiers")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, k := range ks {
		b.WriteString("keydown " + k + " ")
	}
	b.WriteString(action)
	for i := len(ks) - 1; i >= 0; i-- {
		b.WriteString(" keyup " + ks[i])
	}
	return b.String(), nil
}

func (d *cmdDesktop) Click(ctx context.Context, p *sandbox.Point, b sandbox.Button, count int, mods []string) error {
	btn, err := buttonNumber(b)
	if err != nil {
		return err
	}
	if count, err = sandbox.ClickCount(count); err != nil {
		return err
	}
	return d.clickAt(ctx, p, btn, count, mods)
}

// clickAt moves to p (when non-nil) and clicks button btn n times with the
// modifier keys held: a click, or wheel notches.
func (d *cmdDesktop) clickAt(ctx context.Context, p *sandbox.Point, btn string, n int, mods []string) error {
	action := "click --repeat " + strconv.Itoa(n) + " " + btn
	if p != nil {
		if err := d.checkPoint(ctx, *p, "point"); err != nil {
			return err
		}
		action = "mousemove " + pointArgs(*p) + " " + action
	}
	cmd, err := d.withMods(mods, action)
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, cmd)
	return err
}

func (d *cmdDesktop) MouseDown(ctx context.Context, b sandbox.Button) error {
	btn, err := buttonNumber(b)
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, "mousedown", btn)
	return err
}

func (d *cmdDesktop) MouseUp(ctx context.Context, b sandbox.Button) error {
	btn, err := buttonNumber(b)
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, "mouseup", btn)
	return err
}

func (d *cmdDesktop) Drag(ctx context.Context, from, to sandbox.Point, b sandbox.Button) error {
	btn, err := buttonNumber(b)
	if err != nil {
		return err
	}
	if err := d.checkPoint(ctx, from, "from"); err != nil {
		return err
	}
	if err := d.checkPoint(ctx, to, "to"); err != nil {
		return err
	}
	_, err = d.xdo(ctx, "mousemove", pointArgs(from), "mousedown", btn, "sleep 0.05 mousemove", pointArgs(to), "sleep 0.05 mouseup", btn)
	return err
}

func (d *cmdDesktop) Scroll(ctx context.Context, p *sandbox.Point, dir sandbox.ScrollDirection, amount int, mods []string) error {
	btn, err := x11.WheelButton(dir)
	if err != nil {
		return err
	}
	if amount, err = sandbox.ScrollAmount(amount); err != nil {
		return err
	}
	return d.clickAt(ctx, p, strconv.Itoa(int(btn)), amount, mods)
}

func (d *cmdDesktop) TypeText(ctx context.Context, text string, chunk int, delay time.Duration) (int, error) {
	runes := []rune(text)
	if chunk <= 0 {
		chunk = 25
	}
	typed := 0
	for i := 0; i < len(runes); i += chunk {
		end := min(i+chunk, len(runes))
		if i > 0 {
			if err := sandbox.Sleep(ctx, delay); err != nil {
				return typed, err
			}
		}
		if _, err := d.in.sh(ctx, typeCommand(runes[i:end])); err != nil {
			return typed, sandbox.Errorf(sandbox.CodeBackendUnavailable, "xdotool failed in the sandbox").WithCause(err)
		}
		typed = end
	}
	return typed, nil
}

// typeCommand types runes with xdotool. xdotool types a character missing
// from the keymap by remapping one scratch keycode per character; a client
// that reads its events late then sees the last such character for all of
// them (日本語 arrives as 語語語). So the distinct non-ASCII characters are
// first bound to spare keycodes of their own with xmodmap, typed, and
// unbound after the client had time to read them.
func typeCommand(runes []rune) string {
	text := shq(string(runes))
	var uniq []rune
	seen := map[rune]bool{}
	for _, r := range runes {
		if r >= 0x80 && !seen[r] {
			seen[r] = true
			uniq = append(uniq, r)
		}
	}
	if len(uniq) == 0 {
		return "xdotool type --delay 12 -- " + text
	}
	var bind, unbind strings.Builder
	for i, r := range uniq {
		ks := uint32(r)
		if r > 0xff {
			ks = 0x1000000 | uint32(r) // Unicode keysym; Latin-1 ones equal the code point
		}
		fmt.Fprintf(&bind, ` -e "keycode ${%d} = 0x%x"`, i+1, ks)
		fmt.Fprintf(&unbind, ` -e "keycode ${%d} ="`, i+1)
	}
	n := strconv.Itoa(len(uniq))
	return `set -- $(xmodmap -pke 2>/dev/null | awk 'NF==3 {print $2}' | tail -n ` + n + `); ` +
		`if [ $# -ge ` + n + ` ] && xmodmap` + bind.String() + `; then ` +
		`xdotool type --delay 12 -- ` + text + `; rc=$?; sleep 0.3; xmodmap` + unbind.String() + `; exit $rc; ` +
		`else xdotool type --delay 60 -- ` + text + `; fi`
}

func (d *cmdDesktop) PressKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return sandbox.InvalidArgument("keys", "at least one key is required")
	}
	ks, err := xkeys(keys, "keys")
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, "key", strings.Join(ks, "+"))
	return err
}

func (d *cmdDesktop) KeyDown(ctx context.Context, key string) error {
	ks, err := xkeys([]string{key}, "key")
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, "keydown", strings.Join(ks, "+"))
	return err
}

func (d *cmdDesktop) KeyUp(ctx context.Context, key string) error {
	ks, err := xkeys([]string{key}, "key")
	if err != nil {
		return err
	}
	_, err = d.xdo(ctx, "keyup", strings.Join(ks, "+"))
	return err
}

var shellVarRe = regexp.MustCompile(`(?m)^([A-Z]+)=(\d+)$`)

func (d *cmdDesktop) CursorPosition(ctx context.Context) (sandbox.Point, error) {
	out, err := d.xdo(ctx, "getmouselocation", "--shell")
	if err != nil {
		return sandbox.Point{}, err
	}
	var p sandbox.Point
	for _, m := range shellVarRe.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		switch m[1] {
		case "X":
			p.X = n
		case "Y":
			p.Y = n
		}
	}
	return p, nil
}

func (d *cmdDesktop) ScreenSize(ctx context.Context) (sandbox.Resolution, error) {
	out, err := d.xdo(ctx, "getdisplaygeometry")
	if err != nil {
		return sandbox.Resolution{}, err
	}
	var r sandbox.Resolution
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "%d %d", &r.Width, &r.Height); err != nil {
		return r, sandbox.Errorf(sandbox.CodeBackendUnavailable, "could not read the screen size").WithCause(err)
	}
	return r, nil
}

// scrot runs scrot into a temporary file, downloads it and removes it.
func (d *cmdDesktop) scrot(ctx context.Context) ([]byte, error) {
	p := "/tmp/.vmshot-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".png"
	if _, err := d.in.sh(ctx, "scrot -o "+p); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "scrot failed in the sandbox").WithCause(err)
	}
	data, err := d.in.envd.download(ctx, p, 0)
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.in.envd.remove(rctx, p)
	}()
	return data, err
}

// ScreenshotPNG is scrot's PNG of the whole screen (sandbox.PNGSource).
func (d *cmdDesktop) ScreenshotPNG(ctx context.Context, region image.Rectangle) ([]byte, bool, error) {
	if !region.Empty() {
		return nil, false, nil
	}
	data, err := d.scrot(ctx)
	return data, err == nil, err
}

// Screenshot decodes scrot's PNG and cuts region out of it.
func (d *cmdDesktop) Screenshot(ctx context.Context, region image.Rectangle) (*image.RGBA, error) {
	data, err := d.scrot(ctx)
	if err != nil {
		return nil, err
	}
	img, err := imgenc.DecodePNG(data)
	if err != nil || region.Empty() {
		return img, err
	}
	region = region.Intersect(img.Bounds())
	if region.Empty() {
		return nil, sandbox.InvalidArgument("region", "the region lies outside the screen")
	}
	return img.SubImage(region).(*image.RGBA), nil
}

func parseWindowIDs(out string) []sandbox.WindowID {
	var ids []sandbox.WindowID
	seen := map[uint64]bool{}
	for _, f := range strings.Fields(out) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err == nil && !seen[n] {
			seen[n] = true
			ids = append(ids, sandbox.WindowID(n))
		}
	}
	return ids
}

func (d *cmdDesktop) CurrentWindow(ctx context.Context) (sandbox.WindowID, error) {
	out, err := d.in.sh(ctx, "xdotool getactivewindow 2>/dev/null || xdotool getwindowfocus")
	if err != nil {
		return 0, sandbox.Errorf(sandbox.CodeBackendUnavailable, "xdotool failed in the sandbox").WithCause(err)
	}
	ids := parseWindowIDs(out)
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

func (d *cmdDesktop) ApplicationWindows(ctx context.Context, app string) ([]sandbox.WindowID, error) {
	if strings.TrimSpace(app) == "" {
		return nil, sandbox.InvalidArgument("application", "application must not be empty")
	}
	re := shq(regexp.QuoteMeta(app))
	out, _ := d.in.sh(ctx, "for k in --class --classname --name; do xdotool search --onlyvisible $k "+re+" 2>/dev/null; done; true")
	return parseWindowIDs(out), nil
}

func (d *cmdDesktop) WindowTitle(ctx context.Context, id sandbox.WindowID) (string, error) {
	out, err := d.in.sh(ctx, "xdotool getwindowname "+strconv.FormatUint(uint64(id), 10))
	if err != nil {
		return "", sandbox.InvalidArgument("window_id", "window %d does not exist", id)
	}
	return strings.TrimRight(out, "\n"), nil
}
