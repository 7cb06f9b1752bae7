package recording

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Call is one tool call on a sandbox, as the MCP layer saw it.
type Call struct {
	Tool      string
	Arguments json.RawMessage // the call's arguments (long strings are cut when stored)
	Start     time.Time       // when the call arrived (server clock)
	Duration  time.Duration
	IsError   bool
	ErrorCode string          // the *sandbox.Error code of a failed call
	Result    json.RawMessage // a summary of the result (long strings are cut when stored)
}

// Entry is one line of a trajectory (JSON lines, one object per call, in
// the order the calls arrived).
type Entry struct {
	Seq        int             `json:"seq"`
	Time       time.Time       `json:"time"`
	Tool       string          `json:"tool"`
	Arguments  json.RawMessage `json:"arguments,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	IsError    bool            `json:"is_error"`
	ErrorCode  string          `json:"error_code,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	// VideoTime is when the call arrived, in seconds of the video; Frame is
	// the frame shown then (VideoTime x frame rate). Both are absent for a
	// call made before the first frame or after the video ended.
	VideoTime *float64 `json:"video_time_s,omitempty"`
	Frame     *int     `json:"frame,omitempty"`
}

const (
	// maxString bounds each string kept in a trajectory's arguments and
	// results (typed text, file content, base64 images are cut).
	maxString = 512
	// maxEntries bounds one trajectory; later calls are counted, not kept.
	maxEntries = 10000
)

// compact parses raw JSON and cuts every string longer than maxString, so a
// 10 MB write_file or a screenshot does not end up in the trajectory.
// Invalid JSON is kept as a (cut) string.
func compact(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		v = string(raw)
	}
	out, err := json.Marshal(cut(v))
	if err != nil {
		return nil
	}
	return out
}

func cut(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) <= maxString {
			return x
		}
		n := maxString
		for n > 0 && !utf8.RuneStart(x[n]) {
			n--
		}
		return x[:n] + fmt.Sprintf("…(%d bytes)", len(x))
	case []any:
		for i := range x {
			x[i] = cut(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = cut(x[k])
		}
	}
	return v
}

// place sets the entry's video time and frame from the time of the first
// frame (server clock), the frame rate and, once known, the video's length.
func (e *Entry) place(first time.Time, fps int, length time.Duration) {
	e.VideoTime, e.Frame = nil, nil
	if first.IsZero() {
		return
	}
	d := e.Time.Sub(first)
	if d < 0 || (length > 0 && d > length) {
		return
	}
	s := math.Round(d.Seconds()*1e3) / 1e3
	f := int(d.Seconds() * float64(fps))
	e.VideoTime, e.Frame = &s, &f
}

// encode writes entries as JSON lines.
func encode(entries []Entry) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i := range entries {
		_ = enc.Encode(&entries[i])
	}
	return b.Bytes()
}
