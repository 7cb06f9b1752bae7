package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetRecording: recordings of a sandbox's screen, with the trajectory of
// the tool calls made on it.
const SetRecording = "recording"

var _ = register(SetRecording, startRecording, stopRecording)

// StartRecordingArgs are start_recording's arguments.
type StartRecordingArgs struct {
	SandboxRef
	FrameRate          int    `json:"frame_rate,omitempty" jsonschema_description:"Frames per second, {min} to {max} (default {default})."`
	MaxDurationSeconds int    `json:"max_duration_seconds,omitempty" jsonschema_description:"The recording stops by itself after this long, {min} to {max} seconds (default {default})."`
	MaxMegabytes       int    `json:"max_megabytes,omitempty" jsonschema_description:"...or when the video reaches this size (plus up to a second of video), {min} to {max} MiB (default {default}); it counts against the sandbox's disk."`
	Quality            string `json:"quality,omitempty" jsonschema:"enum=low,enum=medium,enum=high,default=medium" jsonschema_description:"Image quality (and size): low, medium or high."`
}

// JSONSchemaExtend declares the bounds where the recording package defines them.
func (StartRecordingArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	toolkit.Bound(s, "frame_rate", 1, recording.MaxFrameRate)
	toolkit.Fill(s, "frame_rate", "default", recording.DefaultFrameRate)
	toolkit.Bound(s, "max_duration_seconds", 1, int(recording.MaxMaxDuration.Seconds()))
	toolkit.Fill(s, "max_duration_seconds", "default", int(recording.DefaultMaxDuration.Seconds()))
	toolkit.Bound(s, "max_megabytes", recording.MinMaxBytes>>20, recording.MaxMaxBytes>>20)
	toolkit.Fill(s, "max_megabytes", "default", recording.DefaultMaxBytes>>20)
}

// RecordingResult describes a recording: where its video and trajectory
// are (sandbox paths for read_file, resources), how long and large it is.
type RecordingResult struct {
	recording.Info
	TrajectoryResource string `json:"trajectory_resource" jsonschema_description:"The trajectory (JSON lines, one per tool call on the sandbox while recording) as an MCP resource."`
	VideoResource      string `json:"video_resource" jsonschema_description:"The video (MP4) as an MCP resource (the sandbox file, like read_file)."`
}

// Text is the short text block.
func (r RecordingResult) Text() string {
	if r.State == recording.StateRecording {
		return fmt.Sprintf("recording %s of %s at %d fps into %s (stops after %d s or %d MiB); every tool call on the sandbox goes into %s",
			r.RecordingID, r.SandboxID, r.FrameRate, r.VideoPath, r.MaxDurationSeconds, r.MaxBytes>>20, r.TrajectoryPath)
	}
	return fmt.Sprintf("recording %s of %s stopped (%s): %.1f s, %d bytes, %d calls; video %s, trajectory %s",
		r.RecordingID, r.SandboxID, r.StopReason, r.DurationSeconds, r.Bytes, r.Calls, r.VideoPath, r.TrajectoryPath)
}

func recordingResult(i *recording.Info) RecordingResult {
	return RecordingResult{Info: *i, TrajectoryResource: toolkit.TrajectoryURI(i.SandboxID, i.RecordingID),
		VideoResource: toolkit.FileURI(i.SandboxID, i.VideoPath)}
}

func (tb *Toolbox) recordings() (*recording.Service, error) {
	if tb.opts.Recordings == nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "recordings are not available on this server")
	}
	return tb.opts.Recordings, nil
}

func startRecording(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "start_recording", Title: "Start recording",
		Description: "Record the sandbox's screen (H.264 MP4, made inside the sandbox and stored on its disk) together with a trajectory: " +
			"every tool call on the sandbox from now on, with its time, arguments, result summary and the video frame it matches. " +
			"One recording per sandbox at a time; stop it with stop_recording (it also stops at max_duration_seconds or max_megabytes).",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false},
		Meta:  mcpapp.ToolMeta()},
		func(ctx context.Context, sb *sandbox.Sandbox, a *StartRecordingArgs) (RecordingResult, error) {
			rs, err := tb.recordings()
			if err != nil {
				return RecordingResult{}, err
			}
			info, err := rs.Start(ctx, sb, recording.Options{FrameRate: a.FrameRate, Quality: a.Quality,
				MaxDuration: time.Duration(a.MaxDurationSeconds) * time.Second, MaxBytes: int64(a.MaxMegabytes) << 20})
			if err != nil {
				return RecordingResult{}, err
			}
			return recordingResult(info), nil
		})
}

func stopRecording(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "stop_recording", Title: "Stop recording",
		Description: "Stop the sandbox's recording and return the video's length and size, the number of calls in its trajectory, " +
			"and where both are (read_file paths and resources).",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *SandboxRef) (RecordingResult, error) {
			rs, err := tb.recordings()
			if err != nil {
				return RecordingResult{}, err
			}
			info, err := rs.Stop(ctx, sb.ID())
			if err != nil {
				return RecordingResult{}, err
			}
			return recordingResult(info), nil
		})
}
