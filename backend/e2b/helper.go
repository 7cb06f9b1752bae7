package e2b

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/helperproto"
	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/internal/helperbin"
	"github.com/vmservice/vmservice/sandbox"
)

// The helper binary: the one built into this binary (internal/helperbin,
// made by `make build`); Options.HelperPath (VMSERVICE_E2B_HELPER) to use
// another. A `go build` or `go test` that skipped `go generate` embeds none:
// then, in a checkout with the Go toolchain, it is built on first use.
var (
	helperOnce sync.Once
	helperBin  []byte
	helperErr  error
)

func helperBinary(path string) ([]byte, error) {
	if path != "" {
		return os.ReadFile(path)
	}
	if b := helperbin.Binary(); b != nil {
		return b, nil
	}
	helperOnce.Do(func() { helperBin, helperErr = buildHelper() })
	return helperBin, helperErr
}

func buildHelper() ([]byte, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return nil, errors.New("this binary carries no e2b helper (built without `make build`) and there is no Go toolchain or module here to build cmd/vmhelper; set VMSERVICE_E2B_HELPER")
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "vmservice")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "vmhelper-*")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), "./cmd/vmhelper")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building cmd/vmhelper: %v: %s", err, out)
	}
	return os.ReadFile(tmp.Name())
}

// helper is the running vmhelper of one sandbox.
type helper struct {
	in     *Instance
	stream *procStream
	cancel context.CancelFunc

	closeOnce sync.Once

	mu      sync.Mutex // one request in flight
	nextID  uint64
	replies chan helperproto.Reply
	dead    chan struct{}
	deadErr error
}

// startHelper uploads the helper and starts it as a long-lived process.
func (in *Instance) startHelper(ctx context.Context) (*helper, error) {
	bin, err := helperBinary(in.p.opts.HelperPath)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bin)
	p := "/tmp/.vmhelper-" + hex.EncodeToString(sum[:6])
	// Uploaded beside its final name and renamed over it: another
	// replica's helper may be running that file, and writing into a
	// running executable fails ("text file busy"); a rename does not.
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	up := p + "." + hex.EncodeToString(nonce[:])
	if err := in.envd.uploadGzip(ctx, up, bin); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	yes := true
	s, err := in.envd.start(sctx, envd.StartRequest{Stdin: &yes, Process: envd.ProcessConfig{
		Cmd: "/bin/sh", Args: []string{"-c", "chmod 755 " + up + " && mv -f " + up + " " + p + " && exec " + p},
		Envs: map[string]string{"DISPLAY": in.display}}}, 0)
	if err != nil {
		cancel()
		return nil, err
	}
	h := &helper{in: in, stream: s, cancel: cancel, replies: make(chan helperproto.Reply, 1), dead: make(chan struct{})}
	go h.read()
	hctx, hcancel := context.WithTimeout(ctx, 20*time.Second)
	defer hcancel()
	if _, err := h.call(hctx, helperproto.Request{Op: helperproto.OpHello}); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// read feeds the stream's stdout to parse through a pipe and records why
// the helper stopped.
func (h *helper) read() {
	pr, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() { parsed <- h.parse(pr) }()
	var stderr bytes.Buffer
	var err error
	for {
		var ev *envd.ProcessEvent
		if ev, err = h.stream.next(); err != nil {
			err = fmt.Errorf("helper stream ended: %v", err)
			break
		}
		if ev.End != nil {
			err = fmt.Errorf("helper exited (code %d): %s", ev.End.ExitCode, strings.TrimSpace(stderr.String()))
			break
		}
		if ev.Data == nil {
			continue
		}
		if len(ev.Data.Stderr) > 0 && stderr.Len() < 4096 {
			stderr.Write(ev.Data.Stderr)
		}
		if len(ev.Data.Stdout) > 0 {
			if _, werr := pw.Write(ev.Data.Stdout); werr != nil {
				err = <-parsed
				break
			}
		}
	}
	pw.CloseWithError(err)
	h.deadErr = err
	close(h.dead)
}

// parse hands replies to callers until the helper's output ends or breaks.
func (h *helper) parse(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		rep, err := helperproto.ReadReply(br)
		if err != nil {
			err = fmt.Errorf("helper sent a bad reply: %v", err)
			if pr, ok := r.(*io.PipeReader); ok {
				pr.CloseWithError(err)
			}
			return err
		}
		select {
		case h.replies <- rep:
		case <-time.After(time.Minute): // nobody waiting (the caller gave up)
		}
	}
}

func (h *helper) alive() bool {
	select {
	case <-h.dead:
		return false
	default:
		return true
	}
}

// call sends one request and waits for its reply.
func (h *helper) call(ctx context.Context, q helperproto.Request) (helperproto.Reply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.alive() {
		return helperproto.Reply{}, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the desktop helper is not running").WithCause(h.deadErr)
	}
	h.nextID++
	q.ID = h.nextID
	line, err := json.Marshal(q)
	if err != nil {
		return helperproto.Reply{}, sandbox.AsError(err)
	}
	if err := h.in.envd.sendInput(ctx, h.stream.pid, append(line, '\n')); err != nil {
		return helperproto.Reply{}, err
	}
	for {
		select {
		case r := <-h.replies:
			if r.ID != q.ID { // a reply to a call that timed out earlier
				continue
			}
			if r.Err != nil {
				return r, r.Err
			}
			return r, nil
		case <-h.dead:
			return helperproto.Reply{}, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the desktop helper stopped").WithCause(h.deadErr)
		case <-ctx.Done():
			return helperproto.Reply{}, sandbox.AsError(ctx.Err())
		}
	}
}

func (h *helper) close() {
	h.closeOnce.Do(h.doClose)
}

func (h *helper) doClose() {
	if h.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.in.envd.signal(ctx, h.stream.pid, envd.SIGKILL)
		cancel()
	}
	h.cancel()
	h.stream.close()
}

func (in *Instance) closeHelper() {
	in.mu.Lock()
	h := in.helper
	in.mu.Unlock()
	if h != nil {
		h.close()
	}
}
