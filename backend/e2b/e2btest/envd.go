package e2btest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
)

func (s *Server) envdRoutes() {
	m := s.mux
	m.HandleFunc("POST "+wire.ProcStart, s.envd(s.procStart))
	m.HandleFunc("POST "+wire.ProcConnect, s.envd(s.procConnect))
	m.HandleFunc("POST "+wire.ProcList, s.envd(s.unary(s.procList)))
	m.HandleFunc("POST "+wire.ProcSendInput, s.envd(s.unary(s.procSendInput)))
	m.HandleFunc("POST "+wire.ProcSendSignal, s.envd(s.unary(s.procSendSignal)))
	m.HandleFunc("POST "+wire.ProcCloseStdin, s.envd(s.unary(s.procCloseStdin)))
	m.HandleFunc("POST "+wire.FsStat, s.envd(s.unary(s.fsStat)))
	m.HandleFunc("POST "+wire.FsListDir, s.envd(s.unary(s.fsListDir)))
	m.HandleFunc("POST "+wire.FsMakeDir, s.envd(s.unary(s.fsMakeDir)))
	m.HandleFunc("POST "+wire.FsRemove, s.envd(s.unary(s.fsRemove)))
	m.HandleFunc("GET /files", s.envd(s.filesGet))
	m.HandleFunc("POST /files", s.envd(s.filesPost))
	m.HandleFunc("GET /envs", s.envd(func(w http.ResponseWriter, r *http.Request, b *sbx) {
		writeJSON(w, http.StatusOK, b.env)
	}))
}

type envdHandler func(w http.ResponseWriter, r *http.Request, b *sbx)

// envd finds the sandbox a request is for (E2b-Sandbox-Id, as the SDKs and
// the E2B proxy route) and checks its access token.
func (s *Server) envd(h envdHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(wire.SandboxIDHeader)
		b := s.lookup(id)
		if b == nil && s.opts.Debug {
			var err error
			if b, err = s.debugSandbox(r.Context()); err != nil {
				http.Error(w, "the debug sandbox could not be made", http.StatusBadGateway)
				return
			}
		}
		if b == nil {
			// What the E2B proxy answers for an unknown or expired sandbox.
			apiErr(w, http.StatusBadGateway, "The sandbox was not found")
			return
		}
		if b.secure && r.Header.Get(wire.AccessTokenHeader) != b.token {
			if strings.HasPrefix(r.URL.Path, "/files") {
				apiErr(w, http.StatusUnauthorized, "invalid access token")
			} else {
				wire.WriteUnaryError(w, &wire.Error{Code: wire.CodeUnauthenticated, Message: "invalid access token"})
			}
			return
		}
		h(w, r, b)
	}
}

func (s *Server) debugSandbox(ctx context.Context) (*sbx, error) {
	s.debugMu.Lock()
	defer s.debugMu.Unlock()
	if b := s.lookup(DebugSandboxID); b != nil {
		return b, nil
	}
	b, _, msg := s.newSandbox(context.WithoutCancel(ctx), DebugSandboxID, "desktop", nil, map[string]string{}, false, false, 0)
	if b == nil {
		return nil, errors.New(msg)
	}
	return b, nil
}

// unary decodes a unary Connect JSON request and encodes the answer.
func (s *Server) unary(h func(ctx context.Context, b *sbx, body []byte) (any, *wire.Error)) envdHandler {
	return func(w http.ResponseWriter, r *http.Request, b *sbx) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != wire.ContentTypeUnary {
			w.Header().Set("Accept-Post", wire.ContentTypeUnary)
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxMessage))
		if err != nil {
			wire.WriteUnaryError(w, &wire.Error{Code: wire.CodeInvalidArgument, Message: "request too large"})
			return
		}
		out, werr := h(r.Context(), b, body)
		if werr != nil {
			wire.WriteUnaryError(w, werr)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func badRequest(err error) *wire.Error {
	return &wire.Error{Code: wire.CodeInvalidArgument, Message: "invalid request: " + err.Error()}
}

// machineErr maps a Machine error to a Connect error.
func machineErr(err error) *wire.Error {
	var me *Error
	if errors.As(err, &me) {
		switch me.Kind {
		case "not_found", "no_process":
			return &wire.Error{Code: wire.CodeNotFound, Message: me.Msg}
		case "exists":
			return &wire.Error{Code: wire.CodeAlreadyExists, Message: me.Msg}
		case "permission":
			return &wire.Error{Code: wire.CodePermissionDenied, Message: me.Msg}
		case "is_dir", "not_dir", "invalid", "too_large":
			return &wire.Error{Code: wire.CodeInvalidArgument, Message: me.Msg}
		case "unavailable":
			return &wire.Error{Code: wire.CodeUnavailable, Message: me.Msg}
		}
	}
	return &wire.Error{Code: wire.CodeInternal, Message: err.Error()}
}

// resolve makes a sandbox path absolute (relative to the home directory).
func resolve(m Machine, p string) string {
	if p == "" {
		return m.Home()
	}
	if strings.HasPrefix(p, "~/") || p == "~" {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
	}
	if !path.IsAbs(p) {
		p = path.Join(m.Home(), p)
	}
	return path.Clean(p)
}

func entryJSON(e Entry) wire.EntryInfo {
	t := wire.FileTypeFile
	switch {
	case e.Symlink:
		t = wire.FileTypeSymlink
	case e.Dir:
		t = wire.FileTypeDirectory
	}
	mt := e.ModTime.UTC()
	mode := fs.FileMode(e.Mode & 0o777)
	if e.Dir {
		mode |= fs.ModeDir
	}
	return wire.EntryInfo{Name: e.Name, Type: t, Path: e.Path, Size: wire.Int64(e.Size), Mode: e.Mode,
		Permissions: mode.String(), Owner: "user", Group: "user", ModifiedTime: &mt}
}

// --- processes ---

type proc struct {
	pid  uint32
	cfg  wire.ProcessConfig
	tag  *string
	p    Proc
	done chan struct{}

	mu    sync.Mutex
	cond  *sync.Cond
	queue []wire.ProcessEvent // events not yet handed to subscribers
	subs  map[*sub]struct{}
}

type sub struct {
	ch   chan wire.ProcessEvent
	gone chan struct{}
}

func newProc(cfg wire.ProcessConfig, tag *string) *proc {
	p := &proc{cfg: cfg, tag: tag, subs: map[*sub]struct{}{}, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.pump()
	return p
}

func (p *proc) subscribe() *sub {
	sb := &sub{ch: make(chan wire.ProcessEvent, 64), gone: make(chan struct{})}
	p.mu.Lock()
	p.subs[sb] = struct{}{}
	p.mu.Unlock()
	return sb
}

func (p *proc) unsubscribe(sb *sub) {
	p.mu.Lock()
	if _, ok := p.subs[sb]; ok {
		delete(p.subs, sb)
		close(sb.gone)
	}
	p.mu.Unlock()
}

// emit queues ev without blocking: the machine calls it from its reader.
func (p *proc) emit(ev wire.ProcessEvent) {
	p.mu.Lock()
	p.queue = append(p.queue, ev)
	p.mu.Unlock()
	p.cond.Signal()
}

// pump hands queued events to every subscriber in order; a slow reader
// slows delivery (not the process), a departed one is skipped.
func (p *proc) pump() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 {
			p.cond.Wait()
		}
		ev := p.queue[0]
		p.queue = p.queue[1:]
		subs := make([]*sub, 0, len(p.subs))
		for sb := range p.subs {
			subs = append(subs, sb)
		}
		p.mu.Unlock()
		for _, sb := range subs {
			select {
			case sb.ch <- ev:
			case <-sb.gone:
			}
		}
		if ev.End != nil {
			close(p.done)
			return
		}
	}
}

func (b *sbx) findProc(sel wire.ProcessSelector) *proc {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sel.PID != nil {
		return b.procs[*sel.PID]
	}
	if sel.Tag != nil {
		for _, p := range b.procs {
			if p.tag != nil && *p.tag == *sel.Tag {
				return p
			}
		}
	}
	return nil
}

// readStreamRequest reads the single enveloped request of a server stream.
func readStreamRequest(r *http.Request, v any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != wire.ContentTypeStream {
		return fmt.Errorf("content type %q is not %s", ct, wire.ContentTypeStream)
	}
	payload, _, err := wire.NewEnvelopeReader(io.LimitReader(r.Body, wire.MaxMessage)).Next()
	if err != nil {
		return err
	}
	return json.Unmarshal(payload, v)
}

// streamWriter writes a server stream's envelopes.
type streamWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startStream(w http.ResponseWriter) *streamWriter {
	w.Header().Set("Content-Type", wire.ContentTypeStream)
	w.WriteHeader(http.StatusOK)
	sw := &streamWriter{w: w, rc: http.NewResponseController(w)}
	_ = sw.rc.Flush()
	return sw
}

func (sw *streamWriter) event(ev wire.ProcessEvent) error {
	data, _ := json.Marshal(wire.StartResponse{Event: ev})
	if err := wire.WriteEnvelope(sw.w, false, data); err != nil {
		return err
	}
	return sw.rc.Flush()
}

func (sw *streamWriter) end(e *wire.Error) {
	data, _ := json.Marshal(wire.EndStream{Error: e})
	_ = wire.WriteEnvelope(sw.w, true, data)
	_ = sw.rc.Flush()
}

// streamError answers a stream call that failed before it started.
func streamError(w http.ResponseWriter, e *wire.Error) {
	startStream(w).end(e)
}

func (s *Server) procStart(w http.ResponseWriter, r *http.Request, b *sbx) {
	var req wire.StartRequest
	if err := readStreamRequest(r, &req); err != nil {
		streamError(w, badRequest(err))
		return
	}
	if req.PTY != nil {
		streamError(w, &wire.Error{Code: wire.CodeUnimplemented, Message: "the emulator has no PTYs"})
		return
	}
	p := newProc(req.Process, req.Tag)
	sb := p.subscribe()
	env := map[string]string{}
	for k, v := range b.env {
		env[k] = v
	}
	for k, v := range req.Process.Envs {
		env[k] = v
	}
	cwd := b.m.Home()
	if req.Process.Cwd != nil && *req.Process.Cwd != "" {
		cwd = resolve(b.m, *req.Process.Cwd)
	}
	// Processes outlive the request: a client that disconnects (a
	// background command) leaves its process running, as envd does.
	mp, err := b.m.Start(context.Background(), ProcSpec{
		Argv: append([]string{req.Process.Cmd}, req.Process.Args...), Cwd: cwd, Env: env,
		Stdin: req.Stdin == nil || *req.Stdin,
		OnOutput: func(stream string, data []byte) {
			d := &wire.DataEvent{}
			if stream == "stderr" {
				d.Stderr = append([]byte(nil), data...)
			} else {
				d.Stdout = append([]byte(nil), data...)
			}
			p.emit(wire.ProcessEvent{Data: d})
		},
	})
	if err != nil {
		p.emit(wire.ProcessEvent{End: &wire.EndEvent{}}) // ends the pump
		streamError(w, machineErr(err))
		return
	}
	p.p, p.pid = mp, uint32(mp.PID())
	b.mu.Lock()
	b.procs[p.pid] = p
	b.mu.Unlock()
	go func() {
		code, sig, werr := mp.Wait()
		end := wire.EndEvent{ExitCode: int32(code), Exited: sig == 0 && werr == nil, Status: "exit status " + strconv.Itoa(code)}
		if sig != 0 {
			end.ExitCode, end.Status = -1, "signal: "+strconv.Itoa(sig)
		}
		if werr != nil {
			msg := werr.Error()
			end.Error = &msg
		}
		p.emit(wire.ProcessEvent{End: &end})
		b.mu.Lock()
		delete(b.procs, p.pid)
		b.mu.Unlock()
	}()
	s.follow(w, r, p, sb, true)
}

// follow streams a process's events to one client until the process ends,
// the client leaves, or the call's Connect timeout passes (which, as in
// envd, kills the process).
func (s *Server) follow(w http.ResponseWriter, r *http.Request, p *proc, sb *sub, kill bool) {
	defer p.unsubscribe(sb)
	sw := startStream(w)
	if err := sw.event(wire.ProcessEvent{Start: &wire.StartEvent{PID: p.pid}}); err != nil {
		return
	}
	var deadline <-chan time.Time
	if d := wire.ParseTimeout(r.Header); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	var keepalive <-chan time.Time
	if secs, _ := strconv.Atoi(r.Header.Get("Keepalive-Ping-Interval")); secs > 0 {
		t := time.NewTicker(time.Duration(secs) * time.Second)
		defer t.Stop()
		keepalive = t.C
	}
	for {
		select {
		case ev := <-sb.ch:
			if err := sw.event(ev); err != nil {
				return
			}
			if ev.End != nil {
				sw.end(nil)
				return
			}
		case <-keepalive:
			if err := sw.event(wire.ProcessEvent{Keepalive: &struct{}{}}); err != nil {
				return
			}
		case <-deadline:
			if kill {
				_ = p.p.Kill(true)
			}
			sw.end(&wire.Error{Code: wire.CodeDeadlineExceeded, Message: "the command timed out"})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) procConnect(w http.ResponseWriter, r *http.Request, b *sbx) {
	var req wire.ConnectRequest
	if err := readStreamRequest(r, &req); err != nil {
		streamError(w, badRequest(err))
		return
	}
	p := b.findProc(req.Process)
	if p == nil {
		streamError(w, &wire.Error{Code: wire.CodeNotFound, Message: "process not found"})
		return
	}
	s.follow(w, r, p, p.subscribe(), false)
}

func (s *Server) procList(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := wire.ListResponse{}
	for _, p := range b.procs {
		out.Processes = append(out.Processes, wire.ProcessInfo{Config: p.cfg, PID: p.pid, Tag: p.tag})
	}
	return out, nil
}

func (s *Server) procSendInput(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.SendInputRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := b.findProc(req.Process)
	if p == nil {
		return nil, &wire.Error{Code: wire.CodeNotFound, Message: "process not found"}
	}
	data := req.Input.Stdin
	if data == nil {
		data = req.Input.PTY
	}
	if err := p.p.Write(data); err != nil {
		return nil, machineErr(err)
	}
	return struct{}{}, nil
}

func (s *Server) procSendSignal(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.SendSignalRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := b.findProc(req.Process)
	if p == nil {
		return nil, &wire.Error{Code: wire.CodeNotFound, Message: "process not found"}
	}
	var hard bool
	switch wire.SignalName(req.Signal) {
	case wire.SignalSIGKILL:
		hard = true
	case wire.SignalSIGTERM:
	default:
		return nil, &wire.Error{Code: wire.CodeInvalidArgument, Message: "unsupported signal"}
	}
	if err := p.p.Kill(hard); err != nil {
		return nil, machineErr(err)
	}
	return struct{}{}, nil
}

func (s *Server) procCloseStdin(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.CloseStdinRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := b.findProc(req.Process)
	if p == nil {
		return nil, &wire.Error{Code: wire.CodeNotFound, Message: "process not found"}
	}
	if err := p.p.CloseStdin(); err != nil {
		return nil, machineErr(err)
	}
	return struct{}{}, nil
}

// --- filesystem ---

func (s *Server) fsStat(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.PathRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	e, err := b.m.Stat(ctx, resolve(b.m, req.Path))
	if err != nil {
		return nil, machineErr(err)
	}
	ej := entryJSON(e)
	return wire.EntryResponse{Entry: &ej}, nil
}

func (s *Server) fsListDir(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.ListDirRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := resolve(b.m, req.Path)
	if e, err := b.m.Stat(ctx, p); err != nil {
		return nil, machineErr(err)
	} else if !e.Dir {
		return nil, &wire.Error{Code: wire.CodeInvalidArgument, Message: "path '" + p + "' is not a directory"}
	}
	depth := int(req.Depth)
	if depth <= 0 {
		depth = 1
	}
	out := wire.ListDirResponse{Entries: []wire.EntryInfo{}}
	var walk func(dir string, level int) *wire.Error
	walk = func(dir string, level int) *wire.Error {
		es, err := b.m.List(ctx, dir)
		if err != nil {
			return machineErr(err)
		}
		for _, e := range es {
			out.Entries = append(out.Entries, entryJSON(e))
			if e.Dir && !e.Symlink && level < depth {
				if werr := walk(e.Path, level+1); werr != nil {
					return werr
				}
			}
		}
		return nil
	}
	if werr := walk(p, 1); werr != nil {
		return nil, werr
	}
	return out, nil
}

func (s *Server) fsMakeDir(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.PathRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := resolve(b.m, req.Path)
	if e, err := b.m.Stat(ctx, p); err == nil {
		if e.Dir {
			return nil, &wire.Error{Code: wire.CodeAlreadyExists, Message: "directory '" + p + "' already exists"}
		}
		return nil, &wire.Error{Code: wire.CodeInvalidArgument, Message: "path '" + p + "' exists and is not a directory"}
	}
	if err := b.m.MakeDir(ctx, p); err != nil {
		return nil, machineErr(err)
	}
	e, err := b.m.Stat(ctx, p)
	if err != nil {
		return nil, machineErr(err)
	}
	ej := entryJSON(e)
	return wire.EntryResponse{Entry: &ej}, nil
}

func (s *Server) fsRemove(ctx context.Context, b *sbx, body []byte) (any, *wire.Error) {
	var req wire.PathRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(err)
	}
	p := resolve(b.m, req.Path)
	if _, err := b.m.Stat(ctx, p); err != nil {
		return nil, machineErr(err)
	}
	if err := b.m.Remove(ctx, p); err != nil {
		return nil, machineErr(err)
	}
	return struct{}{}, nil
}

// --- file contents (envd.yaml /files) ---

func filesErr(w http.ResponseWriter, err error) {
	var me *Error
	status := http.StatusInternalServerError
	msg := "internal error"
	if errors.As(err, &me) {
		msg = me.Msg
		switch me.Kind {
		case "not_found":
			status = http.StatusNotFound
		case "is_dir", "not_dir", "invalid":
			status = http.StatusBadRequest
		case "permission":
			status = http.StatusUnauthorized
		case "too_large":
			status = http.StatusInsufficientStorage
		}
	}
	apiErr(w, status, msg)
}

func (s *Server) filesGet(w http.ResponseWriter, r *http.Request, b *sbx) {
	p := resolve(b.m, r.URL.Query().Get("path"))
	e, err := b.m.Stat(r.Context(), p)
	if err != nil {
		filesErr(w, err)
		return
	}
	if e.Dir {
		apiErr(w, http.StatusBadRequest, "path '"+p+"' is a directory")
		return
	}
	data, err := b.m.ReadFile(r.Context(), p, wire.MaxMessage)
	if err != nil {
		filesErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(p)))
	_, _ = w.Write(data)
}

func (s *Server) filesPost(w http.ResponseWriter, r *http.Request, b *sbx) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	q := r.URL.Query().Get("path")
	var written []wire.FileEntry
	put := func(p string, rd io.Reader) bool {
		if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
			zr, err := gzip.NewReader(rd)
			if err != nil {
				apiErr(w, http.StatusBadRequest, "the body is not gzip")
				return false
			}
			rd = zr
		}
		data, err := io.ReadAll(io.LimitReader(rd, wire.MaxMessage+1))
		if err != nil {
			apiErr(w, http.StatusBadRequest, "could not read the upload")
			return false
		}
		if len(data) > wire.MaxMessage {
			apiErr(w, http.StatusInsufficientStorage, "file too large for the emulator")
			return false
		}
		full := resolve(b.m, p)
		if err := b.m.WriteFile(r.Context(), full, data); err != nil {
			filesErr(w, err)
			return false
		}
		written = append(written, wire.FileEntry{Path: full, Name: path.Base(full), Type: "file"})
		return true
	}
	switch ct {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			apiErr(w, http.StatusBadRequest, "bad multipart body")
			return
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				apiErr(w, http.StatusBadRequest, "bad multipart body")
				return
			}
			p := q
			if p == "" {
				p = part.FileName()
			}
			if p == "" {
				apiErr(w, http.StatusBadRequest, "no path for an uploaded file")
				return
			}
			if !put(p, part) {
				return
			}
		}
	default:
		if q == "" {
			apiErr(w, http.StatusBadRequest, "the path parameter is required for raw uploads")
			return
		}
		if !put(q, r.Body) {
			return
		}
	}
	writeJSON(w, http.StatusOK, written)
}
