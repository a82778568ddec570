// Package orchestrator is the guarded pipeline every query passes through:
// circuit check, rate-limiter admission, breaker permission, the CLI
// subprocess, then settlement of cost, outcome and concurrency slot.
package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// ErrQueryTimeout: the query ran longer than Config.QueryTimeout and its CLI
// process was stopped.
var ErrQueryTimeout = errors.New("agent: query timeout")

// errConsumed is yielded when a Query iterator is ranged a second time.
var errConsumed = errors.New("agent: query already consumed: a Query iterator is single-use")

// Config of an Orchestrator. The guards' own configs keep their zero-value
// defaults.
type Config struct {
	Limiter      limiter.Config
	Breaker      breaker.Config
	CLI          cli.Options
	Pool         PoolConfig    // zero: no warm processes
	QueryTimeout time.Duration // 0: no limit beyond the caller's context
	MaxPause     time.Duration // bounds a pause the API signals; 0: DefaultMaxPause
	Classify     Classifier    // nil: Classify
	Clock        clock.Clock   // nil: real time; also given to the guards and the CLI watchdog
	Logger       *slog.Logger  // nil: discard
	// Observe, when set, is given every Event, in order, from one
	// goroutine (see events): it delays nothing.
	Observe func(Event)
	// Trace, when set, is called in the query's goroutine as a query or
	// a turn begins, with the caller's context and the query's id; the
	// "KEY=VALUE" entries it returns go to the query's CLI (TraceEnv). A
	// panic is recovered: no entries.
	Trace func(ctx context.Context, id uint64) []string
}

// Orchestrator runs queries through the limiter, the breaker and the CLI.
// It is safe for concurrent use. New starts the two guard actors; the caller
// must call Close to stop them and every running query.
type Orchestrator struct {
	limiter  *limiter.Limiter
	breaker  *breaker.Breaker
	cli      cli.Options
	timeout  time.Duration
	classify Classifier
	clock    clock.Clock
	log      *slog.Logger
	// callbacks runs the user's callbacks (see callbacks.go).
	callbacks *callback.Guard
	pauses    pauses
	pool      *pool
	budgeted  bool // the limiter has a budget: every query has a cap
	events    *events
	trace     func(ctx context.Context, id uint64) []string
	refusals  refusals
	queryIDs  atomic.Uint64

	unsubscribe func()
	prices      prices // learned from results, shared by every query

	mu      sync.Mutex
	closed  bool
	nextID  uint64
	cancels map[uint64]context.CancelCauseFunc // running queries
	active  *activity                          // queries between entry and settlement
	done    chan struct{}                      // closed when the first Close has finished
}

// New validates cfg and starts the limiter and breaker actors.
func New(cfg Config) (*Orchestrator, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.New()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Classify == nil {
		cfg.Classify = Classify
	}
	if cfg.QueryTimeout < 0 {
		return nil, fmt.Errorf("agent: QueryTimeout must not be negative, got %v", cfg.QueryTimeout)
	}
	if cfg.MaxPause < 0 {
		return nil, fmt.Errorf("agent: MaxPause must not be negative, got %v", cfg.MaxPause)
	}
	guard := callback.New(cfg.Logger, cfg.Clock)
	cfg.Logger = slog.New(callback.Handler(cfg.Logger.Handler(), guard))
	cfg.CLI.Callbacks = guard
	cfg.CLI.Tracker = new(cli.Tracker) // Close waits for every process
	if cfg.CLI.Counters == nil {
		cfg.CLI.Counters = new(cli.Counters)
	}
	cfg.Limiter.Clock, cfg.Limiter.Logger = cfg.Clock, cfg.Logger
	cfg.Breaker.Clock, cfg.Breaker.Logger = cfg.Clock, cfg.Logger
	cfg.CLI.Clock = cfg.Clock

	lim, err := limiter.New(cfg.Limiter)
	if err != nil {
		return nil, err
	}
	brk, err := breaker.New(cfg.Breaker)
	if err != nil {
		lim.Close()
		return nil, err
	}
	o := &Orchestrator{
		limiter:   lim,
		breaker:   brk,
		cli:       cfg.CLI,
		timeout:   cfg.QueryTimeout,
		classify:  cfg.Classify,
		clock:     cfg.Clock,
		log:       cfg.Logger,
		callbacks: guard,
		cancels:   make(map[uint64]context.CancelCauseFunc),
		done:      make(chan struct{}),
		pauses:    pauses{max: cmp.Or(cfg.MaxPause, DefaultMaxPause)},
		active:    newActivity(),
		pool:      newPool(cfg.Pool, cfg.CLI, cfg.Clock, cfg.Logger),
		budgeted:  cfg.Limiter.CostBudgetHourly != limiter.Unlimited,
		events:    newEvents(cfg.Observe, guard),
		trace:     cfg.Trace,
		refusals:  refusals{counts: map[string]int64{}, logged: map[string]time.Time{}, quiet: map[string]int64{}},
	}
	o.unsubscribe = brk.Subscribe(o.breakerChanged)
	return o, nil
}

// Stats is a snapshot of both guards.
type Stats struct {
	Limiter limiter.Stats
	Breaker breaker.Stats
	Pool    PoolStats
}

// Stats returns a snapshot of the limiter, the breaker and the pool.
func (o *Orchestrator) Stats() Stats {
	return Stats{Limiter: o.limiter.Stats(), Breaker: o.breaker.Stats(), Pool: o.pool.Stats()}
}

// ObserverDropped counts the events dropped because the observer was too
// far behind.
func (o *Orchestrator) ObserverDropped() int64 { return o.events.dropped.Load() }

// Prewarm declares the key of req (its flags, environment and working
// directory, as a query with these options would run): the pool keeps its
// spares from now on, whether or not such queries come. It reports false
// when req cannot be served warm (see cli.Request.WarmKey) or the pool
// keeps no spares. Invalid options are an error, as for a query.
func (o *Orchestrator) Prewarm(req cli.Request) (bool, error) {
	check := req
	check.Prompt = "prewarm" // its options are checked as a query's; it has no prompt
	if err := o.validate(&check); err != nil {
		return false, err
	}
	if !o.enter() {
		return false, ErrClosed
	}
	defer o.active.done()
	// As run sets it: a query with a cap is watched through the partial
	// messages.
	req.PartialMessages = req.PartialMessages || o.budgeted || req.MaxBudgetUSD > 0
	return o.pool.prewarm(&req), nil
}

// Close stops every running query (their processes are terminated and
// reaped), wakes every waiting one with ErrClosed, stops the guard actors and
// waits for all of it, except for queries then in their loop body (Close
// may be called from one): those have their CLI stopped and end at their
// next step. It is idempotent.
func (o *Orchestrator) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return nil
	}
	o.closed = true
	for _, cancel := range o.cancels {
		cancel(ErrClosed)
	}
	o.mu.Unlock()
	o.pool.close() // the parked processes, and those between two queries

	// Every query, waiting or running, has been told; once they have all
	// settled (charges included), but for those in their loop body (Close
	// may be called from one), the guards close.
	o.active.wait()
	o.cli.Tracker.Wait() // the processes of queries in their loop body too: Close stopped them
	o.limiter.Close()
	o.breaker.Close()
	o.unsubscribe()
	o.events.close()
	o.waitCallbacks()
	close(o.done)
	return nil
}

// Query returns a lazy, single-use stream of the messages of one guarded
// CLI run. Nothing happens until it is ranged over. Refusals come as a
// single (nil, *RejectedError). Breaking out of the loop stops the process
// (reaped in the background, holding its concurrency slot until then, and
// waited for by Close), and counts neither way for the breaker.
func (o *Orchestrator) Query(ctx context.Context, req cli.Request) iter.Seq2[protocol.Message, error] {
	var used atomic.Bool
	return func(yield func(protocol.Message, error) bool) {
		if used.Swap(true) {
			yield(nil, errConsumed)
			return
		}
		o.run(ctx, req, yield)
	}
}

// enter registers a query so Close waits for it; false once closed.
func (o *Orchestrator) enter() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.active.add()
	return true
}

// track registers the cancel of a running query; the returned func removes it.
func (o *Orchestrator) track(cancel context.CancelCauseFunc) (untrack func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		cancel(ErrClosed)
		return func() {}
	}
	id := o.nextID
	o.nextID++
	o.cancels[id] = cancel
	return func() {
		o.mu.Lock()
		delete(o.cancels, id)
		o.mu.Unlock()
	}
}

func (o *Orchestrator) run(ctx context.Context, req cli.Request, yield func(protocol.Message, error) bool) {
	if err := o.validate(&req); err != nil {
		yield(nil, err)
		return
	}
	if !o.enter() {
		yield(nil, rejection(ErrClosed))
		return
	}
	streaming := false // from the stream on, req.Reaped settles and leaves
	defer func() {
		if !streaming {
			o.active.done()
		}
	}()
	yield = o.active.body(yield)
	// Close cancels qctx with ErrClosed, whether the query waits or runs.
	qctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer o.track(cancel)()
	id := o.queryIDs.Add(1)
	entered := o.clock.Now()
	req.TraceEnv = o.traceEnv(ctx, id)

	if err := o.breaker.Check(qctx); err != nil {
		yield(nil, o.refuse(qctx, id, err))
		return
	}
	admission, err := o.admit(qctx, id, "", limiter.KindQuery, req.MaxBudgetUSD)
	if err != nil {
		yield(nil, o.refuse(qctx, id, err))
		return
	}
	admitted := o.admitted(id, "", entered, admission)
	permit, err := o.breaker.Allow(qctx)
	if err != nil {
		o.limiter.Release(admission) // nothing ran: give its tokens back
		yield(nil, o.refuse(qctx, id, err))
		return
	}

	runCtx := qctx
	if o.timeout > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = o.clock.WithTimeout(qctx, o.timeout)
		defer cancelTimeout()
	}
	runCtx, stopRun := context.WithCancelCause(runCtx)
	defer stopRun(nil)

	// The reservation is the run's cap; the client watches the spend
	// inside the answer, from the partial messages, which the caller sees
	// only if it asked for them.
	w := &watch{o: o, req: &req, spend: newMeter(&o.prices), capUSD: admission.CapUSD, wantPartial: req.PartialMessages, stop: stopRun}
	fin := w.fin.init(o, id, "", admitted)
	req.MaxBudgetUSD = w.capUSD
	req.PartialMessages = w.wantPartial || w.capUSD > 0

	ended := false // the stream ran to its end (no break, no panic)
	claim := unclaimed
	defer func() {
		// Runs on a normal end, an early break and a panic in the caller's
		// loop body alike: the breaker hears back (the cost is charged in
		// req.Reaped). A run counts for the breaker once its outcome is
		// known: it ended, or its result arrived (a caller may stop
		// ranging there); never when the caller cancelled or the client
		// closed.
		stopped := ctx.Err() != nil || stoppedByClose(context.Cause(runCtx))
		outcome, counted := w.outcome(ended, stopped)
		o.breaker.Report(permit, outcome)
		fin.ended(outcome, counted, w)
		claim.ended()
	}()
	// The concurrency slot is held, and Close waits, until the process is
	// gone: the stream may return before it is reaped (an early break).
	// What the CLI wrote that the stream did not yield (it was stopped, or
	// the caller broke out) was spent all the same: the meter reads it.
	req.Drain = w.spend.observe
	claim = o.pool.claim(runCtx, &req) // a warm process, if one is parked for req
	warm := req.Warm != nil
	own := req.Reaped // the caller's (its in-process MCP servers' close), after ours
	req.Reaped = func() {
		cost := w.charge(w.end.Result)
		o.limiter.Settle(admission, cost)
		fin.settled(cost, w.estimated(), warm)
		claim.settled()
		if own != nil {
			own()
		}
		o.active.done()
	}
	streaming = true
	if o.events.on() {
		o.events.emit(QueryStarted{ID: id, Warm: warm, At: o.clock.Now()})
	}

	mapErr := func(err error) error { return o.streamError(ctx, runCtx, err) }
	for msg, err := range cli.Stream(runCtx, req, o.cli) {
		fin.message(msg, o.clock.Now())
		err, show := w.see(msg, err, mapErr)
		if !show {
			continue
		}
		if !yield(msg, err) {
			return
		}
	}
	ended = true
}

// addedByPartial reports whether msg is one of the lines the CLI writes
// only with --include-partial-messages: stream events and status lines.
func addedByPartial(msg protocol.Message) bool {
	switch m := msg.(type) {
	case *protocol.StreamEvent:
		return true
	case *protocol.SystemMessage:
		return m.Subtype == subtypeStatus
	}
	return false
}

// charge returns what a finished run is charged: its result's cost, or,
// when the result cannot be trusted or never came, the meter's estimate.
// Only a run that provably made no billable request is charged 0: one that
// died before its init line, or one stopped at the caller's fault (the API
// refused it, or was never called) before any usage showed. With nothing
// to estimate from, the whole reservation is charged.
func (o *Orchestrator) charge(result *protocol.ResultMessage, m *meter, reservation float64, fault error) float64 {
	switch {
	case fault != nil && !m.sawAPI:
		return 0
	case fault != nil:
		return m.spent() // a fault after billed requests (a later turn, a sub-agent)
	case result != nil && result.CostKnown && result.Subtype == subtypeInterrupted:
		// The CLI leaves the interrupted request's spend out of the
		// total (seen on 2.1.197): charge the estimate when higher.
		return max(result.TotalCostUSD, m.spent())
	case result != nil && result.CostKnown:
		o.prices.learn(result.ModelUsage)
		return result.TotalCostUSD
	case !m.sawInit && result == nil:
		return 0
	case m.sawAPI:
		return m.spent()
	}
	return reservation
}

// subtypeInterrupted is the result subtype of an interrupted run.
const subtypeInterrupted = "error_during_execution"

// subtypeStatus is the subtype of the system lines the CLI adds with
// --include-partial-messages.
const subtypeStatus = "status"

// closedOr returns ErrClosed when Close ended qctx, else err.
func closedOr(qctx context.Context, err error) error {
	if errors.Is(context.Cause(qctx), ErrClosed) {
		return ErrClosed
	}
	return err
}

// classifySafely runs the classifier, which may be user code, through the
// callback guard: a panic in it is logged, and so is a classifier that has
// not returned after ClassifyTimeout; either way the query counts as a
// failure.
func (o *Orchestrator) classifySafely(result *protocol.ResultMessage, err error) breaker.Outcome {
	outcome, cerr := callback.Call(o.callbacks, "Config.Classify", ClassifyTimeout, func() breaker.Outcome {
		return o.classify(result, err)
	})
	if cerr != nil {
		return breaker.Failure
	}
	return outcome
}

// streamError names why a stream ended early when our side stopped it: the
// client closing or the query timeout rather than a bare context error.
func (o *Orchestrator) streamError(ctx, runCtx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return err
	case errors.Is(err, ErrClosed):
		return err // the stream already names the cause
	case errors.Is(context.Cause(runCtx), ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w after %v: %w", ErrQueryTimeout, o.timeout, err)
	}
	return err
}

func (o *Orchestrator) pause(until time.Time, why string) {
	o.limiter.Pause(until)
	o.log.Warn("rate limiter paused by the API", "until", until, "signal", why)
	if o.events.on() {
		o.events.emit(Paused{Until: until, Signal: why, At: o.clock.Now()})
	}
}
