package tools

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vmservice/vmservice/mcpapp"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetHuman: a person in the loop (hand_over).
const SetHuman = "human"

var _ = register(SetHuman, handOver)

// Bounds of hand_over's wait.
const (
	minHandOver     = 10 * time.Second
	maxHandOver     = time.Hour
	defaultHandOver = 10 * time.Minute
)

// HandOverArgs are hand_over's arguments.
type HandOverArgs struct {
	SandboxRef
	Message        string `json:"message" jsonschema:"minLength=1,maxLength=2000" jsonschema_description:"What the person should do on the desktop, in a sentence or two (e.g. \"Log in as alice; the password is in your password manager\")."`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema_description:"How long to wait for the person, {min} to {max} seconds (default {default})."`
}

// JSONSchemaExtend declares the wait's bounds where they are defined.
func (HandOverArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	toolkit.Bound(s, "timeout_seconds", int(minHandOver.Seconds()), int(maxHandOver.Seconds()))
	toolkit.Fill(s, "timeout_seconds", "default", int(defaultHandOver.Seconds()))
}

// Outcomes of hand_over beyond the page's (stream.OutcomeDone, Declined,
// StreamStopped).
const (
	outcomeCancelled = "cancelled" // the client dismissed the request
	outcomeTimedOut  = "timed_out" // nobody finished in time
)

// HandOverResult says how the hand-over ended.
type HandOverResult struct {
	SandboxID     string  `json:"sandbox_id"`
	HandoverID    string  `json:"handover_id" jsonschema_description:"The elicitation id of the request."`
	Outcome       string  `json:"outcome" jsonschema:"enum=done,enum=declined,enum=cancelled,enum=timed_out,enum=stream_stopped" jsonschema_description:"done: the person finished and handed back; declined: they would not or could not (in the client, or with \"I can't do this\"); cancelled: the client dismissed the request; timed_out: nobody finished in time; stream_stopped: the live view went away."`
	WaitedSeconds float64 `json:"waited_seconds"`
}

// Text is the short text block.
func (r HandOverResult) Text() string {
	switch r.Outcome {
	case stream.OutcomeDone:
		return fmt.Sprintf("the person is done and handed %s back (after %.0f s): take a screenshot to see what changed", r.SandboxID, r.WaitedSeconds)
	case stream.OutcomeDeclined:
		return fmt.Sprintf("the person declined to act on %s", r.SandboxID)
	case outcomeTimedOut:
		return fmt.Sprintf("nobody finished on %s in %.0f s", r.SandboxID, r.WaitedSeconds)
	}
	return fmt.Sprintf("hand-over of %s ended: %s", r.SandboxID, r.Outcome)
}

// pendingHandOver is a hand-over asked of a client on the 2026-07-28
// protocol, waiting for the call that carries its answer.
type pendingHandOver struct {
	h        *stream.HandOver
	owner    string
	started  time.Time
	deadline time.Time
}

// handOvers holds the pending ones by id; each is forgotten when it ends
// or at its deadline (a client that never comes back).
type handOvers struct{ m sync.Map }

func (hs *handOvers) add(p *pendingHandOver, end func()) {
	hs.m.Store(p.h.ID, p)
	time.AfterFunc(time.Until(p.deadline)+time.Minute, func() {
		if _, ok := hs.m.LoadAndDelete(p.h.ID); ok {
			end()
		}
	})
}

func (hs *handOvers) take(id string) *pendingHandOver {
	v, ok := hs.m.LoadAndDelete(id)
	if !ok {
		return nil
	}
	return v.(*pendingHandOver)
}

// elicitURL tells whether the client takes URL-mode elicitation: per
// request on the 2026-07-28 protocol, from initialize before.
func elicitURL(ctx context.Context) bool {
	var caps *mcp.ClientCapabilities
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		caps = info.ClientCapabilities
	} else if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		c := s.GetClientCapabilities()
		caps = &c
	}
	return caps != nil && caps.Elicitation != nil && caps.Elicitation.URL != nil
}

const handOverKey = "handover" // the elicitation's key in a multi round-trip

func handOver(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "hand_over", Title: "Hand over to the person",
		Description: "Ask the person to do something on the sandbox's desktop themselves (log in, solve a captcha, confirm a payment) and wait. " +
			"They get a link (URL-mode elicitation) to a page with your message and the live desktop under their control; the call returns when they press Done or " +
			"\"I can't do this\", decline in their client, or timeout_seconds pass. Needs a client with URL-mode elicitation (else UNSUPPORTED).",
		Hints: toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Meta:  mcpapp.ToolMeta()},
		func(ctx context.Context, sb *sandbox.Sandbox, a *HandOverArgs) (HandOverResult, error) {
			ss, err := tb.streams()
			if err != nil {
				return HandOverResult{}, err
			}
			if rt := toolkit.RoundTrip(ctx); rt.RequestState != "" {
				return tb.handOverAnswered(ctx, ss, sb, rt)
			}
			if !elicitURL(ctx) {
				return HandOverResult{}, sandbox.Errorf(sandbox.CodeUnsupported,
					"hand_over needs a client that supports URL-mode elicitation (MCP 2025-11-25 or later); ask the person in the conversation instead, with a link from start_stream").
					WithDetail("capability", "elicitation.url")
			}
			wait := defaultHandOver
			if a.TimeoutSeconds != 0 {
				wait = time.Duration(a.TimeoutSeconds) * time.Second
			}
			// The live view, in control: the running stream unless it is
			// view_only (then StartHandOver says so), or a new one.
			if _, ok := ss.Get(sb.ID()); !ok {
				if _, err := ss.Start(ctx, sb, stream.Options{RequireAuth: true, Quality: "medium", FrameRate: 30}); err != nil {
					return HandOverResult{}, err
				}
			}
			h, err := ss.StartHandOver(sb.ID(), a.Message)
			if err != nil {
				return HandOverResult{}, err
			}
			now := time.Now()
			p := &pendingHandOver{h: h, owner: toolkit.Principal(ctx).ID, started: now, deadline: now.Add(wait)}
			msg := fmt.Sprintf("The agent asks you to do something on the desktop of sandbox %s: %s\n"+
				"Open the link: the desktop is live and yours to drive. Press Done when you have finished (or \"I can't do this\").", sb.ID(), a.Message)
			if server.IsModernRequest(ctx) {
				// 2026-07-28: ask through the result; the client calls again
				// with the answer (handOverAnswered).
				tb.handovers.add(p, func() { ss.EndHandOver(h.ID) })
				return HandOverResult{}, &toolkit.InputRequired{Result: server.NewInputRequestBuilder(h.ID).
					Elicit(handOverKey, mcp.ElicitationParams{Mode: mcp.ElicitationModeURL, Message: msg, ElicitationID: h.ID, URL: h.URL}).
					ToolResult()}
			}
			// Earlier protocols: ask on the session, bounded by the wait.
			srv, sess := server.ServerFromContext(ctx), server.ClientSessionFromContext(ctx)
			ectx, cancel := context.WithDeadline(ctx, p.deadline)
			res, err := srv.RequestURLElicitation(ectx, sess, h.ID, h.URL, msg)
			cancel()
			if err != nil {
				if ctx.Err() == nil && time.Now().After(p.deadline) {
					ss.EndHandOver(h.ID)
					return p.result(sb, outcomeTimedOut), nil
				}
				ss.EndHandOver(h.ID)
				return HandOverResult{}, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the client did not take the hand-over request").WithCause(err)
			}
			out, err := p.wait(ctx, res.Action)
			ss.EndHandOver(h.ID)
			if err != nil {
				return HandOverResult{}, err
			}
			if res.Action == mcp.ElicitationResponseActionAccept && sess != nil {
				_ = srv.SendElicitationComplete(ctx, sess, h.ID)
			}
			return p.result(sb, out), nil
		})
}

// handOverAnswered is the second round on the 2026-07-28 protocol: the
// client's answer to the elicitation, under the state it was given.
func (tb *Toolbox) handOverAnswered(ctx context.Context, ss Streams, sb *sandbox.Sandbox, rt mcp.MultiRoundTripParams) (HandOverResult, error) {
	p := tb.handovers.take(rt.RequestState)
	if p == nil || p.h.SandboxID != sb.ID() || p.owner != toolkit.Principal(ctx).ID {
		if p != nil { // not the caller's: put it back for its owner
			tb.handovers.m.Store(p.h.ID, p)
		}
		return HandOverResult{}, sandbox.InvalidArgument("requestState", "no hand-over %q is waiting for this sandbox (it ended, or was never asked)", rt.RequestState)
	}
	defer ss.EndHandOver(p.h.ID)
	answer := server.ElicitationResponse(rt.InputResponses, handOverKey)
	if answer == nil {
		return HandOverResult{}, sandbox.InvalidArgument("inputResponses", "the answer to the hand-over request (%q) is missing", handOverKey)
	}
	out, err := p.wait(ctx, answer.Action)
	if err != nil {
		return HandOverResult{}, err
	}
	return p.result(sb, out), nil
}

// wait turns the client's answer into the outcome: an accepted request
// waits for the page's answer until the deadline.
func (p *pendingHandOver) wait(ctx context.Context, action mcp.ElicitationResponseAction) (string, error) {
	switch action {
	case mcp.ElicitationResponseActionDecline:
		return stream.OutcomeDeclined, nil
	case mcp.ElicitationResponseActionAccept:
	default:
		return outcomeCancelled, nil
	}
	wctx, cancel := context.WithDeadline(ctx, p.deadline)
	defer cancel()
	out, err := p.h.Wait(wctx)
	if err != nil {
		if ctx.Err() != nil { // the caller went away
			return "", sandbox.AsError(ctx.Err())
		}
		return outcomeTimedOut, nil
	}
	return out, nil
}

func (p *pendingHandOver) result(sb *sandbox.Sandbox, outcome string) HandOverResult {
	return HandOverResult{SandboxID: sb.ID(), HandoverID: p.h.ID, Outcome: outcome,
		WaitedSeconds: float64(time.Since(p.started).Milliseconds()) / 1e3}
}
