package mcpserver_test

import (
	"encoding/base64"
	"fmt"
	"image"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
)

// TestEveryTool drives every tool of the contract on one real local
// sandbox through mcp-go's in-process client, checking each result against
// the tool's output schema.
func TestEveryTool(t *testing.T) {
	e := newEnv(t, envOpts{maxSteps: 5})
	c := inProcess(t, e, auth.Principal{ID: "alice"})

	// Admin tools are not even listed for a non-admin.
	assert.NotContains(t, c.toolNames(), "cleanup_all_sandboxes")
	assert.Contains(t, c.toolNames(), "computer")

	// Sandboxes: create with progress, info, list, timeout, stats.
	info := c.OK("create_sandbox", map[string]any{"resolution": "1280x960", "timeout_seconds": 600,
		"environment": map[string]any{"GREETING": "hello"}, "cpu_count": 1, "memory_mb": 1024})
	id := info["sandbox_id"].(string)
	assert.True(t, strings.HasPrefix(id, "sb_"), id)
	assert.Equal(t, "alice", info["user_id"])
	assert.Equal(t, "running", info["state"])
	assert.Equal(t, "1280x960", info["resolution"])
	assert.EqualValues(t, 1, info["cpu_count"])
	assert.NotEmpty(t, info["session_id"])

	got := c.OK("get_sandbox_info", map[string]any{"sandbox_id": id})
	assert.Equal(t, id, got["sandbox_id"])
	list := c.OK("list_sandboxes", nil)
	assert.EqualValues(t, 1, list["count"])
	exp := c.OK("set_sandbox_timeout", map[string]any{"sandbox_id": id, "timeout_seconds": 900})
	expAt, err := time.Parse(time.RFC3339Nano, exp["expires_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(900*time.Second), expAt, time.Minute)
	stats := c.OK("get_stats", nil)
	assert.EqualValues(t, 1, stats["total_active_sandboxes"])
	assert.Equal(t, map[string]any{"alice": float64(1)}, stats["sandboxes_by_user"])

	// Desktop basics.
	size := c.OK("get_screen_size", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 1280, size["width"])
	assert.EqualValues(t, 960, size["height"])
	c.OK("move_mouse", map[string]any{"sandbox_id": id, "x": 321, "y": 123})
	pos := c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 321, pos["x"])
	assert.EqualValues(t, 123, pos["y"])
	c.OK("click", map[string]any{"sandbox_id": id, "x": 5, "y": 5})
	c.OK("click", map[string]any{"sandbox_id": id, "x": 7, "y": 7, "double": true, "button": "left"})
	c.OK("drag", map[string]any{"sandbox_id": id, "from_x": 10, "from_y": 10, "to_x": 200, "to_y": 150})
	pos = c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 200, pos["x"])
	c.OK("scroll", map[string]any{"sandbox_id": id, "direction": 1, "amount": 2})
	c.OK("scroll", map[string]any{"sandbox_id": id, "direction": "left", "x": 50, "y": 60})
	pos = c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 50, pos["x"])

	// Applications: a terminal, its window, typing into it.
	apps := c.OK("list_applications", map[string]any{"sandbox_id": id})
	assert.Contains(t, apps["applications"], "terminal")
	launched := c.OK("launch_application", map[string]any{"sandbox_id": id, "application": "terminal"})
	assert.NotEmpty(t, launched["command"])
	var win float64
	eventually(t, "the terminal window", 15*time.Second, func() bool {
		w := c.OK("get_application_windows", map[string]any{"sandbox_id": id, "application": "xterm"})
		ids, _ := w["window_ids"].([]any)
		if len(ids) == 0 {
			return false
		}
		win = ids[0].(float64)
		return true
	})
	title := c.OK("get_window_title", map[string]any{"sandbox_id": id, "window_id": win})
	assert.NotEmpty(t, title["title"])
	eventually(t, "the terminal to have the focus", 60*time.Second, func() bool {
		cur := c.OK("get_current_window_id", map[string]any{"sandbox_id": id})
		return cur["window_id"] == win
	})
	typed := c.OK("type_text", map[string]any{"sandbox_id": id, "text": "echo \"typed $GREETING ü\" > typed.txt", "chunk_size": 10, "delay_ms": 5})
	assert.EqualValues(t, len([]rune("echo \"typed $GREETING ü\" > typed.txt")), typed["typed"])
	c.OK("press_key", map[string]any{"sandbox_id": id, "key": "enter"})
	eventually(t, "the typed command's file", 60*time.Second, func() bool {
		res := c.Call("read_file", map[string]any{"sandbox_id": id, "path": "typed.txt"})
		return !res.IsError && text(res) == "typed hello ü\n"
	})
	c.OK("press_key_combination", map[string]any{"sandbox_id": id, "keys": []string{"ctrl", "u"}})

	// Screenshots: PNG, JPEG, region, scaling.
	res := c.Call("screenshot", map[string]any{"sandbox_id": id})
	require.False(t, res.IsError, text(res))
	imgs := images(t, res)
	require.Len(t, imgs, 1)
	assert.Equal(t, 1280, imgs[0].Bounds().Dx())
	sc := structured(t, res)
	assert.Equal(t, "png", sc["format"])
	assert.EqualValues(t, 960, sc["height"])
	res = c.Call("screenshot", map[string]any{"sandbox_id": id, "format": "jpeg", "quality": 50, "scale_to": "640x480"})
	require.False(t, res.IsError, text(res))
	imgs = images(t, res)
	assert.Equal(t, 640, imgs[0].Bounds().Dx())
	assert.Equal(t, 480, imgs[0].Bounds().Dy())
	assert.Equal(t, "jpeg", structured(t, res)["format"])
	res = c.Call("screenshot", map[string]any{"sandbox_id": id, "region": map[string]any{"x": 10, "y": 20, "width": 100, "height": 50}})
	require.False(t, res.IsError, text(res))
	imgs = images(t, res)
	assert.Equal(t, 100, imgs[0].Bounds().Dx())
	assert.Equal(t, 50, imgs[0].Bounds().Dy())
	c.fails("INVALID_ARGUMENT", "screenshot", map[string]any{"sandbox_id": id, "region": map[string]any{"x": 1200, "y": 0, "width": 100, "height": 50}})

	// Files.
	w := c.OK("write_file", map[string]any{"sandbox_id": id, "path": "/home/user/dir/a.txt", "content": "héllo\n"})
	assert.EqualValues(t, 7, w["size"])
	rf := c.Call("read_file", map[string]any{"sandbox_id": id, "path": "/home/user/dir/a.txt"})
	require.False(t, rf.IsError, text(rf))
	assert.Equal(t, "héllo\n", text(rf), "a text file's text is the text block")
	r := structured(t, rf)
	assert.Nil(t, r["content"], "and is sent once")
	assert.Equal(t, "utf-8", r["encoding"])
	// ~ is the home in every path argument.
	c.OK("write_file", map[string]any{"sandbox_id": id, "path": "~/tilde.txt", "content": "home"})
	assert.Equal(t, "home", text(c.Call("read_file", map[string]any{"sandbox_id": id, "path": "/home/user/tilde.txt"})))
	assert.Equal(t, "home", text(c.Call("read_file", map[string]any{"sandbox_id": id, "path": "~/tilde.txt"})))
	assert.Equal(t, "/home/user\n", c.OK("run_command", map[string]any{"sandbox_id": id, "command": "pwd", "cwd": "~"})["stdout"])
	assert.Equal(t, "/home/user", c.OK("list_files", map[string]any{"sandbox_id": id, "path": "~/"})["path"].(string)[:10])
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	c.OK("write_file", map[string]any{"sandbox_id": id, "path": "dir/b.bin", "content": base64.StdEncoding.EncodeToString(bin), "encoding": "base64"})
	r = c.OK("read_file", map[string]any{"sandbox_id": id, "path": "dir/b.bin"})
	assert.Equal(t, "base64", r["encoding"])
	assert.Equal(t, base64.StdEncoding.EncodeToString(bin), r["content"])
	ls := c.OK("list_files", map[string]any{"sandbox_id": id, "path": "/home/user/dir"})
	names := []string{}
	for _, en := range ls["entries"].([]any) {
		names = append(names, en.(map[string]any)["name"].(string))
	}
	assert.ElementsMatch(t, []string{"a.txt", "b.bin"}, names)
	c.OK("open_file", map[string]any{"sandbox_id": id, "path": "/home/user/dir/a.txt"})
	c.fails("PERMISSION_DENIED", "read_file", map[string]any{"sandbox_id": id, "path": "../../../etc/shadow"})

	// Commands, with progress notifications.
	cmd := c.CallMeta("run_command", map[string]any{"sandbox_id": id, "command": "echo out; echo err >&2; echo $GREETING $EXTRA; exit 3",
		"environment": map[string]any{"EXTRA": "more"}}, &mcp.Meta{ProgressToken: "run-1"})
	require.False(t, cmd.IsError, text(cmd))
	out := structured(t, cmd)
	assert.EqualValues(t, 3, out["exit_code"])
	assert.Equal(t, "out\nhello more\n", out["stdout"])
	assert.Equal(t, "err\n", out["stderr"])
	eventually(t, "a progress notification for run_command", 60*time.Second, func() bool { return c.progressFor("run-1") > 0 })
	out = c.OK("run_command", map[string]any{"sandbox_id": id, "command": "sleep 5", "timeout": 1})
	assert.Equal(t, true, out["timed_out"])
	out = c.OK("run_command", map[string]any{"sandbox_id": id, "command": "sleep 30", "background": true})
	assert.NotZero(t, out["pid"])
	out = c.OK("run_command", map[string]any{"sandbox_id": id, "command": "pwd", "cwd": "/tmp"})
	assert.Equal(t, "/tmp\n", out["stdout"])

	// Computer use: 1280x960 is advertised as 1024x768.
	cu := c.Call("computer", map[string]any{"sandbox_id": id, "action": "screenshot"})
	require.False(t, cu.IsError, text(cu))
	imgs = images(t, cu)
	assert.Equal(t, 1024, imgs[0].Bounds().Dx())
	assert.Equal(t, 768, imgs[0].Bounds().Dy())
	assert.EqualValues(t, 1024, structured(t, cu)["display_width"])
	// It waited for a still screen and says so.
	assert.Equal(t, true, structured(t, cu)["settled"])
	assert.Contains(t, text(cu), "screen still after")
	c.OK("computer", map[string]any{"sandbox_id": id, "action": "mouse_move", "coordinate": []int{512, 384}, "screenshot_after": false})
	pos = c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 640, pos["x"])
	assert.EqualValues(t, 480, pos["y"])
	cp := c.Call("computer", map[string]any{"sandbox_id": id, "action": "cursor_position"})
	assert.Equal(t, "X=512,Y=384", text(cp))
	zoom := c.Call("computer", map[string]any{"sandbox_id": id, "action": "zoom", "region": []int{0, 0, 512, 384}})
	require.False(t, zoom.IsError, text(zoom))
	imgs = images(t, zoom)
	assert.Equal(t, 1024, imgs[0].Bounds().Dx(), "zoom fills the display (the region is 640x480 on screen)")
	assert.Equal(t, 768, imgs[0].Bounds().Dy())
	for _, a := range []map[string]any{
		{"action": "left_click", "coordinate": []int{100, 100}},
		{"action": "left_click", "coordinate": []int{100, 100}, "text": "shift"},
		{"action": "right_click", "coordinate": []int{100, 100}},
		{"action": "key", "text": "Escape"},
		{"action": "middle_click"},
		{"action": "double_click", "coordinate": []int{10, 10}},
		{"action": "triple_click", "coordinate": []int{10, 10}},
		{"action": "left_click_drag", "start_coordinate": []int{10, 10}, "coordinate": []int{30, 40}},
		{"action": "left_mouse_down", "coordinate": []int{20, 20}},
		{"action": "left_mouse_up"},
		{"action": "scroll", "coordinate": []int{300, 300}, "scroll_direction": "down", "scroll_amount": 2, "text": "ctrl"},
		{"action": "scroll", "scroll_direction": "right"},
		{"action": "hold_key", "text": "shift", "duration": 0.2},
		{"action": "type", "text": "echo computer"},
		{"action": "key", "text": "ctrl+u"},
		{"action": "wait", "duration": 0.1},
	} {
		a["sandbox_id"] = id
		res := c.Call("computer", a)
		require.False(t, res.IsError, "%v: %s", a, text(res))
		require.Len(t, images(t, res), 1, "%v returns a screenshot", a["action"])
	}
	c.fails("INVALID_ARGUMENT", "computer", map[string]any{"sandbox_id": id, "action": "left_click", "coordinate": []int{1024, 10}})
	c.fails("INVALID_ARGUMENT", "computer", map[string]any{"sandbox_id": id, "action": "fly"})
	c.fails("INVALID_ARGUMENT", "computer", map[string]any{"sandbox_id": id, "action": "type"})

	// run_actions: in order, per-step results, final screenshot.
	ra := c.CallMeta("run_actions", map[string]any{"sandbox_id": id, "steps": []map[string]any{
		{"action": "move_mouse", "x": 100, "y": 90},
		{"action": "wait", "seconds": 0.1},
		{"action": "get_cursor_position"},
		{"action": "run_command", "command": "echo step"},
	}}, &mcp.Meta{ProgressToken: 7})
	require.False(t, ra.IsError, text(ra))
	rs := structured(t, ra)
	assert.Nil(t, rs["stopped_at"])
	assert.EqualValues(t, 4, rs["completed"])
	steps := rs["results"].([]any)
	assert.Equal(t, map[string]any{"x": float64(100), "y": float64(90)}, steps[2].(map[string]any)["result"])
	assert.Equal(t, "step\n", steps[3].(map[string]any)["result"].(map[string]any)["stdout"])
	assert.Len(t, images(t, ra), 1)
	assert.NotNil(t, rs["final_screenshot"])
	// The text says every step's result, for clients that show the model
	// no structured content.
	assert.Contains(t, text(ra), "step 2 get_cursor_position: {\"x\":100,\"y\":90}\n")
	assert.Contains(t, text(ra), "step 3 run_command: exit code 0\nstdout:\nstep\n")
	assert.Contains(t, text(ra), "all 4 steps done; final screenshot 1280x960; screen still after")
	eventually(t, "progress for run_actions", 60*time.Second, func() bool { return c.progressFor(float64(7)) >= 4 })

	ra = c.Call("run_actions", map[string]any{"sandbox_id": id, "screenshot_after": false, "steps": []map[string]any{
		{"action": "move_mouse", "x": 1, "y": 1},
		{"action": "click", "x": 3000, "y": 1},
		{"action": "move_mouse", "x": 2, "y": 2},
	}})
	require.False(t, ra.IsError, text(ra))
	rs = structured(t, ra)
	assert.EqualValues(t, 1, rs["stopped_at"])
	assert.Len(t, rs["results"], 2)
	assert.Equal(t, "INVALID_ARGUMENT", rs["results"].([]any)[1].(map[string]any)["error"].(map[string]any)["error_code"])
	assert.Contains(t, text(ra), "step 1 click: INVALID_ARGUMENT: ")
	assert.Contains(t, text(ra), "stopped at step 1")
	pos = c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, 1, pos["x"], "steps after the failure do not run")
	tooMany := []map[string]any{}
	for i := 0; i < 6; i++ {
		tooMany = append(tooMany, map[string]any{"action": "wait", "seconds": 0})
	}
	c.fails("INVALID_ARGUMENT", "run_actions", map[string]any{"sandbox_id": id, "steps": tooMany})
	c.fails("INVALID_ARGUMENT", "run_actions", map[string]any{"sandbox_id": id, "steps": []map[string]any{{"action": "cleanup_all_sandboxes"}}})

	// Argument errors have the project's shape, never a crash.
	e1 := c.fails("INVALID_ARGUMENT", "click", map[string]any{"sandbox_id": id, "x": -1, "y": 0})
	assert.Equal(t, "x", e1["details"].(map[string]any)["field"])
	c.fails("INVALID_ARGUMENT", "click", map[string]any{"sandbox_id": id, "x": 1, "y": 1, "bogus": true})
	c.fails("INVALID_ARGUMENT", "click", map[string]any{"sandbox_id": id, "x": "1", "y": 1})
	c.fails("INVALID_ARGUMENT", "click", map[string]any{"sandbox_id": id, "x": 1279, "y": 960})
	c.fails("INVALID_ARGUMENT", "create_sandbox", map[string]any{"cpu_count": 9})
	c.fails("INVALID_ARGUMENT", "launch_application", map[string]any{"sandbox_id": id, "application": "no-such-app"})
	c.fails("INVALID_ARGUMENT", "press_key", map[string]any{"sandbox_id": id, "key": "no-such-key"})
	c.fails("INVALID_ARGUMENT", "scroll", map[string]any{"sandbox_id": id, "direction": 2})
	c.fails("INVALID_ARGUMENT", "write_file", map[string]any{"sandbox_id": id, "path": "x", "content": "!!", "encoding": "base64"})
	c.fails("INVALID_ARGUMENT", "screenshot", map[string]any{"sandbox_id": id, "scale_to": "5x5"})
	c.fails("SANDBOX_NOT_FOUND", "get_sandbox_info", map[string]any{"sandbox_id": "sb_doesnotexist"})
	c.fails("PERMISSION_DENIED", "cleanup_user_sandboxes", map[string]any{"user_id": "bob"})

	// A right click on the desktop opens the window manager's menu; Escape closes it.
	c.OK("click", map[string]any{"sandbox_id": id, "x": 5, "y": 5, "button": "right"})
	c.OK("press_key", map[string]any{"sandbox_id": id, "key": "esc"})

	// Clean-up.
	d := c.OK("destroy_sandbox", map[string]any{"sandbox_id": id})
	assert.Equal(t, true, d["destroyed"])
	c.fails("SANDBOX_NOT_FOUND", "destroy_sandbox", map[string]any{"sandbox_id": id})
	c.fails("SANDBOX_NOT_FOUND", "screenshot", map[string]any{"sandbox_id": id})
	c.OK("create_sandbox", nil)
	n := c.OK("cleanup_user_sandboxes", nil)
	assert.EqualValues(t, 1, n["destroyed"])
	assert.EqualValues(t, 0, c.OK("list_sandboxes", nil)["count"])
}

func (m *mcpClient) progressFor(token any) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, no := range m.notifications {
		if no.Method == string(mcp.MethodNotificationProgress) && fmt.Sprint(no.Params.AdditionalFields["progressToken"]) == fmt.Sprint(token) {
			n++
		}
	}
	return n
}

// TestStreamTools starts and stops a live stream through the tools.
func TestStreamTools(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "alice"})
	id := c.OK("create_sandbox", nil)["sandbox_id"].(string)
	st := c.OK("start_stream", map[string]any{"sandbox_id": id, "quality": "low", "frame_rate": 10})
	assert.NotEmpty(t, st["auth_key"])
	resp, err := http.Get(st["stream_url"].(string))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Less(t, resp.StatusCode, 500)
	c.OK("stop_stream", map[string]any{"sandbox_id": id})

	c.fails("SANDBOX_NOT_FOUND", "start_stream", map[string]any{"sandbox_id": "sb_nope"})
}

// The computer tool at 16:9: the screenshot keeps the aspect ratio,
// coordinates map to the middle of the screen pixels they show, zoom
// fills the display.
func TestComputerWidescreen(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "alice"})
	id := c.OK("create_sandbox", map[string]any{"resolution": "1920x1080"})["sandbox_id"].(string)
	shot := c.Call("computer", map[string]any{"sandbox_id": id, "action": "screenshot"})
	require.False(t, shot.IsError, text(shot))
	img := images(t, shot)[0]
	assert.Equal(t, []int{1024, 576}, []int{img.Bounds().Dx(), img.Bounds().Dy()}, "1920x1080 fitted in 1024x768")
	assert.EqualValues(t, 576, structured(t, shot)["display_height"])
	c.OK("computer", map[string]any{"sandbox_id": id, "action": "mouse_move", "coordinate": []int{1023, 575}, "screenshot_after": false})
	pos := c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	assert.EqualValues(t, []any{1919.0, 1079.0}, []any{pos["x"], pos["y"]}, "the last pixel is the screen's last")
	c.OK("computer", map[string]any{"sandbox_id": id, "action": "mouse_move", "coordinate": []int{333, 211}, "screenshot_after": false})
	pos = c.OK("get_cursor_position", map[string]any{"sandbox_id": id})
	// Image pixel 333 shows screen pixels [624, 626), 211 shows [395, 397).
	assert.EqualValues(t, []any{624.0, 395.0}, []any{pos["x"], pos["y"]})
	assert.Equal(t, "X=333,Y=211", text(c.Call("computer", map[string]any{"sandbox_id": id, "action": "cursor_position"})))
	c.fails("INVALID_ARGUMENT", "computer", map[string]any{"sandbox_id": id, "action": "left_click", "coordinate": []int{10, 576}})
	zoom := c.Call("computer", map[string]any{"sandbox_id": id, "action": "zoom", "region": []int{100, 100, 150, 131}})
	require.False(t, zoom.IsError, text(zoom))
	z := images(t, zoom)[0].Bounds()
	assert.True(t, z.Dx() == 1024 || z.Dy() == 576, "the zoomed region fills the display: %v", z)
	assert.Greater(t, z.Dx(), 500, "enlarged (the region is 94x58 on screen)")
}

// An agent's Firefox session with the default tools: the window is up
// when launch_application answers, and a settled screenshot shows what
// the last action led to (the typed address, then the page) without a
// wait of the agent's own. (Typed at once after ctrl+l, an address lost
// its start: Firefox selects the bar's text after the key, asynchronously.)
func TestComputerFirefoxFlow(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "alice"})
	id := c.OK("create_sandbox", map[string]any{"resolution": "1280x800"})["sandbox_id"].(string)
	page := "<html><head><title>settle-target</title></head><body style='margin:0;background:#00ff88'>ready</body></html>"
	c.OK("write_file", map[string]any{"sandbox_id": id, "path": "~/page.html", "content": page})

	l := c.OK("launch_application", map[string]any{"sandbox_id": id, "application": "firefox"})
	require.NotZero(t, l["window_id"], "launch_application answers once the window is up: %v", l)
	assert.Contains(t, l["window_title"], "Firefox")

	act := func(a map[string]any) (map[string]any, image.Image) {
		a["sandbox_id"] = id
		res := c.Call("computer", a)
		require.False(t, res.IsError, text(res))
		imgs := images(t, res)
		require.Len(t, imgs, 1)
		return structured(t, res), imgs[0]
	}
	green := func(img image.Image) bool {
		r, g, b, _ := img.At(img.Bounds().Dx()-10, img.Bounds().Dy()-10).RGBA()
		return r>>8 == 0 && g>>8 == 0xff && b>>8 == 0x88
	}
	act(map[string]any{"action": "key", "text": "ctrl+l"})
	act(map[string]any{"action": "type", "text": "file:///home/user/page.html"})
	res, img := act(map[string]any{"action": "key", "text": "Return"})
	assert.EqualValues(t, 1024, res["display_width"])
	assert.EqualValues(t, 640, res["display_height"], "16:10 stays 16:10")
	// What an agent does when the screen was still changing at the bound
	// (a busy machine): look again. A settled screenshot must show the page.
	for i := 0; i < 10 && res["settled"] != true; i++ {
		res, img = act(map[string]any{"action": "screenshot"})
	}
	require.Equal(t, true, res["settled"], "the screen never settled: %v", res)
	assert.True(t, green(img), "the settled screenshot after Return shows the page")
	w := c.OK("get_current_window_id", map[string]any{"sandbox_id": id})
	title := c.OK("get_window_title", map[string]any{"sandbox_id": id, "window_id": w["window_id"]})["title"]
	assert.Contains(t, title, "settle-target", "the whole address arrived")
}

// TestUITools works mousepad through its accessibility tree over MCP: a
// snapshot, a search, text set and typed by reference, a menu opened, the
// UI resource; bad references and another tenant's sandbox are refused.
func TestUITools(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := inProcess(t, e, auth.Principal{ID: "erin"})
	id := c.OK("create_sandbox", nil)["sandbox_id"].(string)
	c.OK("launch_application", map[string]any{"sandbox_id": id, "application": "mousepad"})
	var snap string
	eventually(t, "mousepad in the snapshot", 60*time.Second, func() bool {
		snap, _ = structured(t, c.Call("ui_snapshot", map[string]any{"sandbox_id": id, "app": "mousepad"}))["snapshot"].(string) // an error until the window is there
		return strings.Contains(snap, `menu "File"`)
	})
	res := c.Call("ui_snapshot", map[string]any{"sandbox_id": id, "interactive": true, "bounds": true})
	assert.Equal(t, structured(t, res)["snapshot"], text(res), "the text block is the snapshot itself")
	assert.Regexp(t, `e\d+ menu "File" @\d+,\d+,\d+,\d+`, text(res))

	found := c.OK("find_elements", map[string]any{"sandbox_id": id, "role": "textbox"})
	els := found["elements"].([]any)
	require.Len(t, els, 1)
	box := els[0].(map[string]any)["ref"].(string)
	done := c.OK("act_on_element", map[string]any{"sandbox_id": id, "ref": box, "action": "set_text", "text": "Grüße, 世界"})
	assert.Equal(t, "set_text", done["done"])
	assert.Equal(t, "Grüße, 世界", done["element"].(map[string]any)["value"])
	done = c.OK("act_on_element", map[string]any{"sandbox_id": id, "ref": box, "action": "type", "text": " ok"})
	assert.Equal(t, "Grüße, 世界 ok", done["element"].(map[string]any)["value"], "typed at the end, where the caret was")

	r, err := c.C.ReadResource(c.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "vmservice://sandboxes/" + id + "/ui"}})
	require.NoError(t, err)
	assert.Contains(t, r.Contents[0].(mcp.TextResourceContents).Text, `= "Grüße, 世界 ok"`)

	c.fails("INVALID_ARGUMENT", "act_on_element", map[string]any{"sandbox_id": id, "ref": "e99999", "action": "click"})
	c.fails("INVALID_ARGUMENT", "act_on_element", map[string]any{"sandbox_id": id, "ref": "button", "action": "click"})
	c.fails("INVALID_ARGUMENT", "act_on_element", map[string]any{"sandbox_id": id, "ref": box, "action": "explode"})
	c.fails("INVALID_ARGUMENT", "find_elements", map[string]any{"sandbox_id": id})
	c.fails("INVALID_ARGUMENT", "ui_snapshot", map[string]any{"sandbox_id": id, "window_id": 424242})
	other := inProcess(t, e, auth.Principal{ID: "mallory"})
	other.fails("SANDBOX_NOT_FOUND", "ui_snapshot", map[string]any{"sandbox_id": id})
	other.fails("SANDBOX_NOT_FOUND", "act_on_element", map[string]any{"sandbox_id": id, "ref": box, "action": "click"})
}
