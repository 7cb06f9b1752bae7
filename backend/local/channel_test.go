package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestLineReaderBounds(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // spans the 64 KiB buffer
	l := newLineReader(strings.NewReader("short\n"+long+"\n"+"eleven byte\n"+"cut"), 100<<10)
	for _, want := range []string{"short", long, "eleven byte"} {
		got, err := l.next()
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := l.next()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a message cut short")

	l = newLineReader(strings.NewReader("0123456789"+"A\n"), 10)
	_, err = l.next()
	assert.ErrorIs(t, err, errLineTooLong)
	// Never more than the limit in memory, however long the line.
	l = newLineReader(io.MultiReader(strings.NewReader("{"), &zeros{n: 1 << 30}), 1<<20)
	_, err = l.next()
	assert.ErrorIs(t, err, errLineTooLong)
	assert.LessOrEqual(t, cap(l.buf), 4<<20)
}

type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	clear(p[:n])
	z.n -= n
	return n, nil
}

// The agent channel is read at most at the rate after the burst: reading
// 250 bytes at 100 B/s with a burst of 50 waits at least 2 s (on a fake
// clock).
func TestRateReader(t *testing.T) {
	now := time.Unix(1000, 0)
	var slept time.Duration
	r := &rateReader{r: &zeros{n: 250}, rate: 100, burst: 50,
		now: func() time.Time { return now }, sleep: func(d time.Duration) { slept += d; now = now.Add(d) }}
	n, err := io.Copy(io.Discard, r)
	require.NoError(t, err)
	assert.EqualValues(t, 250, n)
	assert.GreaterOrEqual(t, slept, 2*time.Second-10*time.Millisecond)
	assert.Less(t, slept, 3*time.Second)
}

// agentPipe opens, as root from the host, the pipe the sandbox's agent
// writes its messages to: what a subverted agent would write.
func agentPipe(t *testing.T, in *Instance) *os.File {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(in.childPID)+"/fd/"+strconv.Itoa(agentOutFD), os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// A hostile agent (here: someone writing into its channel) is cut off: a
// message over the size limit or one that is not JSON gets the agent
// killed (and the sandbox restarted with a fresh one, the reason logged),
// and the server never holds more than the limit of it.
func TestHostileAgentIsCutOff(t *testing.T) {
	old := maxAgentLine
	maxAgentLine = 1 << 20
	t.Cleanup(func() { maxAgentLine = old })
	p := newTestProvider(t)
	for _, tc := range []struct {
		name string
		data func(w io.Writer) error
	}{
		{"endless message", func(w io.Writer) error {
			_, err := io.Copy(w, io.MultiReader(strings.NewReader(`{"ev":"out","data":"`), &zeros{n: 256 << 20}))
			return err
		}},
		{"not JSON", func(w io.Writer) error {
			_, err := w.Write([]byte("{\"ev\":\"out\",\"pid\":1}\nnot json\n"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newTestInstance(t, p, nil)
			require.NoError(t, in.Alive(context.Background()))
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			w := agentPipe(t, in)
			werr := make(chan error, 1)
			go func() { werr <- tc.data(w) }()
			select {
			case <-in.ag.dead:
			case <-time.After(60 * time.Second):
				t.Fatal("the agent was not cut off")
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			assert.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(32<<20), "the server held the hostile message")
			w.Close()
			if tc.name == "endless message" {
				assert.Error(t, <-werr, "the writer was cut off too (the pipe closed)")
			}
			require.Eventually(t, func() bool { return in.Restarts() == 1 && in.Alive(context.Background()) == nil },
				60*time.Second, 50*time.Millisecond, "restarted with a fresh agent")
			_, cause := in.restarts()
			assert.Contains(t, cause, "the agent was cut off")
			_, err := in.ReadFile(context.Background(), "/etc/hostname", 0)
			assert.NoError(t, err)
		})
	}
}

// Every agent request has a deadline, also when its context has none: an
// agent that never answers (stopped here) makes the call fail with
// TIMEOUT, and the sandbox works again once it answers.
func TestAgentRequestsHaveDeadlines(t *testing.T) {
	old := callTimeout
	callTimeout = 2 * time.Second
	t.Cleanup(func() { callTimeout = old })
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	require.NoError(t, syscall.Kill(in.childPID, syscall.SIGSTOP))
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = syscall.Kill(in.childPID, syscall.SIGCONT)
		}
	})
	done := make(chan error, 1)
	go func() {
		err := in.WriteFile(context.Background(), "/home/user/never.txt", []byte("x"))
		done <- err
	}()
	select {
	case err := <-done:
		assert.Equal(t, sandbox.CodeTimeout, sandbox.CodeOf(err), "%v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("a file operation on a stopped agent never returned")
	}
	require.NoError(t, syscall.Kill(in.childPID, syscall.SIGCONT))
	stopped = false
	b, err := in.ReadFile(context.Background(), "/etc/hostname", 0)
	require.NoError(t, err)
	assert.NotEmpty(t, bytes.TrimSpace(b))
	assert.False(t, errors.Is(in.Alive(context.Background()), context.DeadlineExceeded))
	require.NoError(t, in.Alive(context.Background()))
}

// BenchmarkAgentReader: what reading an agent's output costs the server
// (JSON lines of 32 KiB base64 chunks, as the agent sends them), without
// the rate limit: with it, a hostile agent gets at most agentRate of this.
func BenchmarkAgentReader(b *testing.B) {
	chunk := make([]byte, agentChunk)
	line, _ := json.Marshal(&message{Ev: evOut, PID: 7, Stream: "stdout", Data: chunk})
	line = append(line, '\n')
	data := bytes.Repeat(line, 256) // 8 MiB of output
	old := agentRate
	agentRate = 1 << 40
	defer func() { agentRate = old }()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &agentClient{pending: map[uint64]*pendingCall{}, procs: map[int]*Process{}, exited: map[int]bool{}, watch: map[int]bool{}}
		p := &Process{pid: 7, done: make(chan struct{}), onOutput: func(string, []byte) {}}
		c.procs[7] = p
		if err := c.read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
