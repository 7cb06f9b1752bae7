package mcpserver_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/recording"
)

// TestRecordingTools: start_recording, calls, stop_recording through MCP.
// The trajectory lists exactly the calls made on the recorded sandbox by
// its owner, in order, and nothing else; the video decodes; both are
// readable as resources and with read_file; the sandbox takes them along.
func TestRecordingTools(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := inProcess(t, e, auth.Principal{ID: "alice"})
	bob := inProcess(t, e, auth.Principal{ID: "bob"})
	id := alice.OK("create_sandbox", nil)["sandbox_id"].(string)
	other := alice.OK("create_sandbox", nil)["sandbox_id"].(string)

	alice.fails("INVALID_ARGUMENT", "start_recording", map[string]any{"sandbox_id": id, "frame_rate": 99})
	alice.fails("SANDBOX_NOT_FOUND", "stop_recording", map[string]any{"sandbox_id": id})
	bob.fails("SANDBOX_NOT_FOUND", "start_recording", map[string]any{"sandbox_id": id})

	st := alice.OK("start_recording", map[string]any{"sandbox_id": id, "frame_rate": 10, "max_duration_seconds": 600})
	assert.Equal(t, recording.StateRecording, st["state"])
	rid := st["recording_id"].(string)
	assert.Equal(t, "/home/user/recordings/"+rid+".mp4", st["video_path"])
	assert.Equal(t, "vmservice://sandboxes/"+id+"/recordings/"+rid+"/trajectory", st["trajectory_resource"])

	// The calls, as the agent makes them; the trajectory must list these.
	long := strings.Repeat("x", 2000)
	made := []struct {
		tool string
		args map[string]any
		fail bool
	}{
		{"start_recording", map[string]any{}, true}, // one at a time: a failed call is a call too
		{"move_mouse", map[string]any{"x": 100, "y": 120}, false},
		{"click", map[string]any{"x": 200, "y": 220, "button": "right"}, false},
		{"type_text", map[string]any{"text": long}, false},
		{"press_key", map[string]any{"key": "Escape"}, false},
		{"screenshot", map[string]any{}, false},
		{"run_command", map[string]any{"command": "echo hello"}, false},
		{"click", map[string]any{"x": 5000, "y": 5}, true},
		{"get_cursor_position", map[string]any{}, false},
	}
	for _, m := range made {
		args := map[string]any{"sandbox_id": id}
		for k, v := range m.args {
			args[k] = v
		}
		if m.fail {
			alice.fails("INVALID_ARGUMENT", m.tool, args)
		} else {
			alice.OK(m.tool, args)
		}
		// Not on this sandbox, or not its owner's: not in its trajectory.
		alice.OK("get_cursor_position", map[string]any{"sandbox_id": other})
		bob.fails("SANDBOX_NOT_FOUND", "click", map[string]any{"sandbox_id": id, "x": 1, "y": 1})
	}
	alice.OK("list_sandboxes", nil)

	fin := alice.OK("stop_recording", map[string]any{"sandbox_id": id})
	assert.Equal(t, recording.StateStopped, fin["state"])
	assert.Equal(t, recording.ReasonStopped, fin["stop_reason"])
	assert.EqualValues(t, len(made)+1, fin["calls"], "start_recording and every call made")
	assert.Greater(t, fin["bytes"].(float64), 0.0)

	read := func(c *mcpClient, uri string) (mcp.ResourceContents, error) {
		r, err := c.C.ReadResource(c.Ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			return nil, err
		}
		require.Len(t, r.Contents, 1)
		return r.Contents[0], nil
	}
	rc, err := read(alice, fin["trajectory_resource"].(string))
	require.NoError(t, err)
	traj := rc.(mcp.TextResourceContents)
	assert.Equal(t, "application/jsonl", traj.MIMEType)
	var entries []recording.Entry
	sc := bufio.NewScanner(strings.NewReader(traj.Text))
	for sc.Scan() {
		var en recording.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &en), sc.Text())
		entries = append(entries, en)
	}
	require.Len(t, entries, len(made)+1, traj.Text)
	assert.Equal(t, "start_recording", entries[0].Tool)
	assert.Nil(t, entries[0].Frame, "start_recording came before the first frame")
	for i, m := range made {
		en := entries[i+1]
		assert.Equal(t, i+2, en.Seq)
		assert.Equal(t, m.tool, en.Tool, "entry %d", i+2)
		assert.Equal(t, m.fail, en.IsError, "entry %d", i+2)
		var args map[string]any
		require.NoError(t, json.Unmarshal(en.Arguments, &args))
		assert.Equal(t, id, args["sandbox_id"])
		for k, v := range m.args {
			if s, ok := v.(string); ok && len(s) > 512 {
				assert.Contains(t, args[k], "…(2000 bytes)", "long strings are cut")
				continue
			}
			assert.EqualValues(t, v, args[k], "entry %d: %s", i+2, k)
		}
		require.NotNil(t, en.Frame, "entry %d has its frame", i+2)
		assert.Equal(t, int(*en.VideoTime*10), *en.Frame)
		if i > 0 {
			assert.False(t, en.Time.Before(entries[i].Time), "in order")
		}
	}
	assert.Equal(t, "INVALID_ARGUMENT", entries[1].ErrorCode)
	assert.Equal(t, "INVALID_ARGUMENT", entries[len(made)-1].ErrorCode)
	assert.Contains(t, string(entries[7].Result), "hello", "run_command's result is summarised")

	// The sandbox's copy says the same; the video decodes.
	rf := alice.Call("read_file", map[string]any{"sandbox_id": id, "path": fin["trajectory_path"]})
	require.False(t, rf.IsError, text(rf))
	assert.Equal(t, traj.Text, text(rf))
	rv := alice.OK("read_file", map[string]any{"sandbox_id": id, "path": fin["video_path"]})
	assert.Equal(t, "base64", rv["encoding"])
	video, err := base64.StdEncoding.DecodeString(rv["content"].(string))
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "v.mp4")
	require.NoError(t, os.WriteFile(f, video, 0o600))
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
		"-of", "csv=p=0", f).Output()
	require.NoError(t, err)
	assert.Equal(t, "h264,1024,768", strings.TrimSpace(string(out)))
	rc, err = read(alice, fin["video_resource"].(string))
	require.NoError(t, err)
	assert.Equal(t, rv["content"], rc.(mcp.BlobResourceContents).Blob)

	rc, err = read(alice, "vmservice://sandboxes/"+id+"/recordings")
	require.NoError(t, err)
	assert.Contains(t, rc.(mcp.TextResourceContents).Text, `"recording_id": "`+rid+`"`)
	_, err = read(bob, fin["trajectory_resource"].(string))
	assert.Error(t, err, "another tenant's trajectory")
	_, err = read(alice, "vmservice://sandboxes/"+other+"/recordings/"+rid+"/trajectory")
	assert.Error(t, err, "a recording of another sandbox")

	// Gone with the sandbox.
	alice.OK("destroy_sandbox", map[string]any{"sandbox_id": id})
	_, err = read(alice, fin["trajectory_resource"].(string))
	assert.Error(t, err)
	assert.Empty(t, e.recordings.List(id))
}
