package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// ErrSessionClosed: the session is closed (by Close, its idle limit, the
// client's Close, or its CLI's end), so it takes no more turns.
var ErrSessionClosed = errors.New("agent: session closed")

// DefaultSessionIdle is how long a session none of whose turns runs or
// waits stays open, unless SessionOptions.Idle says otherwise.
const DefaultSessionIdle = 10 * time.Minute

// SessionOptions are a session's own settings.
type SessionOptions struct {
	// Idle closes the session once none of its turns has run or waited
	// for this long. 0: DefaultSessionIdle; < 0: never.
	Idle time.Duration
}

// Session is one CLI process kept for many turns, every turn behind the
// guards. Open one with Orchestrator.OpenSession; it is safe for
// concurrent use (turns run one at a time, in the order they ask); the
// owner must Close it.
//
// The session holds one concurrency slot (limiter.AcquireSession) from
// its opening to its end. Each turn passes the breaker check, takes window
// tokens and a reservation (limiter.AcquireTurn, never behind callers
// waiting for a slot), asks the breaker, and is charged the difference of
// the CLI's cumulative cost (or the estimate, as a query is); the breaker
// hears each turn's outcome. The process runs without --max-budget-usd
// (the CLI would apply it to its cumulative spend): the in-answer watch
// enforces each turn's reservation, and a turn stopped at its cap, or at a
// fault of the caller's (no credentials), ends the session: its CLI is
// killed at once.
type Session struct {
	o      *Orchestrator
	req    cli.Request // as started
	slot   limiter.Permit
	ctl    *cli.Controller
	stop   context.CancelCauseFunc // stops the CLI
	prices *prices

	msgs     chan sessionItem // the stream's items, to the running turn
	pumpDone chan struct{}    // the stream ended: endErr is final
	endErr   error

	// turn is a semaphore of one: the running turn holds it.
	turn chan struct{}
	// current is the running turn's state, for Drain and the handlers.
	current atomic.Pointer[turnState]

	idle  time.Duration
	clock clock.Clock

	mu        sync.Mutex
	idleT     *clock.Timer
	busy      int // turns running or waiting: the idle countdown is held
	closed    bool
	sessionID string
}

type sessionItem struct {
	msg protocol.Message
	err error
}

// turnState is what the session knows of its running turn.
type turnState struct {
	// mu guards w.spend: the turn's goroutine meters the items it sees,
	// and the stream's goroutines what it will not (Session.drain).
	mu        sync.Mutex
	w         *watch
	ctx       context.Context // ends when the turn ends
	cancel    context.CancelCauseFunc
	untrack   func()
	admission limiter.Permit
	permit    breaker.Permit
	fin       *finish
}

// OpenSession starts the CLI for a session of req (whose Prompt, if any,
// is ignored: turns bring their prompts) once a concurrency slot is free;
// ctx bounds that wait and the start, not the session.
func (o *Orchestrator) OpenSession(ctx context.Context, req cli.Request, opt SessionOptions) (*Session, error) {
	req.Prompt = "a session" // validated per turn; the process starts with none
	if err := o.validate(&req); err != nil {
		return nil, err
	}
	req.Prompt = ""
	if !o.enter() {
		return nil, rejection(ErrClosed)
	}
	opened := false
	defer func() {
		if !opened {
			o.active.done()
		}
	}()
	// Close cancels the waiting open with ErrClosed.
	wctx, cancelWait := context.WithCancelCause(ctx)
	defer cancelWait(nil)
	untrackWait := o.track(cancelWait)
	slot, err := o.limiter.AcquireSession(wctx)
	untrackWait()
	if err != nil {
		return nil, o.refuse(wctx, o.queryIDs.Add(1), err)
	}

	// The session's life is its own: only Close, the idle limit or the
	// client's Close end it.
	sctx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	s := &Session{
		o: o, slot: slot, stop: stop, prices: &o.prices,
		msgs: make(chan sessionItem), pumpDone: make(chan struct{}),
		turn:  make(chan struct{}, 1),
		idle:  cmp.Or(opt.Idle, DefaultSessionIdle),
		clock: o.clock,
	}
	untrack := o.track(stop)
	req.Session = true
	req.MaxBudgetUSD = 0       // the watch enforces each turn's reservation
	req.PartialMessages = true // for the watch; hidden unless asked for
	req.Drain = s.drain        // spend the stream did not yield: the running turn's
	req.Handlers = s.turnHandlers(req.Handlers)
	started := make(chan *cli.Controller, 1)
	req.OnStart = func(k *cli.Controller) { started <- k }
	own := req.Reaped // the caller's (its in-process MCP servers' close), after ours
	req.Reaped = func() {
		o.limiter.Settle(slot, 0)
		untrack()
		stop(nil)
		if own != nil {
			own()
		}
		o.active.done()
	}
	s.req = req
	opened = true
	go s.pump(sctx)
	select {
	case s.ctl = <-started:
	case <-s.pumpDone:
		return nil, s.endErr
	}
	s.armIdle()
	return s, nil
}

// pump ranges over the session's stream for its whole life, handing each
// item to the running turn.
func (s *Session) pump(ctx context.Context) {
	defer close(s.pumpDone)
	for msg, err := range cli.Stream(ctx, s.req, s.o.cli) {
		if err != nil && msg == nil && !isDecodeError(err) {
			s.endErr = err // the end of the stream
			continue
		}
		select {
		case s.msgs <- sessionItem{msg, err}:
		case <-ctx.Done():
			if msg != nil {
				s.drain(msg)
			}
		}
	}
	if s.endErr == nil || s.isClosed() {
		s.endErr = ErrSessionClosed // its owner, or its idle limit, closed it
	}
}

func isDecodeError(err error) bool {
	var d *protocol.DecodeError
	return errors.As(err, &d)
}

// drain meters a message the running turn will not see (the stream was
// stopped, or the turn left).
func (s *Session) drain(msg protocol.Message) {
	if t := s.current.Load(); t != nil {
		t.mu.Lock()
		t.w.spend.observe(msg)
		t.mu.Unlock()
	}
}

// turnHandlers wraps the control handlers so that each gets a context
// that also ends when the running turn ends.
func (s *Session) turnHandlers(hs map[string]cli.ControlHandler) map[string]cli.ControlHandler {
	if len(hs) == 0 {
		return hs
	}
	out := make(map[string]cli.ControlHandler, len(hs))
	for sub, h := range hs {
		out[sub] = func(ctx context.Context, r *protocol.ControlRequest) (any, error) {
			if t := s.current.Load(); t != nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				defer context.AfterFunc(t.ctx, cancel)()
			}
			return h(ctx, r)
		}
	}
	return out
}

// Controller sends the session's CLI control requests (interrupt, model,
// permission mode).
func (s *Session) Controller() *cli.Controller { return s.ctl }

// SessionID is the session's id as the CLI reported it at its latest
// turn's init or result ("" before the first turn).
func (s *Session) SessionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionID
}

// Turn sends prompt as the session's next turn and returns its messages
// as a lazy, single-use stream, up to and including the turn's result.
// Turns run one at a time: a second one waits (bounded by its ctx) for the
// first to end. A refusal comes as a single (nil, *RejectedError), a
// closed session as a single (nil, error matching ErrSessionClosed).
// Breaking out of the loop, or ctx ending, interrupts the turn: the
// session takes the next turn once this one has ended (its CLI is killed
// if the turn has not ended within the grace period).
func (s *Session) Turn(ctx context.Context, prompt string, opts TurnOptions) iter.Seq2[protocol.Message, error] {
	var used atomic.Bool
	return func(yield func(protocol.Message, error) bool) {
		if used.Swap(true) {
			yield(nil, errConsumed)
			return
		}
		s.runTurn(ctx, prompt, opts, yield)
	}
}

// TurnOptions are one turn's settings.
type TurnOptions struct {
	// MaxBudgetUSD caps the turn's spend (0: the limiter's QueryBudget),
	// as WithMaxBudgetUSD caps a query's.
	MaxBudgetUSD float64
	// PartialMessages shows the turn's stream events.
	PartialMessages bool
}

func (s *Session) runTurn(ctx context.Context, prompt string, opts TurnOptions, yield func(protocol.Message, error) bool) {
	o := s.o
	check := cli.Request{Prompt: prompt, MaxBudgetUSD: opts.MaxBudgetUSD}
	if err := o.validate(&check); err != nil {
		yield(nil, err)
		return
	}
	s.holdIdle() // a turn that runs or waits keeps the session open
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		s.releaseIdle()
		yield(nil, ctx.Err())
		return
	case <-s.pumpDone:
		s.releaseIdle()
		yield(nil, s.closedError())
		return
	}
	t, err := s.admit(ctx, opts)
	if err != nil {
		<-s.turn
		s.releaseIdle()
		yield(nil, err)
		return
	}
	r := &turnReader{s: s, t: t, yield: o.active.body(yield)}
	if err := s.ctl.SendTurn(t.ctx, prompt); err != nil && t.ctx.Err() != nil {
		// The caller gave up while the turn was being written, which may
		// have reached the CLI whole: it is interrupted and read to its
		// end (bounded by the grace period) like a turn the caller left.
		r.yield(nil, cli.ContextError(t.ctx))
		r.leave()
		go func() {
			r.drain()
			r.settle()
		}()
		return
	} else if err != nil {
		<-s.pumpDone // stdin is closed: the CLI is gone, or going; its end says why
		r.end(cmp.Or(s.endErr, err))
		r.settle()
		return
	}
	if r.read() {
		r.settle()
		return
	}
	// The caller left: the turn is interrupted and read to its end in the
	// background; the next turn waits for it.
	go func() {
		r.drain()
		r.settle()
	}()
}

// admit passes a turn through the guards: the breaker's check, the
// limiter's tokens and reservation (no slot: the session holds one), the
// breaker's permission. On success the turn is the session's current one,
// counted as active until settle.
func (s *Session) admit(ctx context.Context, opts TurnOptions) (*turnState, error) {
	o := s.o
	if s.isClosed() {
		return nil, s.closedError()
	}
	if !o.enter() { // the client's Close ends its sessions: both are true
		return nil, fmt.Errorf("%w: %w", ErrSessionClosed, rejection(ErrClosed))
	}
	// Close cancels qctx with ErrClosed, whether the turn waits or runs.
	qctx, cancel := context.WithCancelCause(ctx)
	untrack := o.track(cancel)
	id := o.queryIDs.Add(1)
	entered := o.clock.Now()
	o.traceEnv(ctx, id) // a turn's span; its CLI started with the session
	fail := func(err error) (*turnState, error) {
		untrack()
		cancel(nil)
		o.active.done()
		return nil, o.refuse(qctx, id, err)
	}
	if err := o.breaker.Check(qctx); err != nil {
		return fail(err)
	}
	admission, err := o.admit(qctx, id, s.SessionID(), limiter.KindTurn, opts.MaxBudgetUSD)
	if err != nil {
		return fail(err)
	}
	permit, err := o.breaker.Allow(qctx)
	if err != nil {
		o.limiter.Release(admission)
		return fail(err)
	}
	admitted := o.admitted(id, s.SessionID(), entered, admission)
	if o.events.on() {
		o.events.emit(QueryStarted{ID: id, At: admitted})
	}
	t := &turnState{
		ctx: qctx, cancel: cancel, untrack: untrack, admission: admission, permit: permit,
		w: &watch{
			o: o, req: &s.req, spend: newMeter(s.prices), capUSD: admission.CapUSD,
			wantPartial: opts.PartialMessages,
			stop:        s.stop, // a turn over its cap, or at the caller's fault, ends the session
		},
	}
	t.fin = t.w.fin.init(o, id, s.SessionID(), admitted)
	t.w.spend.sawInit = true // the process is running: any turn may bill
	s.current.Store(t)
	return t, nil
}

// turnReader reads one turn's items from the session's stream.
type turnReader struct {
	s     *Session
	t     *turnState
	yield func(protocol.Message, error) bool
	left  bool // the caller broke out, or its context ended: the turn is interrupted
	ended bool // the turn's result came, or the session ended
}

// see is watch.see for the turn's item.
func (r *turnReader) see(msg protocol.Message, err error) (error, bool) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	r.t.fin.message(msg, r.s.o.clock.Now())
	return r.t.w.see(msg, err, func(err error) error { return r.s.o.streamError(r.t.ctx, r.t.ctx, err) })
}

// read yields the turn's items up to its result; it returns false when
// the caller left first (the turn is then interrupted).
func (r *turnReader) read() bool {
	done := r.t.ctx.Done()
	for {
		select {
		case it := <-r.s.msgs:
			err, show := r.see(it.msg, it.err)
			r.s.noteSession(it.msg)
			result := r.isResult(it.msg)
			r.ended = result
			if show && !r.yield(it.msg, err) {
				if result {
					return true // the caller stops at the result: the turn is over
				}
				r.leave()
				return false
			}
			if result {
				if res := r.t.w.end.Result; res.IsError {
					r.yield(nil, protocol.ResultError(res))
				}
				return true
			}
		case <-r.s.pumpDone:
			r.end(r.s.endErr)
			return true
		case <-done:
			r.yield(nil, cli.ContextError(r.t.ctx))
			r.leave()
			return false
		}
	}
}

func (r *turnReader) isResult(msg protocol.Message) bool {
	_, ok := msg.(*protocol.ResultMessage)
	return ok
}

// end yields the session's end as the turn's error.
func (r *turnReader) end(err error) {
	r.ended = true
	err, _ = r.see(nil, fmt.Errorf("%w: %w", ErrSessionClosed, err))
	r.yield(nil, err)
}

// leave marks the turn as left by its caller: drain interrupts it.
func (r *turnReader) leave() { r.left = true }

// drain interrupts the turn its caller left and reads the rest of it,
// metering it, up to its result or the session's end; a CLI that has not
// ended the turn within the grace period is stopped (the session ends).
func (r *turnReader) drain() {
	grace := cmp.Or(r.s.o.cli.GracePeriod, cli.DefaultGracePeriod)
	ictx, cancel := context.WithTimeout(context.WithoutCancel(r.t.ctx), grace)
	defer cancel()
	// The answer is routed by the reader of stdout, whatever this
	// goroutine is doing; the timer below stops a CLI that never answers.
	r.s.ctl.Interrupt(ictx) //nolint:errcheck // see above
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for {
		select {
		case it := <-r.s.msgs:
			r.see(it.msg, it.err)
			r.s.noteSession(it.msg)
			if r.isResult(it.msg) {
				return
			}
		case <-r.s.pumpDone:
			return
		case <-timer.C:
			r.s.stop(fmt.Errorf("agent: session turn not ended %v after its interrupt", grace))
		}
	}
}

// settle ends the turn: the breaker hears its outcome (none for a turn the
// caller left, or the client closed), the limiter charges it, and the
// next turn may go.
func (r *turnReader) settle() {
	s, t := r.s, r.t
	s.current.Store(nil)
	stopped := r.left || stoppedByClose(context.Cause(t.ctx))
	outcome, counted := t.w.outcome(r.ended, stopped) // may run Config.Classify: not under t.mu
	s.o.breaker.Report(t.permit, outcome)
	t.mu.Lock()
	cost := t.w.charge(ownCost(t.w.end.Result))
	estimated := t.w.estimated()
	t.fin.ended(outcome, counted, t.w)
	t.mu.Unlock()
	s.o.limiter.Settle(t.admission, cost)
	t.fin.settled(cost, estimated, false)
	t.untrack()
	t.cancel(nil)
	s.o.active.done()
	<-s.turn
	s.releaseIdle()
}

// ownCost is the turn's result with its own cost (the difference of the
// CLI's cumulative total) as TotalCostUSD, what charge expects.
func ownCost(res *protocol.ResultMessage) *protocol.ResultMessage {
	if res == nil {
		return nil
	}
	c := *res
	c.TotalCostUSD = res.TurnCostUSD
	return &c
}

// noteSession keeps the session id the CLI reports.
func (s *Session) noteSession(msg protocol.Message) {
	var id string
	switch m := msg.(type) {
	case *protocol.SystemMessage:
		id = m.SessionID
	case *protocol.ResultMessage:
		id = m.SessionID
	}
	if id != "" {
		s.mu.Lock()
		s.sessionID = id
		s.mu.Unlock()
	}
}

// Close ends the session: a running turn is stopped with the CLI;
// otherwise the CLI's stdin closes and the CLI exits (stopped if it has not
// within the grace period). Close returns once the CLI is reaped and its
// slot freed. Idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	if s.idleT != nil {
		s.idleT.Stop()
	}
	s.mu.Unlock()
	if !already {
		if s.current.Load() != nil {
			s.stop(ErrSessionClosed)
		} else {
			s.ctl.CloseInput()
			t := time.AfterFunc(cmp.Or(s.o.cli.GracePeriod, cli.DefaultGracePeriod), func() { s.stop(ErrSessionClosed) })
			defer t.Stop()
		}
	}
	<-s.pumpDone
	return nil
}

// Done is closed once the session has ended (closed, idle, stopped with
// the client, or its CLI gone) and its CLI is reaped.
func (s *Session) Done() <-chan struct{} { return s.pumpDone }

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closedError is the error of a turn asked of a closed session.
func (s *Session) closedError() error {
	select {
	case <-s.pumpDone:
		if s.endErr != nil && !errors.Is(s.endErr, ErrSessionClosed) {
			return fmt.Errorf("%w: %w", ErrSessionClosed, s.endErr)
		}
	default:
	}
	return ErrSessionClosed
}

// holdIdle stops the idle countdown while a turn runs or waits.
func (s *Session) holdIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy++
	if s.idleT != nil {
		s.idleT.Stop()
	}
}

// releaseIdle ends a holdIdle; the last one restarts the countdown.
func (s *Session) releaseIdle() {
	s.mu.Lock()
	s.busy--
	s.mu.Unlock()
	s.armIdle()
}

// armIdle starts the idle countdown unless a turn runs or waits.
func (s *Session) armIdle() {
	if s.idle < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.busy > 0 {
		return
	}
	if s.idleT == nil {
		s.idleT = s.clock.AfterFunc(s.idle, func() { s.Close() })
		return
	}
	s.idleT.Reset(s.idle)
}
