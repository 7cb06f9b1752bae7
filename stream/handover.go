package stream

import (
	"context"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vmservice/vmservice/sandbox"
)

// Hand-overs: the agent asks a person to act on a sandbox's desktop (log
// in, solve a captcha, confirm something) through the live view. The page
// at HandOver.URL shows the agent's request, the live desktop in control
// (the stream's own viewer, whichever backend serves it) and two buttons:
// Done and Can't do it. The answer ends Wait. The page has a key of its own
// (?key=), like a stream; once the hand-over ends its URL is 404.
//
//	/stream/handover/<id>/          the page (GET), needs the key
//	/stream/handover/<id>/answer    the answer (POST outcome=done|declined), needs the key

// Outcomes of a hand-over.
const (
	OutcomeDone          = "done"           // the person pressed Done
	OutcomeDeclined      = "declined"       // the person pressed Can't do it
	OutcomeStreamStopped = "stream_stopped" // the live view went away first
)

// HandOver is one request for a person's help.
type HandOver struct {
	ID        string
	SandboxID string
	Message   string
	URL       string // the page, key included
	viewer    string // the stream's viewer URL (framed by the page)
	key       string

	once    sync.Once
	done    chan struct{}
	outcome string
}

func (h *HandOver) resolve(outcome string) {
	h.once.Do(func() {
		h.outcome = outcome
		close(h.done)
	})
}

// Wait returns the person's answer, or ctx's error (TIMEOUT) first.
func (h *HandOver) Wait(ctx context.Context) (string, error) {
	select {
	case <-h.done:
		return h.outcome, nil
	case <-ctx.Done():
		return "", sandbox.AsError(ctx.Err())
	}
}

// StartHandOver opens a hand-over on the sandbox's running stream, which
// must let viewers drive the desktop (not view_only).
func (s *Service) StartHandOver(sandboxID, message string) (*HandOver, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.bySandbox[sandboxID]
	if e != nil {
		select {
		case <-e.ready:
		default:
			e = nil // still booting: the caller started it and waits for it first
		}
	}
	if e == nil || e.err != nil {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "no stream is running for sandbox %q", sandboxID).
			WithDetail("sandbox_id", sandboxID)
	}
	if e.opts.ViewOnly {
		return nil, sandbox.InvalidArgument("sandbox_id", "the stream of sandbox %s is view_only: nobody can drive the desktop through it; stop_stream first", sandboxID).
			WithDetail("stream_url", e.info.URL)
	}
	viewer := e.info.URL
	if e.ep.URL != "" && e.key != "" {
		// The backend's own noVNC page (e2b) would ask the person for the
		// VNC password: hand it over, as the key is this page's to give.
		viewer += sep(viewer) + "password=" + url.QueryEscape(e.key)
	}
	h := &HandOver{ID: randToken(20), SandboxID: sandboxID, Message: message, viewer: viewer, key: randKey(),
		done: make(chan struct{})}
	h.URL = s.baseURL() + "/stream/handover/" + h.ID + "/?key=" + url.QueryEscape(h.key)
	s.handovers[h.ID] = h
	return h, nil
}

// sep is what joins one more query parameter to u.
func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// dropHandOversLocked removes (and returns) the hand-overs of a sandbox.
func (s *Service) dropHandOversLocked(sandboxID string) []*HandOver {
	var out []*HandOver
	for id, h := range s.handovers {
		if h.SandboxID == sandboxID {
			out = append(out, h)
			delete(s.handovers, id)
		}
	}
	return out
}

// EndHandOver forgets a hand-over: its page answers 404 from now on. An
// unanswered one ends as OutcomeStreamStopped for anyone still waiting.
func (s *Service) EndHandOver(id string) {
	s.mu.Lock()
	h := s.handovers[id]
	delete(s.handovers, id)
	s.mu.Unlock()
	if h != nil {
		h.resolve(OutcomeStreamStopped)
	}
}

var handOverPage = template.Must(template.New("handover").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>The agent needs your help</title>
<style>
html,body{margin:0;height:100%;font:14px/1.4 system-ui,sans-serif;background:#1e1e1e;color:#eee}
body{display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:12px;padding:8px 12px;background:#4a3b10}
header p{flex:1;margin:0;white-space:pre-wrap}
form{display:flex;gap:8px;margin:0}
button{font:inherit;padding:5px 12px;border-radius:5px;border:1px solid #888;cursor:pointer}
button[value=done]{background:#2e9b4f;color:#fff;border-color:#2e9b4f}
iframe{flex:1;border:0;width:100%}
</style></head>
<body>
<header><p><strong>The agent asks you:</strong> {{.Message}}</p>
<form method="post" action="answer?key={{.Key}}">
<button name="outcome" value="done" id="done">Done: hand back to the agent</button>
<button name="outcome" value="declined" id="decline">I can't do this</button>
</form></header>
<iframe src="{{.Viewer}}" title="The sandbox's desktop" allow="clipboard-read; clipboard-write"></iframe>
</body></html>
`))

var handOverAnswered = template.Must(template.New("answered").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Handed back</title>
<style>body{font:15px system-ui,sans-serif;margin:3em;color:#222}</style></head>
<body><h1>{{.}}</h1><p>You can close this page.</p></body></html>
`))

// serveHandOver serves a hand-over's page and takes its answer.
func (s *Service) serveHandOver(w http.ResponseWriter, r *http.Request, id, sub string) {
	s.mu.Lock()
	h := s.handovers[id]
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "no such request (it was answered or has ended)", http.StatusNotFound)
		return
	}
	k := keyOf(r)
	if k == "" || subtle.ConstantTimeCompare([]byte(k), []byte(h.key)) != 1 {
		status := http.StatusForbidden
		if k == "" {
			status = http.StatusUnauthorized
		}
		http.Error(w, "this page needs its key", status)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch sub {
	case "":
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		frame := "'self'"
		if u, err := url.Parse(h.viewer); err == nil && u.Host != "" {
			frame = u.Scheme + "://" + u.Host
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// Nobody may frame this page (its buttons answer for the person).
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src "+frame+
			"; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		_ = handOverPage.Execute(w, struct{ Message, Key, Viewer string }{h.Message, h.key, h.viewer})
	case "answer":
		if !allow(w, r, http.MethodPost) {
			return
		}
		outcome := r.PostFormValue("outcome")
		if outcome != OutcomeDone && outcome != OutcomeDeclined {
			http.Error(w, "outcome must be done or declined", http.StatusBadRequest)
			return
		}
		h.resolve(outcome)
		s.log.Info().Str("sandbox_id", h.SandboxID).Str("handover", h.ID).Str("outcome", h.outcome).Msg("hand-over answered")
		msg := "Thank you: the agent takes over again."
		if h.outcome == OutcomeDeclined {
			msg = "The agent has been told you could not do it."
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
		_ = handOverAnswered.Execute(w, msg)
	default:
		http.NotFound(w, r)
	}
}
