package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// The warm policy: a CLI started ahead of its query (a parked spare), or
// kept after one (reuse). It is started like a session (stdin stays open
// across results) with no turn and no initialize; a Stream whose
// Request.Warm names it claims it, sends the request's initialize (if
// any) and turn, and ends at that turn's result like a one-shot. Then the
// process is either handed back (Request.Reuse: reset with /clear first)
// or ended like a one-shot (stdin closed, the CLI exits).

// clearCommand is the user line that makes the CLI start a new
// conversation in the same process (seen on 2.1.197: a result with a new
// session_id, and the next request holds nothing of the earlier turns).
const clearCommand = "/clear"

// errWarmClosed is the stop cause of a warm process its owner closed.
var errWarmClosed = errors.New("agent: warm claude CLI closed by its owner")

// Warm is a started CLI waiting for its first (or next) query. Its flags,
// environment and working directory are fixed (see Request.WarmKey); the
// control handlers, Drain and initialize come with the Request that claims
// it. A Warm is used by one owner at a time: a pool while it is parked, a
// Stream while it is claimed. Close stops it; the owner must call Close
// on every Warm it does not hand to a Stream.
type Warm struct {
	p *process

	mu          sync.Mutex
	uses        int  // streams that claimed it
	initialized bool // a claim sent an initialize (Request.WarmKey's reuse part names it)
	dirty       bool // it served a query: the next claim resets it first
}

// StartWarm starts the CLI for spec's flags, environment and working
// directory (spec's Prompt, Initialize, Handlers, Drain, Reaped, OnStart
// and MaxBudgetUSD are not used: a warm process has no cap of its own,
// the client's watch of the answer is its cap) and leaves it waiting on
// stdin. Starting makes no API request that is billed (the CLI sends a
// HEAD / to the API). The process belongs to no caller's context: its
// owner stops it (Close), or the Stream that claims it.
func StartWarm(spec Request, opt Options) (*Warm, error) {
	opt = opt.withDefaults()
	spec.Prompt, spec.Initialize, spec.Handlers, spec.Drain = "", nil, nil, nil
	spec.Reaped, spec.OnStart, spec.Warm, spec.Reuse = nil, nil, nil, nil
	spec.MaxBudgetUSD, spec.Session, spec.TraceEnv = 0, true, nil
	p, err := launch(context.Background(), &spec, &opt) // owned, not a caller's: see above

	if err != nil {
		return nil, err
	}
	return &Warm{p: p}, nil
}

// Alive reports whether the CLI still runs and was not asked to stop.
func (w *Warm) Alive() bool {
	select {
	case <-w.p.exited:
		return false
	default:
		return w.p.ctx.Err() == nil
	}
}

// Exited is closed once the CLI has exited.
func (w *Warm) Exited() <-chan struct{} { return w.p.exited }

// Uses is how many streams have claimed the process.
func (w *Warm) Uses() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.uses
}

// Stop asks the CLI to stop without waiting (a claimed one's stream then
// ends with an error; see Close for a parked one).
func (w *Warm) Stop() { w.p.stop(errWarmClosed) }

// Close stops the CLI, if it still runs, and waits until it is reaped and
// every goroutine of the process has returned. Safe to call more than
// once; it must not be called on a Warm a Stream has claimed.
func (w *Warm) Close() {
	w.p.close()
	w.p.idle.stop()
	w.p.stop(nil)
}

// ExitError describes how a warm CLI that died ended (exit code, signal,
// stderr tail); valid once Exited is closed and the process reaped.
func (w *Warm) ExitError() error {
	<-w.p.done
	return w.p.exitError()
}

// claim binds the process to req's stream: its Drain and handlers, then,
// for a process that served a query before, /clear (see reset), then its
// initialize (unless an earlier claim sent it: a reused process is reused
// only for the same initialize, see WarmKey) and turn. resetUSD is what
// the reset cost (the CLI reports nothing for /clear, seen on 2.1.197).
func (w *Warm) claim(ctx context.Context, req *Request, timeout time.Duration) (resetUSD float64, err error) {
	w.mu.Lock()
	w.uses++
	dirty := w.dirty
	initialize := req.Initialize != nil && !w.initialized
	w.initialized = w.initialized || req.Initialize != nil
	w.mu.Unlock()
	p := w.p
	p.ctl.setHandlers(req.Handlers)
	if dirty {
		if resetUSD, err = w.reset(ctx, timeout); err != nil {
			return 0, err
		}
	}
	p.inbox.setDrain(req.Drain)
	if initialize {
		if _, err := p.ctl.request(ctx, protocol.ControlInitialize, req.Initialize); err != nil {
			err = fmt.Errorf("agent: initialize the claude CLI: %w", err)
			p.stop(err)
			return 0, err
		}
	}
	return resetUSD, p.ctl.sendTurn(ctx, req.Prompt)
}

// release runs when a claimed process's stream returns with its turn
// answered and the CLI waiting for the next: with req.Reuse, the process
// is detached from req (what the inbox holds goes to req.Drain) and,
// after Reaped, handed to req.Reuse, to be reset at its next claim;
// otherwise its stdin closes and it exits like a one-shot's, in the
// background.
func (w *Warm) release(req *Request) {
	p := w.p
	if req.Reuse == nil {
		go func() {
			p.ctl.closeStdin() // its one turn is done: the CLI exits
			w.end(true)
			req.reaped()
		}()
		return
	}
	for _, it := range p.inbox.detach() { // what came after the result
		if it.err == nil && req.Drain != nil {
			req.Drain(it.msg)
		}
	}
	p.ctl.setHandlers(nil)
	w.mu.Lock()
	w.dirty = true
	w.mu.Unlock()
	req.reaped()
	req.Reuse(w)
}

// end ends the process (see process.end) and its idle watchdog.
func (w *Warm) end(done bool) {
	w.p.end(done)
	w.p.idle.stop()
}

// errResetTimeout stops a CLI that did not answer /clear in time.
var errResetTimeout = errors.New("agent: claude CLI did not answer /clear in time")

// reset writes /clear and reads its turn to its result, which it returns
// the cost of; its messages are the transport's, not the query's. A
// failure stops the CLI.
func (w *Warm) reset(ctx context.Context, timeout time.Duration) (float64, error) {
	p := w.p
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errResetTimeout)
	defer cancel()
	defer context.AfterFunc(ctx, func() { p.stop(context.Cause(ctx)) })()
	if err := p.ctl.sendTurn(ctx, clearCommand); err != nil {
		return 0, err
	}
	for {
		it, ok, err := p.inbox.take()
		switch {
		case !ok && err != nil:
			return 0, err
		case !ok && ctx.Err() != nil:
			return 0, fmt.Errorf("agent: reset the claude CLI: %w", context.Cause(ctx))
		case !ok:
			return 0, fmt.Errorf("agent: reset the claude CLI: %w", ErrCLIEnded)
		}
		res, isResult := it.msg.(*protocol.ResultMessage)
		switch {
		case !isResult:
			continue
		case res.IsError:
			err := fmt.Errorf("agent: reset the claude CLI: %w", protocol.ResultError(res))
			p.stop(err)
			return 0, err
		}
		return res.TurnCostUSD, nil
	}
}

// streamWarm is Stream for a claimed warm process: it writes req's turn
// and yields its messages up to the result. A turn answered (its result
// read, the CLI alive) is released (see Warm.release); any other end stops
// the process, as a one-shot's.
func streamWarm(ctx context.Context, req Request, opt Options, yield func(protocol.Message, error) bool) {
	w := req.Warm
	p := w.p
	st := runState{warm: true}
	defer func() { // also when the caller's loop body panics
		if st.claimed && p.ctl.atRest() && p.ctx.Err() == nil {
			w.release(&req)
			return
		}
		go func() {
			w.end(false)
			req.reaped()
		}()
	}()
	if err := ctx.Err(); err != nil {
		yield(nil, ContextError(ctx))
		return
	}
	defer context.AfterFunc(ctx, func() { p.stop(context.Cause(ctx)) })()
	var err error
	if st.resetUSD, err = w.claim(ctx, &req, opt.ControlTimeout); err != nil {
		if ctx.Err() != nil {
			err = ContextError(ctx)
		}
		yield(nil, err)
		return
	}
	st.claimed = true
	run(ctx, p, yield, &st)
}

// WarmKey returns what identifies the processes that can serve r: its
// working directory, flags and environment, all fixed when the CLI starts
// (not its prompt, budget cap, handlers or initialize). reuse is the key
// of a process that served a query and was reset: key plus r's
// initialize, which a CLI keeps. ok is false for a request no warm
// process may serve: a session, one that resumes or names a conversation
// (--resume, --continue, --session-id, --fork-session) or one with
// in-process MCP servers (they connect while the CLI starts).
func (r *Request) WarmKey() (key, reuse string, ok bool) {
	if r.Session || r.Resume != "" || r.Continue || r.SessionID != "" || r.ForkSession || r.Handlers[protocol.ControlMCPMessage] != nil {
		return "", "", false
	}
	spec := *r
	spec.MaxBudgetUSD = 0
	b, err := json.Marshal([]any{r.WorkingDir, spec.args(), r.Env})
	if err != nil { // strings only: never
		return "", "", false
	}
	key, reuse = string(b), string(b)
	if r.Initialize != nil {
		init, err := json.Marshal(r.Initialize) // map keys sorted: one text per payload
		if err != nil {
			return "", "", false
		}
		reuse = key + string(init)
	}
	return key, reuse, true
}
