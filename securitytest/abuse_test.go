package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bystander keeps calling bob's sandbox while an abuse runs next door and
// counts calls that failed.
type bystander struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	ok     atomic.Int64
	failed atomic.Int64
	last   atomic.Value
}

func watch(t *testing.T, bob *mcpc, id string) *bystander {
	b := &bystander{stop: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			res, err := bob.CallCtx(ctx, "run_command", map[string]any{"sandbox_id": id, "command": "echo " + strconv.Itoa(i), "timeout": 60})
			cancel()
			switch {
			case err != nil:
				b.failed.Add(1)
				b.last.Store(err.Error())
			case res.IsError || !strings.Contains(text(res), strconv.Itoa(i)):
				b.failed.Add(1)
				b.last.Store(text(res))
			default:
				b.ok.Add(1)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return b
}

func (b *bystander) done(t *testing.T, what string) {
	t.Helper()
	close(b.stop)
	b.wg.Wait()
	assert.Zero(t, b.failed.Load(), "%s: the other tenant's calls failed (last: %v)", what, b.last.Load())
	assert.Positive(t, b.ok.Load(), "%s: the other tenant made no call", what)
}

// TestResourceAbuse: one tenant abuses its sandbox in every way the issue
// lists; each abuse ends with a clear error or a bounded result, and the
// other tenant's calls keep working throughout.
func TestResourceAbuse(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	bob := connectHTTP(t, e.URL, bobToken)
	v := alice.create(map[string]any{"memory_mb": 512, "cpu_count": 1})
	w := bob.create(nil)

	abuse := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			b := watch(t, bob, w)
			fn(t)
			b.done(t, name)
			// The abuser's own sandbox still answers afterwards.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := alice.CallCtx(ctx, "run_command", map[string]any{"sandbox_id": v, "command": "echo alive", "timeout": 60})
			require.NoError(t, err)
			assert.Contains(t, text(res), "alive", "after %s", name)
		})
	}
	alice = alice.as(t)

	abuse("fork bomb", func(t *testing.T) {
		res := alice.as(t).OK("run_command", map[string]any{"sandbox_id": v, "timeout": 10,
			"command": `bomb() { bomb | bomb & }; bomb; sleep 30`})
		assert.True(t, res["timed_out"] == true || res["exit_code"].(float64) != 0, "%v", res)
		// pids.max bounds it, and the timeout took the whole group down.
		eventually(t, "the fork bomb to be gone", 60*time.Second, func() bool {
			out := alice.as(t).sh(v, "ps -e --no-headers | wc -l", 30)
			n, _ := strconv.Atoi(strings.TrimSpace(out["stdout"].(string)))
			return n < 30
		})
	})

	abuse("memory hog", func(t *testing.T) {
		res := alice.as(t).OK("run_command", map[string]any{"sandbox_id": v, "timeout": 60,
			"command": `perl -e '$x = "a" x (3 * 1024 * 1024 * 1024); print "allocated\n"'`})
		assert.NotEqual(t, 0.0, res["exit_code"], "a 3 GiB allocation in a 512 MiB sandbox must fail: %v", res)
		assert.NotContains(t, res["stdout"], "allocated")
	})

	abuse("disk filler", func(t *testing.T) {
		a := alice.as(t)
		for _, dir := range []string{"/home/user", "/tmp"} {
			size := a.sh(v, "df -B1M --output=size "+dir+" | tail -1", 10)["stdout"].(string)
			mb, err := strconv.Atoi(strings.TrimSpace(size))
			require.NoError(t, err, size)
			// A quota must exist before filling, or this would fill the host.
			require.LessOrEqual(t, mb, 4096, "%s has no per-sandbox quota (%d MiB): a filler would fill the host", dir, mb)
			res := a.OK("run_command", map[string]any{"sandbox_id": v, "timeout": 120,
				"command": "dd if=/dev/zero of=" + dir + "/fill bs=1M count=" + strconv.Itoa(mb+64) + " 2>&1; echo rc=$?"})
			assert.Contains(t, res["stdout"], "No space left", "%s: %v", dir, res)
			a.sh(v, "rm -f "+dir+"/fill", 30)
		}
	})

	abuse("endless command", func(t *testing.T) {
		res := alice.as(t).OK("run_command", map[string]any{"sandbox_id": v, "command": "sleep 100000", "timeout": 2})
		assert.Equal(t, true, res["timed_out"])
		assert.Equal(t, 124.0, res["exit_code"])
		out := alice.as(t).sh(v, "pgrep -c -f 'slee[p] 100000' || true", 10)
		assert.Equal(t, "0", strings.TrimSpace(out["stdout"].(string)))
	})

	abuse("gigabytes of output", func(t *testing.T) {
		res := alice.as(t).OK("run_command", map[string]any{"sandbox_id": v, "timeout": 30,
			"command": "head -c 3000000000 /dev/zero | tr '\\0' x; head -c 100000000 /dev/zero | tr '\\0' y >&2"})
		assert.Equal(t, true, res["truncated"])
		assert.LessOrEqual(t, len(res["stdout"].(string)), 1<<20)
		assert.LessOrEqual(t, len(res["stderr"].(string)), 1<<20)
	})

	abuse("oversized arguments", func(t *testing.T) {
		a := alice.as(t)
		a.Fails("INVALID_ARGUMENT", "type_text", map[string]any{"sandbox_id": v, "text": strings.Repeat("x", 1_000_000)})
		a.Fails("INVALID_ARGUMENT", "run_command", map[string]any{"sandbox_id": v, "command": strings.Repeat("x", 1_000_000)})
		steps := make([]any, 10000)
		for i := range steps {
			steps[i] = map[string]any{"action": "move_mouse", "x": 1, "y": 1}
		}
		a.Fails("INVALID_ARGUMENT", "run_actions", map[string]any{"sandbox_id": v, "steps": steps})
		for _, s := range []string{"99999x99999", "100000x1", "0x0", "1x1"} {
			a.Fails("INVALID_ARGUMENT", "screenshot", map[string]any{"sandbox_id": v, "scale_to": s})
		}
		a.Fails("INVALID_ARGUMENT", "screenshot", map[string]any{"sandbox_id": v,
			"region": map[string]any{"x": 0, "y": 0, "width": 1 << 30, "height": 1 << 30}})
		// The largest allowed scale is bounded (3840x2160).
		big := a.OK("screenshot", map[string]any{"sandbox_id": v, "scale_to": "3840x2160", "format": "jpeg"})
		assert.EqualValues(t, 3840, big["width"])
		a.Fails("INVALID_ARGUMENT", "computer", map[string]any{"sandbox_id": v, "action": "zoom", "region": []int{0, 0, 1 << 30, 1 << 30}})
		a.Fails("INVALID_ARGUMENT", "create_sandbox", map[string]any{"memory_mb": 1 << 30})
		a.Fails("INVALID_ARGUMENT", "create_sandbox", map[string]any{"cpu_count": 1000})
		a.Fails("INVALID_ARGUMENT", "set_sandbox_timeout", map[string]any{"sandbox_id": v, "timeout_seconds": 1 << 40})
		a.Fails("INVALID_ARGUMENT", "run_command", map[string]any{"sandbox_id": v, "command": "true", "timeout": 1 << 40})
	})

	abuse("100 MB write", func(t *testing.T) {
		// Over HTTP the body is refused before it is decoded.
		content := strings.Repeat("A", 100<<20)
		body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": map[string]any{
			"name": "write_file", "arguments": map[string]any{"sandbox_id": v, "path": "big", "content": content}}})
		require.NoError(t, err)
		hdr := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "write_file"}
		for k, val := range modernHdr {
			hdr[k] = val
		}
		status, resp := rpc(t, e.URL, aliceToken, bytes.NewReader(body), hdr)
		assert.True(t, status == 413 || status == 400, "status %d: %.300s", status, resp)
		alive(t, e.URL)
		out := alice.as(t).sh(v, "ls -l big 2>&1 || true", 10)
		assert.Contains(t, out["stdout"], "No such file")
	})
}

// TestRunActionsAnswerIsBounded: run_actions keeps every step's screenshot
// for its answer; on a screen of noise (PNG barely compresses it) 200 of
// them would be gigabytes in the server's memory. The run stops with a
// clear error once the images pass the bound.
func TestRunActionsAnswerIsBounded(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(map[string]any{"resolution": "1920x1080", "memory_mb": 1024})
	alice.sh(id, "head -c $((1920*1080*3)) /dev/urandom > /tmp/n.rgb && "+
		"(display -size 1920x1080 -depth 8 -geometry +0+0 -backdrop rgb:/tmp/n.rgb >/dev/null 2>&1 &)", 60)
	// The screen must be noise, else this proves nothing; a busy machine
	// takes its time to map and draw the window, so wait for the state.
	eventually(t, "a screen of noise (a PNG over 2 MB)", 3*time.Minute, func() bool {
		one := alice.OK("screenshot", map[string]any{"sandbox_id": id})
		return one["bytes"].(float64) > 2e6
	})
	steps := make([]any, 200)
	for i := range steps {
		steps[i] = map[string]any{"action": "screenshot"}
	}
	res := alice.OK("run_actions", map[string]any{"sandbox_id": id, "steps": steps, "screenshot_after": false})
	require.NotNil(t, res["stopped_at"], "the run stops at the bound")
	results := res["results"].([]any)
	last := results[len(results)-1].(map[string]any)
	assert.Equal(t, "INVALID_ARGUMENT", last["error"].(map[string]any)["error_code"])
	assert.Less(t, len(results), 60)
}

// TestListFilesIsBounded: a directory of very many files (cheap to make on
// a tmpfs) is refused by list_files with a clear error instead of becoming
// hundreds of megabytes in the server; smaller ones list in full.
func TestListFilesIsBounded(t *testing.T) {
	e := server(t)
	alice := connectHTTP(t, e.URL, aliceToken)
	id := alice.create(nil)
	alice.sh(id, "mkdir -p /tmp/many /tmp/some && cd /tmp/many && seq -f 'f%07g' 1 12000 | xargs touch && cd /tmp/some && seq 1 500 | xargs touch", 120)
	res := alice.Fails("INVALID_ARGUMENT", "list_files", map[string]any{"sandbox_id": id, "path": "/tmp/many"})
	assert.Contains(t, res["message"], "more than")
	some := alice.OK("list_files", map[string]any{"sandbox_id": id, "path": "/tmp/some"})
	assert.Len(t, some["entries"], 500)
	empty := alice.OK("list_files", map[string]any{"sandbox_id": id, "path": "/tmp/runtime-user"})
	assert.Empty(t, empty["entries"])
}
