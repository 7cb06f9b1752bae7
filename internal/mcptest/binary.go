package mcptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BuildServer builds the vmservice binary into dir and returns its path.
func BuildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "vmservice")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vmservice/vmservice")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building vmservice: %w", err)
	}
	return bin, nil
}

// FreeAddr is a loopback address with a port free right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Binary is a running server binary whose stderr (its log) is kept.
type Binary struct {
	Cmd *exec.Cmd
	URL string // set by StartHTTP

	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
	err    error
}

// Run starts bin with args.
func Run(bin string, args ...string) (*Binary, error) {
	b := &Binary{Cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	b.Cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.mu.Lock()
			b.log.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
		}
	}()
	if err := b.Cmd.Start(); err != nil {
		pw.Close()
		return nil, err
	}
	go func() { b.err = b.Cmd.Wait(); pw.Close(); close(b.exited) }()
	return b, nil
}

// Log is what the binary wrote to stderr so far.
func (b *Binary) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

// Exited is closed when the process has exited; Err is then its exit error.
func (b *Binary) Exited() <-chan struct{} { return b.exited }

// Err is the process's exit error (valid once Exited is closed).
func (b *Binary) Err() error { return b.err }

// Stop sends SIGTERM unless the process is gone, and kills it after grace.
func (b *Binary) Stop(grace time.Duration) {
	select {
	case <-b.exited:
		return
	default:
	}
	_ = b.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(grace):
		_ = b.Cmd.Process.Kill()
		<-b.exited
	}
}

// WaitHealthy polls URL/healthz until it answers 200, the process exits or
// d passes.
func (b *Binary) WaitHealthy(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if r, err := http.Get(b.URL + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-b.exited:
			return fmt.Errorf("the server exited (%v) before /healthz answered", b.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server's /healthz did not answer within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartHTTP runs bin with --transport http on a free loopback port, the
// bearer tokens of tokensFile and a JSON debug log, then extra (flags given
// again in extra win), and waits for /healthz.
func StartHTTP(bin, tokensFile string, extra ...string) (*Binary, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--transport", "http", "--listen", addr, "--tokens-file", tokensFile,
		"--stream-listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}, extra...)
	b, err := Run(bin, args...)
	if err != nil {
		return nil, err
	}
	b.URL = "http://" + addr
	if err := b.WaitHealthy(30 * time.Second); err != nil {
		b.Stop(10 * time.Second)
		return nil, fmt.Errorf("%w; its log:\n%s", err, b.Log())
	}
	return b, nil
}

// StartHTTPT is StartHTTP for a test, with tokens (a --tokens-file's text)
// in a file of its own. At the end of the test the server gets SIGTERM
// (SIGKILL after a minute) and, if the test failed, its log is shown.
func StartHTTPT(t testing.TB, bin, tokens string, extra ...string) *Binary {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(f, []byte(tokens), 0o600))
	b, err := StartHTTP(bin, f, extra...)
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Stop(time.Minute)
		if t.Failed() {
			t.Logf("server log:\n%s", b.Log())
		}
	})
	return b
}
