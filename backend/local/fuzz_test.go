package local

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/sandbox"
)

// FuzzResolvePath: sandbox path resolution (the file tools' and cwd's)
// gives a clean absolute path or INVALID_ARGUMENT, and a path judged
// writable is inside the home, /tmp or the working directory, whatever
// "..", slashes or NULs the caller sends.
func FuzzResolvePath(f *testing.F) {
	for _, s := range []string{"", ".", "..", "../../etc/shadow", "/etc/passwd", "a/../../b", "/home/user/../../x",
		"/home/userx/y", "/tmp/../etc", "//tmp//a", "a\x00b", "/home/user/./.././user/f", strings.Repeat("../", 2000)} {
		f.Add(s, "/home/user")
		f.Add(s, "/srv/work")
	}
	f.Fuzz(func(t *testing.T, p, wd string) {
		if !path.IsAbs(wd) || path.Clean(wd) != wd || strings.ContainsRune(wd, 0) {
			return // Config.Validate refuses such working directories
		}
		in := &Instance{cfg: sandbox.Config{WorkingDirectory: wd}}
		r, err := in.resolve("path", p)
		if err != nil {
			if sandbox.CodeOf(err) != sandbox.CodeInvalidArgument {
				t.Fatalf("resolve(%q): %v", p, err)
			}
			return
		}
		if !path.IsAbs(r) || path.Clean(r) != r || strings.ContainsRune(r, 0) {
			t.Fatalf("resolve(%q) = %q: not a clean absolute path", p, r)
		}
		w, err := in.writePath(p)
		if err != nil {
			if c := sandbox.CodeOf(err); c != sandbox.CodePermissionDenied && c != sandbox.CodeInvalidArgument {
				t.Fatalf("writePath(%q): %v", p, err)
			}
			return
		}
		under := func(root string) bool {
			return w == root || strings.HasPrefix(w, strings.TrimSuffix(root, "/")+"/")
		}
		if !under(homeDir) && !under("/tmp") && !under(wd) {
			t.Fatalf("writePath(%q) = %q, outside the writable areas (wd %q)", p, w, wd)
		}
	})
}

// FuzzAgentMessages: the backend reads JSON lines from the agent, which
// runs inside the sandbox and must be assumed hostile. Whatever it sends
// (replies to unknown or repeated ids, output and exits of any pid, huge or
// malformed fields, several messages on a line), the reader never panics
// or blocks, and a process sees at most one exit.
func FuzzAgentMessages(f *testing.F) {
	f.Add([]byte(`{"id":1}` + "\n" + `{"id":1,"err":{"kind":"io"}}` + "\n" + `{"ev":"out","pid":7,"stream":"stdout","data":"aGk="}` + "\n" + `{"ev":"exit","pid":7,"code":3}` + "\n" + `{"ev":"exit","pid":7}`))
	f.Add([]byte(`{"ev":"exit","pid":-1}{"ev":"out","pid":0}{"id":18446744073709551615}`))
	f.Add([]byte(`{"id":2,"entries":[{"name":"../x","path":"/etc","type":"dir"}],"pid":99}` + "\n" + `{"ev":"exit","pid":42,"signal":9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &agentClient{log: zerolog.Nop(), pending: map[uint64]*pendingCall{}, procs: map[int]*Process{},
			exited: map[int]bool{}, watch: map[int]bool{42: true}, dead: make(chan struct{})}
		exits := 0
		for id := uint64(1); id <= 3; id++ {
			c.pending[id] = &pendingCall{ch: make(chan *message, 1), onReply: func(m *message) {}}
		}
		p := &Process{pid: 7, done: make(chan struct{}), onOutput: func(string, []byte) {}}
		c.procs[7] = p
		c.onExit = func(int) {
			select {
			case <-p.done:
				exits++
				p.done = make(chan struct{}) // count a second finish, should one come
			default:
			}
		}
		// Must return: a full reply channel would block forever.
		_ = c.read(bytes.NewReader(data))
		select {
		case <-p.done:
			exits++
		default:
		}
		if exits > 1 {
			t.Fatalf("process 7 finished %d times", exits)
		}
	})
}
