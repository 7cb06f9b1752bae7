package recording

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Dir is where recordings go inside the sandbox, under its home: on its own
// disk, within its quota, readable with read_file and gone with the sandbox.
const Dir = "recordings"

// crf per quality: libx264's constant-rate factor (lower is better and
// larger). Desktop text stays readable at medium.
var crf = map[string]int{QualityLow: 35, QualityMedium: 28, QualityHigh: 20}

// prepareScript checks that ffmpeg is there, makes the directory and prints
// the home directory and the sandbox's clock (nanoseconds), so that the
// video's timestamps (sandbox clock) can be put on the server's clock.
const prepareScript = `command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg is not installed in the sandbox" >&2; exit 127; }
[ -n "$DISPLAY" ] || { echo "the sandbox has no display" >&2; exit 3; }
mkdir -p "$HOME/` + Dir + `" || exit 4
printf '%s\n' "$HOME"
date +%s%N`

// ffmpegCommand is the background command that records: x11grab of the
// whole screen at a constant frame rate, H.264 in fragmented MP4 (a file cut
// short by a kill or a full disk still plays up to its last fragment, one
// per second), bounded by -t and -fs. The muxer holds a fragment until it is
// complete, so -fs can be passed by up to a second of video. It runs niced, so the desktop's
// own programs come first when the sandbox's CPU share is tight. exec keeps
// the pid: it is ffmpeg's. Progress (frames encoded so far) goes to
// <id>.progress twice a second.
func ffmpegCommand(home, id string, o Options) string {
	base := home + "/" + Dir + "/" + id
	args := []string{
		"exec nice -n 10 ffmpeg -nostdin -hide_banner -nostats -loglevel info",
		"-f x11grab -draw_mouse 1 -framerate", strconv.Itoa(o.FrameRate), `-i "$DISPLAY"`,
		"-t", strconv.Itoa(int(o.MaxDuration / time.Second)), "-fs", strconv.FormatInt(o.MaxBytes, 10),
		// libx264 wants even sizes; a 1366x768 screen is, an odd one is cropped by a pixel.
		`-vf "crop=trunc(iw/2)*2:trunc(ih/2)*2"`, "-fps_mode cfr",
		"-c:v libx264 -preset ultrafast -tune zerolatency -crf", strconv.Itoa(crf[o.Quality]),
		"-g", strconv.Itoa(2 * o.FrameRate), "-pix_fmt yuv420p",
		"-movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 1000000 -f mp4 -y",
		"-progress", quoteSimple(base + ".progress"),
		quoteSimple(base + ".mp4"), "2>" + quoteSimple(base+".log"),
	}
	return strings.Join(args, " ")
}

// waitScript waits (inside the sandbox, up to 20 s) until ffmpeg has
// grabbed its first frame and prints the "start:" of its input, which for
// x11grab is the wall-clock time of that frame. Exit 2: ffmpeg ended first.
func waitScript(home, id string, pid int) string {
	log := quoteSimple(home + "/" + Dir + "/" + id + ".log")
	return fmt.Sprintf(`for i in $(seq 200); do
  s=$(grep -m1 -o 'start: [0-9.]*' %[1]s 2>/dev/null) && { echo "$s"; exit 0; }
  kill -0 %[2]d 2>/dev/null || { tail -n 5 %[1]s >&2; exit 2; }
  sleep 0.1
done
exit 1`, log, pid)
}

// stopScript stops ffmpeg (SIGINT: it finishes the file cleanly), having
// read the CPU time it used, then reports the video's length and size:
//
//	state stopped|ended
//	cpu_ticks N
//	clk_tck N
//	duration S
//	bytes N
func stopScript(home, id string, pid int) string {
	file := quoteSimple(home + "/" + Dir + "/" + id + ".mp4")
	return fmt.Sprintf(`pid=%[2]d
if kill -0 $pid 2>/dev/null; then
  echo "cpu_ticks $(awk '{print $14+$15}' /proc/$pid/stat 2>/dev/null)"
  echo "clk_tck $(getconf CLK_TCK)"
  kill -INT $pid
  for i in $(seq 150); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -0 $pid 2>/dev/null && kill -KILL $pid
  echo "state stopped"
else
  echo "state ended"
fi
echo "duration $(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 %[1]s 2>/dev/null)"
echo "bytes $(stat -c %%s %[1]s 2>/dev/null)"`, file, pid)
}

// progressScript reads the CPU time ffmpeg has used and the frames it has
// encoded so far.
func progressScript(home, id string, pid int) string {
	return fmt.Sprintf(`echo "cpu_ticks $(awk '{print $14+$15}' /proc/%[1]d/stat 2>/dev/null)"
echo "clk_tck $(getconf CLK_TCK)"
echo "frames $(grep -o '^frame=[0-9]*' %[2]s 2>/dev/null | tail -n 1 | cut -d= -f2)"`,
		pid, quoteSimple(home+"/"+Dir+"/"+id+".progress"))
}

// quoteSimple single-quotes s for bash; the paths quoted here are the
// sandbox's home plus names this package makes.
func quoteSimple(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var startRE = regexp.MustCompile(`start: ([0-9]+)\.([0-9]+)`)

// parseStart reads ffmpeg's "start: 1796013459.866399" (seconds.micros).
func parseStart(out string) (time.Time, bool) {
	m := startRE.FindStringSubmatch(out)
	if m == nil {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	frac := (m[2] + "000000000")[:9]
	ns, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(sec, ns).UTC(), true
}

// fields reads "key value" lines.
func fields(out string) map[string]string {
	kv := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), " ")
		if ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	return kv
}

// cpuSeconds turns cpu_ticks / clk_tck into seconds (0 when unknown).
func cpuSeconds(kv map[string]string) float64 {
	ticks, err1 := strconv.ParseFloat(kv["cpu_ticks"], 64)
	hz, err2 := strconv.ParseFloat(kv["clk_tck"], 64)
	if err1 != nil || err2 != nil || hz <= 0 {
		return 0
	}
	return ticks / hz
}
