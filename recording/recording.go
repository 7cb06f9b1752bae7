// Package recording records a sandbox's screen and what was done to it.
//
// The video is made by ffmpeg (x11grab, H.264 in fragmented MP4) running
// INSIDE the sandbox through its own Commands, so it works the same on every
// backend, its CPU and memory come out of the sandbox's limits, and its file
// is written to the sandbox's own disk (under ~/recordings, within its
// quota), readable with read_file and gone when the sandbox is destroyed.
// Each recording is bounded in time (-t) and size (-fs); a server-side timer
// closes it at its time limit even if nobody calls Stop.
//
// Next to the video, a trajectory lists every tool call made on the sandbox
// while it records, as JSON lines: time, tool, arguments and a summary of
// the result (long strings cut), how long it took, and the second and frame
// of the video it matches. The frame is exact to the clock: x11grab stamps
// each frame with the wall clock, ffmpeg prints the first one's ("start:"),
// and the sandbox's clock is put on the server's with one round trip at
// start. The server keeps the trajectory (it is the authority: the sandbox
// could rewrite its copy) and mirrors it to ~/recordings/<id>.jsonl about
// once a second.
//
// Measured with `go test -run '^$' -bench RecordingCPU ./recording/` (one
// desktop, 1024x768, a window redrawn 4 times a second): see bench_test.go.
package recording

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/sandbox"
)

// Qualities (libx264 CRF 35, 28, 20).
const (
	QualityLow    = "low"
	QualityMedium = "medium"
	QualityHigh   = "high"
)

// Limits and defaults of Options.
const (
	DefaultFrameRate   = 10
	MaxFrameRate       = 30
	DefaultMaxDuration = 10 * time.Minute
	MaxMaxDuration     = 2 * time.Hour
	DefaultMaxBytes    = 256 << 20
	MaxMaxBytes        = 4 << 30
	MinMaxBytes        = 1 << 20
)

// States and stop reasons of a recording.
const (
	StateRecording = "recording"
	StateStopped   = "stopped"

	ReasonStopped     = "stop_recording"    // asked for
	ReasonMaxDuration = "max_duration"      // reached its time limit
	ReasonMaxBytes    = "max_bytes"         // reached its size limit
	ReasonEnded       = "ended"             // ffmpeg ended by itself (display gone, disk full)
	ReasonDestroyed   = "sandbox_destroyed" // the sandbox went away
)

// Options of a recording; zero values take the defaults.
type Options struct {
	FrameRate   int           // 1-30 frames per second (default 10)
	MaxDuration time.Duration // 1 s to 2 h (default 10 min)
	MaxBytes    int64         // 1 MiB to 4 GiB (default 256 MiB)
	Quality     string        // low | medium (default) | high
}

func (o Options) normalize() (Options, error) {
	if o.FrameRate == 0 {
		o.FrameRate = DefaultFrameRate
	}
	if o.FrameRate < 1 || o.FrameRate > MaxFrameRate {
		return o, sandbox.InvalidArgument("frame_rate", "frame_rate must be between 1 and %d, got %d", MaxFrameRate, o.FrameRate).
			WithDetail("min", 1).WithDetail("max", MaxFrameRate)
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = DefaultMaxDuration
	}
	if o.MaxDuration < time.Second || o.MaxDuration > MaxMaxDuration {
		return o, sandbox.InvalidArgument("max_duration_seconds", "max_duration_seconds must be between 1 and %d", int(MaxMaxDuration.Seconds())).
			WithDetail("min", 1).WithDetail("max", int(MaxMaxDuration.Seconds()))
	}
	o.MaxDuration = o.MaxDuration.Truncate(time.Second)
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxBytes < MinMaxBytes || o.MaxBytes > MaxMaxBytes {
		return o, sandbox.InvalidArgument("max_megabytes", "max_megabytes must be between %d and %d", MinMaxBytes>>20, MaxMaxBytes>>20).
			WithDetail("min", MinMaxBytes>>20).WithDetail("max", MaxMaxBytes>>20)
	}
	if o.Quality == "" {
		o.Quality = QualityMedium
	}
	if _, ok := crf[o.Quality]; !ok {
		return o, sandbox.InvalidArgument("quality", "quality must be low, medium or high, got %q", o.Quality).
			WithDetail("allowed", []string{QualityLow, QualityMedium, QualityHigh})
	}
	return o, nil
}

// Info describes a recording (the start_recording / stop_recording result).
type Info struct {
	RecordingID    string `json:"recording_id"`
	SandboxID      string `json:"sandbox_id"`
	State          string `json:"state"`
	StopReason     string `json:"stop_reason,omitempty"`
	VideoPath      string `json:"video_path"`      // in the sandbox (read_file)
	TrajectoryPath string `json:"trajectory_path"` // in the sandbox (read_file), a mirror of the server's copy
	FrameRate      int    `json:"frame_rate"`
	Quality        string `json:"quality"`
	// StartedAt is the time of the first frame (server clock): video time 0.
	StartedAt          time.Time  `json:"started_at"`
	StoppedAt          *time.Time `json:"stopped_at,omitempty"`
	DurationSeconds    float64    `json:"duration_seconds,omitempty"`
	Bytes              int64      `json:"bytes,omitempty"`
	Calls              int        `json:"calls"`
	DroppedCalls       int        `json:"dropped_calls,omitempty"`
	CPUSeconds         float64    `json:"cpu_seconds,omitempty"` // ffmpeg's user+system time
	MaxDurationSeconds int        `json:"max_duration_seconds"`
	MaxBytes           int64      `json:"max_bytes"`
}

// rec is one recording.
type rec struct {
	inst sandbox.Instance
	opts Options
	pid  int
	home string

	// guarded by Service.mu
	info     Info
	first    time.Time // first frame, server clock
	length   time.Duration
	entries  []Entry
	stopping bool
	timer    *time.Timer

	dirty chan struct{} // a trajectory line was added
	quit  chan struct{} // closed when the recording ends: the flusher stops
	done  chan struct{} // closed when the stop is complete
}

// keepPast bounds the finished recordings remembered per sandbox.
const keepPast = 20

// Service owns the recordings of every sandbox. It is safe for concurrent
// use.
type Service struct {
	log zerolog.Logger
	// flushEvery is how often a changed trajectory is mirrored to the sandbox.
	flushEvery time.Duration

	mu     sync.Mutex
	active map[string]*rec   // sandbox id -> recording in progress
	past   map[string][]*rec // sandbox id -> finished recordings, oldest first
	closed bool
}

// New makes a Service.
func New(log zerolog.Logger) *Service {
	return &Service{log: log, flushEvery: time.Second, active: map[string]*rec{}, past: map[string][]*rec{}}
}

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "rec_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Start starts recording sb's screen and returns once the first frame is
// grabbed. One recording per sandbox at a time: a second Start is
// INVALID_ARGUMENT naming the one in progress.
func (s *Service) Start(ctx context.Context, sb *sandbox.Sandbox, o Options) (*Info, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	id := sb.ID()
	r := &rec{inst: sb.Instance(), opts: o, dirty: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	r.info = Info{RecordingID: newID(), SandboxID: id, State: StateRecording, FrameRate: o.FrameRate, Quality: o.Quality,
		MaxDurationSeconds: int(o.MaxDuration.Seconds()), MaxBytes: o.MaxBytes}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the server is shutting down")
	}
	if cur := s.active[id]; cur != nil {
		s.mu.Unlock()
		return nil, sandbox.InvalidArgument("sandbox_id", "sandbox %s is already being recorded; stop_recording first", id).
			WithDetail("recording_id", cur.info.RecordingID)
	}
	r.stopping = true // not visible to Record or Stop until it runs
	s.active[id] = r
	s.mu.Unlock()

	if err := s.boot(ctx, r); err != nil {
		s.mu.Lock()
		delete(s.active, id)
		s.mu.Unlock()
		close(r.done)
		s.log.Warn().Err(err).Str("sandbox_id", id).Msg("recording start failed")
		return nil, sandbox.AsError(err)
	}

	s.mu.Lock()
	if s.active[id] != r { // the sandbox was destroyed meanwhile (Forget)
		s.mu.Unlock()
		return nil, sandbox.NotFound(id)
	}
	r.stopping = false
	// Close it at its time limit even if nobody stops it (ffmpeg's -t has
	// ended the video by then; this ends the trajectory).
	r.timer = time.AfterFunc(o.MaxDuration+3*time.Second, func() {
		_, _ = s.finish(context.Background(), id, r, "")
	})
	info := r.info
	s.mu.Unlock()
	go s.flusher(r)
	s.log.Info().Str("sandbox_id", id).Str("recording_id", info.RecordingID).Int("frame_rate", o.FrameRate).
		Dur("max_duration", o.MaxDuration).Int64("max_bytes", o.MaxBytes).Msg("recording started")
	return &info, nil
}

// boot runs ffmpeg and waits for its first frame.
func (s *Service) boot(ctx context.Context, r *rec) error {
	t0 := time.Now()
	res, err := r.inst.Run(ctx, sandbox.CommandRequest{Command: prepareScript, Timeout: 30 * time.Second})
	t1 := time.Now()
	if err != nil {
		return err
	}
	switch res.ExitCode {
	case 0:
	case 127:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "ffmpeg is not installed in the sandbox; recordings need it (Debian package ffmpeg)")
	default:
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox cannot record: %s", firstLine(res.Stderr))
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 2 {
		return sandbox.Errorf(sandbox.CodeInternal, "the sandbox answered the recording set-up unexpectedly")
	}
	r.home = strings.TrimSpace(lines[0])
	sandboxNS, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
	if err != nil || r.home == "" || !strings.HasPrefix(r.home, "/") {
		return sandbox.Errorf(sandbox.CodeInternal, "the sandbox answered the recording set-up unexpectedly")
	}
	// The sandbox's clock minus the server's (0 on the local backend, a VM's
	// drift on e2b), taken at the middle of the round trip.
	offset := time.Unix(0, sandboxNS).Sub(t0.Add(t1.Sub(t0) / 2))

	id := r.info.RecordingID
	r.info.VideoPath = r.home + "/" + Dir + "/" + id + ".mp4"
	r.info.TrajectoryPath = r.home + "/" + Dir + "/" + id + ".jsonl"
	bg, err := r.inst.Run(ctx, sandbox.CommandRequest{Command: ffmpegCommand(r.home, id, r.opts), Background: true})
	if err != nil {
		return err
	}
	r.pid = bg.PID
	res, err = r.inst.Run(ctx, sandbox.CommandRequest{Command: waitScript(r.home, id, r.pid), Timeout: 40 * time.Second})
	if err == nil && res.ExitCode != 0 {
		msg := "ffmpeg did not start recording in time"
		if res.ExitCode == 2 {
			msg = "ffmpeg could not record the screen"
		}
		err = sandbox.Errorf(sandbox.CodeBackendUnavailable, "%s", msg).WithDetail("ffmpeg_log", lastLines(res.Stderr, 5))
	}
	var first time.Time
	if err == nil {
		var ok bool
		if first, ok = parseStart(res.Stdout); !ok {
			err = sandbox.Errorf(sandbox.CodeInternal, "ffmpeg's first frame time could not be read")
		}
	}
	if err != nil {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = r.inst.Run(kctx, sandbox.CommandRequest{Command: "kill -KILL " + strconv.Itoa(r.pid) + " 2>/dev/null; true", Timeout: 5 * time.Second})
		cancel()
		return err
	}
	r.first = first.Add(-offset)
	r.info.StartedAt = r.first
	return nil
}

// Stop stops the sandbox's recording and returns its final Info (video
// length and size, calls, ffmpeg's CPU time). No recording in progress is
// SANDBOX_NOT_FOUND with a message that says so.
func (s *Service) Stop(ctx context.Context, sandboxID string) (*Info, error) {
	s.mu.Lock()
	r := s.active[sandboxID]
	s.mu.Unlock()
	if r == nil {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "no recording is running for sandbox %q", sandboxID).
			WithDetail("sandbox_id", sandboxID)
	}
	return s.finish(ctx, sandboxID, r, ReasonStopped)
}

// finish ends r once (later callers wait for the first and get its Info).
// reason "" means the time limit's timer fired.
func (s *Service) finish(ctx context.Context, sandboxID string, r *rec, reason string) (*Info, error) {
	s.mu.Lock()
	if r.stopping {
		s.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, sandbox.AsError(ctx.Err())
		}
		s.mu.Lock()
		info := r.info
		s.mu.Unlock()
		if info.State != StateStopped {
			return nil, sandbox.Errorf(sandbox.CodeNotFound, "no recording is running for sandbox %q", sandboxID)
		}
		return &info, nil
	}
	r.stopping = true
	if r.timer != nil {
		r.timer.Stop()
	}
	s.mu.Unlock()
	defer close(r.done)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	res, err := r.inst.Run(sctx, sandbox.CommandRequest{Command: stopScript(r.home, r.info.RecordingID, r.pid), Timeout: 45 * time.Second})
	now := time.Now().UTC()

	s.mu.Lock()
	r.info.State, r.info.StoppedAt = StateStopped, &now
	if err != nil || res.ExitCode != 0 {
		// The sandbox is gone or broken: nothing to read back or mirror.
		r.info.StopReason = ReasonDestroyed
	} else {
		kv := fields(res.Stdout)
		r.info.CPUSeconds = cpuSeconds(kv)
		r.info.DurationSeconds, _ = strconv.ParseFloat(kv["duration"], 64)
		r.info.Bytes, _ = strconv.ParseInt(kv["bytes"], 10, 64)
		r.length = time.Duration(r.info.DurationSeconds * float64(time.Second))
		r.info.StopReason = reason
		if kv["state"] == "ended" || reason == "" {
			switch {
			case r.info.DurationSeconds >= r.opts.MaxDuration.Seconds()-2/float64(r.opts.FrameRate):
				r.info.StopReason = ReasonMaxDuration
			case r.info.Bytes >= r.opts.MaxBytes*9/10:
				r.info.StopReason = ReasonMaxBytes
			default:
				r.info.StopReason = ReasonEnded
			}
		}
	}
	if s.active[sandboxID] == r {
		delete(s.active, sandboxID)
		p := append(s.past[sandboxID], r)
		if len(p) > keepPast {
			p = p[len(p)-keepPast:]
		}
		s.past[sandboxID] = p
	}
	close(r.quit)
	info := r.info
	data := s.trajectoryLocked(r)
	s.mu.Unlock()

	if info.StopReason != ReasonDestroyed {
		if werr := r.inst.WriteFile(sctx, info.TrajectoryPath, data); werr != nil {
			s.log.Warn().Err(werr).Str("sandbox_id", sandboxID).Msg("recording: trajectory not written to the sandbox")
		}
	}
	s.log.Info().Str("sandbox_id", sandboxID).Str("recording_id", info.RecordingID).Str("reason", info.StopReason).
		Float64("duration_s", info.DurationSeconds).Int64("bytes", info.Bytes).Int("calls", info.Calls).
		Float64("cpu_s", info.CPUSeconds).Msg("recording stopped")
	return &info, nil
}

// Record adds a finished tool call to the trajectory of the sandbox's
// recording in progress; with none, it does nothing. It never blocks on the
// sandbox.
func (s *Service) Record(sandboxID string, c Call) {
	s.mu.Lock()
	r := s.active[sandboxID]
	if r == nil || r.stopping {
		s.mu.Unlock()
		return
	}
	if len(r.entries) >= maxEntries {
		r.info.DroppedCalls++
		s.mu.Unlock()
		return
	}
	r.entries = append(r.entries, Entry{
		Seq: len(r.entries) + 1, Time: c.Start.UTC(), Tool: c.Tool, Arguments: compact(c.Arguments),
		DurationMS: float64(c.Duration.Microseconds()) / 1e3, IsError: c.IsError, ErrorCode: c.ErrorCode,
		Result: compact(c.Result),
	})
	r.info.Calls = len(r.entries)
	s.mu.Unlock()
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// flusher mirrors the trajectory to the sandbox at most once per flushEvery
// while the recording runs (finish writes the final copy).
func (s *Service) flusher(r *rec) {
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	pending := false
	for {
		select {
		case <-r.quit:
			return
		case <-r.dirty:
			pending = true
		case <-t.C:
			if !pending {
				continue
			}
			pending = false
			s.mu.Lock()
			data, path := s.trajectoryLocked(r), r.info.TrajectoryPath
			s.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := r.inst.WriteFile(ctx, path, data); err != nil {
				s.log.Debug().Err(err).Str("sandbox_id", r.info.SandboxID).Msg("recording: trajectory mirror failed")
			}
			cancel()
		}
	}
}

// trajectoryLocked renders r's trajectory as JSON lines, in the order the
// calls arrived (Record sees them as they end: a long call ends after a
// short one that came later).
func (s *Service) trajectoryLocked(r *rec) []byte {
	sort.SliceStable(r.entries, func(i, j int) bool { return r.entries[i].Time.Before(r.entries[j].Time) })
	for i := range r.entries {
		r.entries[i].Seq = i + 1
		r.entries[i].place(r.first, r.opts.FrameRate, r.length)
	}
	return encode(r.entries)
}

func (s *Service) find(sandboxID, recordingID string) *rec {
	if r := s.active[sandboxID]; r != nil && r.info.RecordingID == recordingID && !r.info.StartedAt.IsZero() {
		return r
	}
	for _, r := range s.past[sandboxID] {
		if r.info.RecordingID == recordingID {
			return r
		}
	}
	return nil
}

// Trajectory returns a recording's trajectory (JSON lines) and Info from the
// server's own copy. An unknown recording is SANDBOX_NOT_FOUND.
func (s *Service) Trajectory(sandboxID, recordingID string) ([]byte, *Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(sandboxID, recordingID)
	if r == nil {
		return nil, nil, sandbox.Errorf(sandbox.CodeNotFound, "sandbox %q has no recording %q", sandboxID, recordingID).
			WithDetail("sandbox_id", sandboxID).WithDetail("recording_id", recordingID)
	}
	info := r.info
	return s.trajectoryLocked(r), &info, nil
}

// Get returns one recording's Info.
func (s *Service) Get(sandboxID, recordingID string) (*Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(sandboxID, recordingID)
	if r == nil {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "sandbox %q has no recording %q", sandboxID, recordingID).
			WithDetail("sandbox_id", sandboxID).WithDetail("recording_id", recordingID)
	}
	info := r.info
	return &info, nil
}

// List returns the sandbox's recordings, oldest first (the one in progress
// last).
func (s *Service) List(sandboxID string) []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, r := range s.past[sandboxID] {
		out = append(out, r.info)
	}
	if r := s.active[sandboxID]; r != nil && !r.info.StartedAt.IsZero() {
		out = append(out, r.info)
	}
	return out
}

// Progress is how far a recording in progress has come.
type Progress struct {
	Frames     int     `json:"frames"`      // encoded so far (updated twice a second)
	CPUSeconds float64 `json:"cpu_seconds"` // ffmpeg's user + system time so far
}

// Progress reads the sandbox's recording in progress.
func (s *Service) Progress(ctx context.Context, sandboxID string) (Progress, error) {
	s.mu.Lock()
	r := s.active[sandboxID]
	s.mu.Unlock()
	if r == nil || r.pid == 0 {
		return Progress{}, sandbox.Errorf(sandbox.CodeNotFound, "no recording is running for sandbox %q", sandboxID)
	}
	res, err := r.inst.Run(ctx, sandbox.CommandRequest{Command: progressScript(r.home, r.info.RecordingID, r.pid), Timeout: 10 * time.Second})
	if err != nil {
		return Progress{}, sandbox.AsError(err)
	}
	kv := fields(res.Stdout)
	n, _ := strconv.Atoi(kv["frames"])
	return Progress{Frames: n, CPUSeconds: cpuSeconds(kv)}, nil
}

// Forget drops everything about a destroyed sandbox: its recording in
// progress ends (its ffmpeg died with it) and its history is forgotten.
func (s *Service) Forget(sandboxID string) {
	s.mu.Lock()
	r := s.active[sandboxID]
	delete(s.active, sandboxID)
	delete(s.past, sandboxID)
	if r != nil && !r.stopping {
		r.stopping = true
		if r.timer != nil {
			r.timer.Stop()
		}
		now := time.Now().UTC()
		r.info.State, r.info.StopReason, r.info.StoppedAt = StateStopped, ReasonDestroyed, &now
		close(r.quit)
		close(r.done)
	}
	s.mu.Unlock()
}

// Close forgets every recording and refuses new ones (the sandboxes, and
// their ffmpeg with them, are destroyed by the Manager).
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	var ids []string
	for id := range s.active {
		ids = append(ids, id)
	}
	for id := range s.past {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.Forget(id)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
