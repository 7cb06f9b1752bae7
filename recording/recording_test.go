package recording_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/testwait"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
)

func newSandbox(t testing.TB) (*sandbox.Manager, *sandbox.Sandbox) {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	p, err := local.New(local.Options{Log: log})
	require.NoError(t, err)
	m, err := sandbox.NewManager(p, sandbox.Settings{}, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := m.Create(ctx, sandbox.CreateRequest{Owner: "u1"})
	require.NoError(t, err)
	return m, sb
}

func newService(t testing.TB) *recording.Service {
	s := recording.New(zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	t.Cleanup(s.Close)
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func run(t testing.TB, sb *sandbox.Sandbox, cmd string) string {
	t.Helper()
	res, err := sb.Instance().Run(ctxT(t), sandbox.CommandRequest{Command: cmd, Timeout: 60 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "%s: %s%s", cmd, res.Stdout, res.Stderr)
	return res.Stdout
}

// eventually polls fn until it returns nil or d passes.
var eventually = testwait.Until

// waitFrames waits until the recording has encoded n frames.
func waitFrames(t testing.TB, svc *recording.Service, sb *sandbox.Sandbox, n int) {
	t.Helper()
	eventually(t, 2*time.Minute, "frames encoded", func() error {
		p, err := svc.Progress(ctxT(t), sb.ID())
		if err != nil {
			return err
		}
		if p.Frames < n {
			return fmt.Errorf("frame %d of %d", p.Frames, n)
		}
		return nil
	})
}

// call does what an MCP tool call on the sandbox does to a recording: run
// something, then report it with its arrival time.
func call(t *testing.T, svc *recording.Service, sb *sandbox.Sandbox, tool string, args map[string]any, cmd string) time.Time {
	t.Helper()
	start := time.Now()
	out := run(t, sb, cmd)
	a, _ := json.Marshal(args)
	r, _ := json.Marshal(map[string]any{"stdout": out, "exit_code": 0})
	svc.Record(sb.ID(), recording.Call{Tool: tool, Arguments: a, Start: start, Duration: time.Since(start), Result: r})
	return start
}

// fetch copies a sandbox file to the host.
func fetch(t *testing.T, sb *sandbox.Sandbox, path string) string {
	t.Helper()
	data, err := sb.Instance().ReadFile(ctxT(t), path, 1<<30)
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), filepath.Base(path))
	require.NoError(t, os.WriteFile(f, data, 0o600))
	return f
}

type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		NbFrames  string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe decodes the whole video (frames counted by decoding).
func ffprobe(t *testing.T, file string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", file).Output()
	require.NoError(t, err)
	var p probe
	require.NoError(t, json.Unmarshal(out, &p))
	require.Len(t, p.Streams, 1)
	return p
}

// pixel decodes frame n of the video and returns the colour at (x, y).
func pixel(t *testing.T, file string, n, x, y int) [3]int {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-vf",
		fmt.Sprintf(`select=eq(n\,%d),crop=2:2:%d:%d`, n, x, y), "-fps_mode", "passthrough", "-frames:v", "1",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(out), 3, "frame %d not in the video", n)
	return [3]int{int(out[0]), int(out[1]), int(out[2])}
}

func near(a [3]int, b [3]int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > 40 || d < -40 {
			return false
		}
	}
	return true
}

var (
	green = [3]int{0x1f, 0x7a, 0x3d}
	red   = [3]int{0xd0, 0x20, 0x20}
	blue  = [3]int{0x20, 0x40, 0xd0}
)

func hex(c [3]int) string { return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]) }

// A recording on the real local backend: ffmpeg inside the sandbox, the
// video decoded with ffprobe, every recorded call in the trajectory with the
// frame that shows the screen as the call found it.
func TestRecordScreenAndTrajectory(t *testing.T) {
	_, sb := newSandbox(t)
	svc := newService(t)
	ctx := ctxT(t)
	run(t, sb, "xsetroot -solid '"+hex(green)+"'")

	info, err := svc.Start(ctx, sb, recording.Options{FrameRate: 10, MaxDuration: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, recording.StateRecording, info.State)
	assert.Equal(t, "/home/user/recordings/"+info.RecordingID+".mp4", info.VideoPath)
	assert.False(t, info.StartedAt.IsZero())
	assert.WithinDuration(t, time.Now(), info.StartedAt, 30*time.Second)

	// ffmpeg runs inside the sandbox: a process of the sandbox (its pid
	// namespace) that the sandbox itself can see.
	assert.Contains(t, run(t, sb, "ps -eo comm"), "ffmpeg")

	// A second recording of the same sandbox is refused.
	_, err = svc.Start(ctx, sb, recording.Options{})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))

	hold := func() { // keep the screen as it is for 15 more frames of video
		waitFrames(t, svc, sb, int(time.Since(info.StartedAt).Seconds()*10)+15)
	}
	hold()
	long := strings.Repeat("é", 3000)
	tRed := call(t, svc, sb, "run_command", map[string]any{"command": "xsetroot -solid red", "note": long}, "xsetroot -solid '"+hex(red)+"'")
	hold()
	tBlue := call(t, svc, sb, "run_command", map[string]any{"command": "xsetroot -solid blue"}, "xsetroot -solid '"+hex(blue)+"'")
	hold()
	// A failed call is in the trajectory too.
	svc.Record(sb.ID(), recording.Call{Tool: "click", Arguments: json.RawMessage(`{"x":-1}`), Start: time.Now(),
		IsError: true, ErrorCode: "INVALID_ARGUMENT", Result: json.RawMessage(`{"message":"outside the screen"}`)})

	// The mirror in the sandbox catches up within a few seconds.
	eventually(t, 30*time.Second, "trajectory mirrored", func() error {
		data, err := sb.Instance().ReadFile(ctx, info.TrajectoryPath, 1<<20)
		if err != nil {
			return err
		}
		if n := bytes.Count(data, []byte("\n")); n != 3 {
			return fmt.Errorf("%d lines", n)
		}
		return nil
	})

	pr, err := svc.Progress(ctx, sb.ID())
	require.NoError(t, err)
	assert.Greater(t, pr.CPUSeconds, 0.0)
	assert.GreaterOrEqual(t, pr.Frames, 45)

	final, err := svc.Stop(ctx, sb.ID())
	require.NoError(t, err)
	assert.Equal(t, recording.StateStopped, final.State)
	assert.Equal(t, recording.ReasonStopped, final.StopReason)
	assert.Equal(t, 3, final.Calls)
	assert.Greater(t, final.CPUSeconds, 0.0)
	assert.Greater(t, final.Bytes, int64(0))
	assert.Greater(t, final.DurationSeconds, 4.0)
	_, err = svc.Stop(ctx, sb.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err), "no recording left to stop")
	assert.NotContains(t, run(t, sb, "ps -eo comm"), "ffmpeg", "ffmpeg ended")

	// The video decodes: H.264, the screen's size, as long as the recording.
	video := fetch(t, sb, final.VideoPath)
	p := ffprobe(t, video)
	assert.Equal(t, "h264", p.Streams[0].CodecName)
	assert.Equal(t, 1024, p.Streams[0].Width)
	assert.Equal(t, 768, p.Streams[0].Height)
	dur, _ := strconv.ParseFloat(p.Format.Duration, 64)
	assert.InDelta(t, final.DurationSeconds, dur, 0.2)
	frames, _ := strconv.Atoi(p.Streams[0].NbFrames)
	assert.InDelta(t, dur*10, float64(frames), 2, "constant 10 fps")

	// The trajectory: the server's copy and the sandbox's final mirror agree.
	traj, _, err := svc.Trajectory(sb.ID(), final.RecordingID)
	require.NoError(t, err)
	mirrored, err := sb.Instance().ReadFile(ctx, final.TrajectoryPath, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, string(traj), string(mirrored))
	var entries []recording.Entry
	sc := bufio.NewScanner(bytes.NewReader(traj))
	for sc.Scan() {
		var e recording.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		entries = append(entries, e)
	}
	require.Len(t, entries, 3)
	for i, want := range []string{"run_command", "run_command", "click"} {
		assert.Equal(t, i+1, entries[i].Seq)
		assert.Equal(t, want, entries[i].Tool)
		require.NotNil(t, entries[i].Frame, "entry %d has a frame", i+1)
		require.NotNil(t, entries[i].VideoTime)
		assert.Equal(t, int(*entries[i].VideoTime*10), *entries[i].Frame)
	}
	assert.True(t, entries[0].Time.Equal(tRed.UTC()))
	assert.True(t, entries[1].Time.Equal(tBlue.UTC()))
	assert.True(t, entries[2].IsError)
	assert.Equal(t, "INVALID_ARGUMENT", entries[2].ErrorCode)
	assert.Contains(t, string(entries[0].Arguments), "…(6000 bytes)", "long strings are cut")
	assert.Less(t, len(entries[0].Arguments), 1200)

	// The frame each call names shows the screen as the call found it, and
	// a few frames after the call ended show its effect.
	after := func(e recording.Entry) int { return int((*e.VideoTime+e.DurationMS/1e3)*10) + 3 }
	for _, c := range []struct {
		e             recording.Entry
		before, after [3]int
	}{{entries[0], green, red}, {entries[1], red, blue}} {
		got := pixel(t, video, *c.e.Frame-2, 512, 5)
		assert.True(t, near(got, c.before), "frame %d before %s: %v, want %v", *c.e.Frame-2, c.e.Tool, got, c.before)
		got = pixel(t, video, after(c.e), 512, 5)
		assert.True(t, near(got, c.after), "frame %d after %s: %v, want %v", after(c.e), c.e.Tool, got, c.after)
	}

	// Listed, and readable again by id.
	list := svc.List(sb.ID())
	require.Len(t, list, 1)
	assert.Equal(t, final.RecordingID, list[0].RecordingID)
	got, err := svc.Get(sb.ID(), final.RecordingID)
	require.NoError(t, err)
	assert.Equal(t, final.Bytes, got.Bytes)
	_, _, err = svc.Trajectory(sb.ID(), "rec_nope")
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	_, _, err = svc.Trajectory("sb_other", final.RecordingID)
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err), "recordings are per sandbox")
}

// The bounds: a recording ends by itself at its time limit (the trajectory
// too), and at its size limit.
func TestRecordingLimits(t *testing.T) {
	_, sb := newSandbox(t)
	svc := newService(t)
	ctx := ctxT(t)

	info, err := svc.Start(ctx, sb, recording.Options{FrameRate: 5, MaxDuration: 2 * time.Second})
	require.NoError(t, err)
	eventually(t, time.Minute, "recording closed at its time limit", func() error {
		got, err := svc.Get(sb.ID(), info.RecordingID)
		if err != nil {
			return err
		}
		if got.State != recording.StateStopped {
			return fmt.Errorf("state %s", got.State)
		}
		return nil
	})
	got, err := svc.Get(sb.ID(), info.RecordingID)
	require.NoError(t, err)
	assert.Equal(t, recording.ReasonMaxDuration, got.StopReason)
	assert.InDelta(t, 2.0, got.DurationSeconds, 0.3)
	svc.Record(sb.ID(), recording.Call{Tool: "click", Start: time.Now()})
	got, _ = svc.Get(sb.ID(), info.RecordingID)
	assert.Equal(t, 0, got.Calls, "no call is recorded after the end")
	p := ffprobe(t, fetch(t, sb, got.VideoPath))
	dur, _ := strconv.ParseFloat(p.Format.Duration, 64)
	assert.InDelta(t, 2.0, dur, 0.3)

	// Size: a screen full of changing noise fills 1 MiB in seconds.
	run(t, sb, "convert -size 1024x768 xc: +noise Random /tmp/n1.png && convert -size 1024x768 xc: +noise Random /tmp/n2.png")
	_, err = sb.Instance().Run(ctx, sandbox.CommandRequest{Background: true,
		Command: "while :; do display -window root /tmp/n1.png; display -window root /tmp/n2.png; done"})
	require.NoError(t, err)
	info, err = svc.Start(ctx, sb, recording.Options{FrameRate: 5, MaxBytes: 1 << 20, Quality: recording.QualityLow})
	require.NoError(t, err)
	eventually(t, 2*time.Minute, "ffmpeg ends at the size limit", func() error {
		res, err := sb.Instance().Run(ctx, sandbox.CommandRequest{Command: "pgrep -x ffmpeg", Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		if res.ExitCode == 0 {
			return fmt.Errorf("still recording")
		}
		return nil
	})
	got, err = svc.Stop(ctx, sb.ID())
	require.NoError(t, err)
	assert.Equal(t, recording.ReasonMaxBytes, got.StopReason)
	p = ffprobe(t, fetch(t, sb, got.VideoPath))
	dur, _ = strconv.ParseFloat(p.Format.Duration, 64)
	// -fs is checked between fragments (one per second): the file ends
	// within one fragment past the limit.
	assert.GreaterOrEqual(t, got.Bytes, int64(1<<20))
	assert.LessOrEqual(t, float64(got.Bytes), float64(1<<20)+1.5*float64(got.Bytes)/dur, "%d bytes in %.1f s", got.Bytes, dur)
	assert.Equal(t, 1024, p.Streams[0].Width, "a video cut at its size limit still decodes")
}

func TestOptionsAreChecked(t *testing.T) {
	_, sb := newSandbox(t)
	svc := newService(t)
	for _, c := range []struct {
		o     recording.Options
		field string
	}{
		{recording.Options{FrameRate: 31}, "frame_rate"},
		{recording.Options{FrameRate: -1}, "frame_rate"},
		{recording.Options{MaxDuration: 3 * time.Hour}, "max_duration_seconds"},
		{recording.Options{MaxDuration: time.Millisecond}, "max_duration_seconds"},
		{recording.Options{MaxBytes: 1000}, "max_megabytes"},
		{recording.Options{Quality: "best"}, "quality"},
	} {
		_, err := svc.Start(ctxT(t), sb, c.o)
		var se *sandbox.Error
		require.ErrorAs(t, err, &se, "%+v", c.o)
		assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
		assert.Equal(t, c.field, se.Details["field"])
	}
	assert.Empty(t, svc.List(sb.ID()), "nothing was started")
	_, err := svc.Stop(ctxT(t), sb.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
}

// Destroying the sandbox ends its recording: ffmpeg dies with it and the
// service forgets it.
func TestRecordingEndsWithSandbox(t *testing.T) {
	m, sb := newSandbox(t)
	svc := newService(t)
	m.OnDestroy = func(i sandbox.Info) { svc.Forget(i.SandboxID) }
	info, err := svc.Start(ctxT(t), sb, recording.Options{})
	require.NoError(t, err)
	out, err := exec.Command("pgrep", "-f", info.RecordingID).Output()
	require.NoError(t, err, "ffmpeg is visible on the host")
	require.NotEmpty(t, strings.TrimSpace(string(out)))

	require.NoError(t, m.Destroy(ctxT(t), sb))
	assert.Empty(t, svc.List(sb.ID()))
	_, err = svc.Stop(ctxT(t), sb.ID())
	assert.Equal(t, sandbox.CodeNotFound, sandbox.CodeOf(err))
	eventually(t, 30*time.Second, "ffmpeg gone", func() error {
		if out, _ := exec.Command("pgrep", "-f", info.RecordingID).Output(); len(bytes.TrimSpace(out)) > 0 {
			return fmt.Errorf("still running: %s", out)
		}
		return nil
	})
}
