//go:build linux

package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The in-sandbox agent. It runs as uid 1000 inside the sandbox's namespaces,
// so every path it touches is the sandbox's own view: host files that are
// not bound in simply do not exist for it, and bound system directories are
// read-only. It must stay small: it is part of every idle sandbox.

const (
	agentChunk = 32 << 10
	// pipeGrace is how long output is still collected after a process exits
	// while a background child keeps its pipes open.
	pipeGrace = 100 * time.Millisecond
	wmReady   = "/tmp/.vmservice-wm-ready"
)

type agent struct {
	// userCgroup are the user leaf's procs files (nil: no split); every
	// process but the desktop's own moves itself there before it runs.
	userCgroup   []*os.File
	joinScript   string
	daemonScript string
	// userns is the user namespace every process the agent starts runs in
	// (userNamespace), nsenter the program that puts them there.
	userns  *os.File
	nsenter string

	outMu sync.Mutex
	out   *bufio.Writer
	enc   *json.Encoder

	mu    sync.Mutex
	procs map[int]*agentProc

	// startMu is held while a child is started and registered in kids, so
	// the init's reaper never takes the exit status of a child of ours.
	startMu sync.Mutex
	kids    map[int]bool
}

type agentProc struct {
	cmd   *exec.Cmd
	stdin chan []byte // nil data = close
}

func agentMain(userFDs string) int {
	runtime.GOMAXPROCS(2)
	debug.SetGCPercent(50)
	a := &agent{procs: map[int]*agentProc{}, kids: map[int]bool{}}
	// The channel is on descriptors of its own (stdin and stdout are
	// /dev/null), kept from every child.
	var st unix.Stat_t
	if unix.Fstat(agentInFD, &st) != nil || unix.Fstat(agentOutFD, &st) != nil {
		fmt.Fprintln(os.Stderr, "vmservice agent: no channel to the backend")
		return 2
	}
	syscall.CloseOnExec(agentInFD)
	syscall.CloseOnExec(agentOutFD)
	_ = unix.Close(agentExeFD) // bubblewrap ran the agent from it
	// Run from a descriptor, the agent would be called "6" in ps.
	name := []byte("agent\x00")
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
	if os.Getpid() == 1 {
		a.beInit()
	}
	var err error
	if a.nsenter, err = exec.LookPath("nsenter"); err == nil {
		err = a.userNamespace()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmservice agent: user namespace: %v\n", err)
		return 3
	}
	// Not dumpable (only now: the user namespace's maps are written
	// through /proc of a child forked from here, which a non-dumpable
	// process cannot): belt and braces, the sandbox's processes live in a
	// user namespace below the agent's, which already keeps them from
	// ptracing it or opening its descriptors.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var join, closeFDs strings.Builder
	if userFDs != "" {
		for i, f := range strings.Split(userFDs, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			child := 3 + i // where ExtraFiles puts it in the child
			a.userCgroup = append(a.userCgroup, os.NewFile(uintptr(n), "user-cgroup"))
			syscall.CloseOnExec(n)
			fmt.Fprintf(&join, "echo $$ >&%d; ", child)
			fmt.Fprintf(&closeFDs, " %d>&-", child)
		}
	}
	fmt.Fprintf(&closeFDs, " %d>&-", 3+len(a.userCgroup)) // the user namespace
	// No pids cgroup (without root): RLIMIT_NPROC, which the kernel counts
	// per user namespace, bounds what the sandbox runs (dash says -p, bash
	// -u); a shell that cannot set it runs nothing.
	limit := ""
	if n, err := strconv.Atoi(os.Getenv(nprocEnv)); err == nil {
		limit = fmt.Sprintf("{ ulimit -p %d || ulimit -u %d; } 2>/dev/null || exit 126; ", n, n)
	}
	os.Unsetenv(nprocEnv)
	// The shell (already in the user namespace) moves itself into the user
	// cgroup, closes the descriptors it was given and becomes the
	// command: no instruction of the command runs outside the user leaf.
	// It also volunteers as the first victim of an out-of-memory kill in
	// the sandbox's cgroup (before the X server or the agent).
	a.joinScript = "{ " + join.String() + "echo 500 >/proc/self/oom_score_adj; } 2>/dev/null; " + limit + "exec" + closeFDs.String() + `; exec "$@"`
	// A daemon (request.Sys) stays where the agent is and keeps the user
	// leaf's files, to put what it starts there itself; what it starts
	// inherits the process limit.
	a.daemonScript = limit + fmt.Sprintf(`exec %d>&-; exec "$@"`, 3+len(a.userCgroup))
	a.out = bufio.NewWriterSize(os.NewFile(agentOutFD, "replies"), 64<<10)
	a.enc = json.NewEncoder(a.out)
	dec := json.NewDecoder(bufio.NewReaderSize(os.NewFile(agentInFD, "requests"), 64<<10))
	for {
		var r request
		if err := dec.Decode(&r); err != nil {
			// The backend went away: the sandbox ends with us (the pid
			// namespace goes with its init).
			return 0
		}
		switch r.Op {
		case opStdin, opClose: // ordered per process: handled in the loop
			a.send(a.stdin(r))
		default:
			go func() { a.send(a.handle(r)) }()
		}
	}
}

// userNamespace makes the user namespace every process the agent starts
// runs in: a child of the agent's, mapping only the sandbox's uid and gid.
// Its processes hold no capability in the agent's namespace, so whatever
// they do they can neither ptrace the agent nor open its descriptors
// (/proc/PID/fd, pidfd_getfd): the kernel allows that across user
// namespaces only to holders of CAP_SYS_PTRACE in the target's. The agent,
// as the namespace's owner, may put processes into it (nsenter).
func (a *agent) userNamespace() error {
	uid, gid := os.Getuid(), os.Getgid()
	cmd := exec.Command("/bin/cat") // holds the namespace until it is open here
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}}
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := a.startChild(cmd); err != nil {
		return err
	}
	a.userns, err = os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	w.Close()
	a.waitChild(cmd)
	if err == nil {
		syscall.CloseOnExec(int(a.userns.Fd()))
	}
	return err
}

// startChild starts cmd and registers it as the agent's own child.
func (a *agent) startChild(cmd *exec.Cmd) error {
	a.startMu.Lock()
	defer a.startMu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	a.kids[cmd.Process.Pid] = true
	return nil
}

// waitChild waits for a child startChild started.
func (a *agent) waitChild(cmd *exec.Cmd) error {
	err := cmd.Wait()
	a.startMu.Lock()
	delete(a.kids, cmd.Process.Pid)
	a.startMu.Unlock()
	return err
}

// beInit makes the agent a fit init of the sandbox's pid namespace (it is
// its pid 1, bubblewrap's --as-pid-1): an init gets only the signals it
// handles from inside its namespace, so it takes all of them and drops
// them (nothing in the sandbox can stop or kill the agent), and it reaps
// the orphans it adopts.
func (a *agent) beInit() {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	go func() {
		tick := time.NewTicker(10 * time.Second) // a missed SIGCHLD, should one be
		for {
			select {
			case s := <-sigs:
				if s != syscall.SIGCHLD {
					continue
				}
			case <-tick.C:
			}
			a.reap()
		}
	}()
}

// reap collects the exit status of orphaned zombies (never of the agent's
// own children, whose exec.Cmd waits for them).
func (a *agent) reap() {
	a.startMu.Lock()
	defer a.startMu.Unlock()
	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == 1 || a.kids[pid] {
			continue
		}
		b, err := os.ReadFile("/proc/" + de.Name() + "/stat")
		i := strings.LastIndexByte(string(b), ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state ppid ...
		if len(f) > 1 && f[0] == "Z" && f[1] == "1" {
			_, _ = unix.Wait4(pid, nil, unix.WNOHANG, nil)
		}
	}
}

func (a *agent) send(m *message) {
	if m == nil {
		return
	}
	a.outMu.Lock()
	defer a.outMu.Unlock()
	_ = a.enc.Encode(m)
	_ = a.out.Flush()
}

func fail(id uint64, kind, msg string) *message {
	return &message{ID: id, Err: &wireErr{Kind: kind, Msg: msg}}
}

// fsFail classifies a file-system error without exposing Go's error text.
func fsFail(id uint64, p string, err error) *message {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(id, errNotFound, "no such file or directory: "+p)
	case errors.Is(err, fs.ErrPermission) || errno == syscall.EROFS || errno == syscall.EPERM:
		return fail(id, errPerm, "permission denied: "+p)
	case errno == syscall.EISDIR:
		return fail(id, errIsDir, "is a directory: "+p)
	case errno == syscall.ENOTDIR:
		return fail(id, errNotDir, "not a directory: "+p)
	case errno == syscall.ENOSPC || errno == syscall.EDQUOT:
		return fail(id, errIO, "no space left in the sandbox: "+p)
	}
	return fail(id, errIO, "file operation failed: "+p)
}

func (a *agent) handle(r request) *message {
	switch r.Op {
	case opPing:
		return &message{ID: r.ID}
	case opStart:
		return a.start(r, nil)
	case opStartWM:
		return a.startWM(r)
	case opSignal:
		return a.signal(r)
	case opRead, opWrite, opList, opStat, opMkdir, opRemove:
		if !path.IsAbs(r.Path) || strings.ContainsRune(r.Path, 0) {
			return fail(r.ID, errInvalid, "path must be absolute")
		}
		return a.file(r)
	}
	return fail(r.ID, errInvalid, "unknown operation "+r.Op)
}

// start runs argv in its own process group. The reply (with the pid) is
// sent before any output event; started, when set, is signalled instead of
// replying (startWM waits for the window manager first).
func (a *agent) start(r request, started chan<- *message) *message {
	if len(r.Argv) == 0 {
		return fail(r.ID, errInvalid, "empty command")
	}
	prog := r.Argv[0]
	if !strings.Contains(prog, "/") {
		prog = lookPathIn(prog, r.Env)
	}
	if r.Cwd != "" {
		if st, err := os.Stat(r.Cwd); err != nil || !st.IsDir() {
			return fail(r.ID, errNotFound, "working directory does not exist: "+r.Cwd)
		}
	}
	extra := append(append([]*os.File{}, a.userCgroup...), a.userns)
	if r.Self {
		// The binary has no path in the sandbox: the command runs it from
		// a descriptor (one the join script leaves open; it closes it).
		exe, err := os.Open("/proc/self/exe")
		if err != nil {
			return fail(r.ID, errIO, "cannot open the agent's binary")
		}
		defer exe.Close()
		fd := strconv.Itoa(3 + len(extra))
		extra = append(extra, exe)
		r.Argv = append([]string{"/proc/self/fd/" + fd}, r.Argv[1:]...)
		r.Env = append(r.Env, selfFDEnv+"="+fd)
	} else {
		check := prog
		if !path.IsAbs(check) && r.Cwd != "" { // ./script runs from the command's cwd
			check = path.Join(r.Cwd, check)
		}
		if st, err := os.Stat(check); err != nil || st.IsDir() {
			return fail(r.ID, errNotFound, "command not found: "+r.Argv[0])
		}
	}
	// nsenter puts it in the user namespace, the shell in the user cgroup.
	script := a.joinScript
	if r.Sys {
		script = a.daemonScript
	}
	argv := append([]string{"--user=/proc/self/fd/" + strconv.Itoa(3+len(a.userCgroup)), "--preserve-credentials", "--",
		"/bin/sh", "-c", script, "vmservice-join"}, r.Argv...)
	cmd := exec.Command(a.nsenter, argv...)
	cmd.ExtraFiles = extra
	cmd.Env = r.Env
	if r.Sys && a.userCgroup != nil {
		fds := make([]string, len(a.userCgroup))
		for i := range fds {
			fds[i] = strconv.Itoa(3 + i)
		}
		cmd.Env = append(cmd.Env, UserCgroupFDsEnv+"="+strings.Join(fds, ","))
	}
	cmd.Dir = r.Cwd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var pipes []*os.File // read ends
	var names []string
	var closeAfter []*os.File
	if !r.Discard {
		for _, name := range []string{"stdout", "stderr"} {
			pr, pw, err := os.Pipe()
			if err != nil {
				return fail(r.ID, errIO, "cannot create a pipe")
			}
			pipes, names, closeAfter = append(pipes, pr), append(names, name), append(closeAfter, pw)
		}
		cmd.Stdout, cmd.Stderr = closeAfter[0], closeAfter[1]
	}
	var stdinW *os.File
	if r.Stdin {
		pr, pw, err := os.Pipe()
		if err != nil {
			return fail(r.ID, errIO, "cannot create a pipe")
		}
		cmd.Stdin, stdinW = pr, pw
		closeAfter = append(closeAfter, pr)
	}
	err := a.startChild(cmd)
	for _, f := range closeAfter {
		f.Close()
	}
	if err != nil {
		for _, f := range pipes {
			f.Close()
		}
		if stdinW != nil {
			stdinW.Close()
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			if r.Cwd != "" {
				if _, serr := os.Stat(r.Cwd); serr != nil {
					return fail(r.ID, errNotFound, "working directory does not exist: "+r.Cwd)
				}
			}
			return fail(r.ID, errNotFound, "command not found: "+r.Argv[0])
		}
		return fail(r.ID, errIO, "cannot start the process (the sandbox may be at its process limit)")
	}
	pid := cmd.Process.Pid
	p := &agentProc{cmd: cmd}
	if stdinW != nil {
		p.stdin = make(chan []byte, 256)
		go func() {
			for d := range p.stdin {
				if d == nil {
					break
				}
				if _, err := stdinW.Write(d); err != nil {
					break
				}
			}
			stdinW.Close()
			for range p.stdin { // drain until the process is gone
			}
		}()
	}
	a.mu.Lock()
	a.procs[pid] = p
	a.mu.Unlock()
	if started != nil {
		started <- &message{ID: r.ID, PID: pid}
	} else {
		a.send(&message{ID: r.ID, PID: pid})
	}

	var wg sync.WaitGroup
	var truncated sync.Map
	for i, pr := range pipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, agentChunk)
			sent := 0
			for {
				n, err := pr.Read(buf)
				if n > 0 {
					chunk := buf[:n]
					if r.MaxOut > 0 && sent+n > r.MaxOut {
						chunk = chunk[:max(0, r.MaxOut-sent)]
						truncated.Store(names[i], true)
					}
					if len(chunk) > 0 {
						sent += len(chunk)
						a.send(&message{Ev: evOut, PID: pid, Stream: names[i], Data: chunk})
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	go func() {
		werr := a.waitChild(cmd)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(pipeGrace):
			for _, f := range pipes {
				f.Close()
			}
			<-done
		}
		for _, f := range pipes {
			f.Close()
		}
		a.mu.Lock()
		delete(a.procs, pid)
		a.mu.Unlock()
		if p.stdin != nil {
			close(p.stdin)
		}
		ev := &message{Ev: evExit, PID: pid}
		_, ev.Truncated = truncated.Load("stdout")
		if _, t := truncated.Load("stderr"); t {
			ev.Truncated = true
		}
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				ev.Signal = int(ws.Signal())
				ev.Code = 128 + ev.Signal
			} else {
				ev.Code = ee.ExitCode()
			}
		} else if werr != nil {
			ev.Code = -1
		}
		a.send(ev)
	}()
	return nil
}

// lookPathIn resolves name against the PATH of env (the command's own
// environment, not the agent's).
func lookPathIn(name string, env []string) string {
	pathVar := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// startWM starts the window manager and replies once it manages the screen:
// openbox runs its --startup command only after taking over the display.
func (a *agent) startWM(r request) *message {
	_ = os.Remove(wmReady)
	if err := syscall.Mkfifo(wmReady, 0o600); err != nil {
		return fail(r.ID, errIO, "cannot create the readiness pipe")
	}
	defer os.Remove(wmReady)
	f, err := os.OpenFile(wmReady, os.O_RDWR, 0) // O_RDWR: open does not block
	if err != nil {
		return fail(r.ID, errIO, "cannot open the readiness pipe")
	}
	defer f.Close()
	r.Argv = append(r.Argv, "--startup", "/bin/sh -c 'echo > "+wmReady+"'")
	r.Discard = true
	started := make(chan *message, 1)
	if m := a.start(r, started); m != nil {
		return m
	}
	reply := <-started
	_ = f.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := f.Read(make([]byte, 1)); err != nil {
		return fail(r.ID, errIO, "the window manager did not start")
	}
	return reply
}

func (a *agent) stdin(r request) *message {
	a.mu.Lock()
	p := a.procs[r.PID]
	a.mu.Unlock()
	if p == nil || p.stdin == nil {
		return fail(r.ID, errNoProc, "no such process or its stdin is not open")
	}
	defer func() { recover() }() // the process ended meanwhile: channel closed
	if r.Op == opClose {
		p.stdin <- nil
	} else {
		p.stdin <- r.Data
	}
	return &message{ID: r.ID}
}

func (a *agent) signal(r request) *message {
	if r.PID <= 1 {
		return fail(r.ID, errInvalid, "bad pid")
	}
	sig := syscall.Signal(r.Sig)
	if err := syscall.Kill(-r.PID, sig); err != nil {
		if err := syscall.Kill(r.PID, sig); err != nil {
			return fail(r.ID, errNoProc, "no such process")
		}
	}
	return &message{ID: r.ID}
}

func entryOf(p string, fi fs.FileInfo) wireEntry {
	e := wireEntry{Name: fi.Name(), Path: p, Size: fi.Size(), Mode: uint32(fi.Mode().Perm()), ModTime: fi.ModTime().UnixNano()}
	switch {
	case fi.Mode().IsRegular():
		e.Type = "file"
	case fi.IsDir():
		e.Type = "dir"
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Type = "symlink"
		e.Target, _ = os.Readlink(p)
	default:
		e.Type = "other"
	}
	return e
}

func (a *agent) file(r request) *message {
	p := path.Clean(r.Path)
	switch r.Op {
	case opRead:
		// O_NONBLOCK: opening a FIFO must not wait for a writer forever.
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		if st.IsDir() {
			return fail(r.ID, errIsDir, "is a directory: "+p)
		}
		if !st.Mode().IsRegular() { // FIFOs, sockets, devices (/dev/zero never ends)
			return fail(r.ID, errInvalid, "not a regular file: "+p)
		}
		if r.Max > 0 && st.Size() > r.Max {
			return &message{ID: r.ID, Err: &wireErr{Kind: errTooLarge, Msg: "file is too large", Size: st.Size()}}
		}
		lim := r.Max
		if lim <= 0 {
			lim = 1 << 40
		}
		data, err := io.ReadAll(io.LimitReader(f, lim+1))
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		if int64(len(data)) > lim {
			return &message{ID: r.ID, Err: &wireErr{Kind: errTooLarge, Msg: "file is too large", Size: int64(len(data))}}
		}
		return &message{ID: r.ID, Data: data}
	case opWrite:
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			return fsFail(r.ID, path.Dir(p), err)
		}
		mode := fs.FileMode(r.Mode)
		if mode == 0 {
			mode = 0o644
		}
		// O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of
		// blocking; anything but a regular file is refused.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|syscall.O_NONBLOCK, mode)
		if errors.Is(err, syscall.ENXIO) {
			return fail(r.ID, errInvalid, "not a regular file: "+p)
		}
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return fail(r.ID, errInvalid, "not a regular file: "+p)
		}
		if err := f.Truncate(0); err != nil {
			return fsFail(r.ID, p, err)
		}
		if _, err := f.Write(r.Data); err != nil {
			return fsFail(r.ID, p, err)
		}
		if err := f.Close(); err != nil {
			return fsFail(r.ID, p, err)
		}
		return &message{ID: r.ID}
	case opList:
		// O_DIRECTORY|O_NONBLOCK: a FIFO is refused, never waited on.
		d, err := os.OpenFile(p, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		n := -1
		if r.Max > 0 { // max entries: read one more to know
			n = int(r.Max) + 1
		}
		des, err := d.ReadDir(n)
		d.Close()
		if err != nil && !(n > 0 && errors.Is(err, io.EOF)) {
			return fsFail(r.ID, p, err)
		}
		if n > 0 && len(des) == n {
			return fail(r.ID, errInvalid, fmt.Sprintf("%s has more than %d entries: list a subdirectory, or use run_command (ls | head)", p, r.Max))
		}
		sort.Slice(des, func(i, j int) bool { return des[i].Name() < des[j].Name() })
		m := &message{ID: r.ID, Entries: make([]wireEntry, 0, len(des))}
		for _, de := range des {
			fi, err := de.Info()
			if err != nil {
				continue // removed meanwhile
			}
			m.Entries = append(m.Entries, entryOf(path.Join(p, de.Name()), fi))
		}
		return m
	case opStat:
		fi, err := os.Lstat(p)
		if err != nil {
			return fsFail(r.ID, p, err)
		}
		e := entryOf(p, fi)
		return &message{ID: r.ID, Entry: &e}
	case opMkdir:
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fsFail(r.ID, p, err)
		}
		return &message{ID: r.ID}
	case opRemove:
		if _, err := os.Lstat(p); err != nil {
			return fsFail(r.ID, p, err)
		}
		if err := os.RemoveAll(p); err != nil {
			return fsFail(r.ID, p, err)
		}
		return &message{ID: r.ID}
	}
	return fail(r.ID, errInvalid, "unknown operation")
}
