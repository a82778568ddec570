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
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
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
	QueryTimeout time.Duration // 0: no limit beyond the caller's context
	MaxPause     time.Duration // bounds a pause the API signals; 0: DefaultMaxPause
	Classify     Classifier    // nil: Classify
	Clock        clock.Clock   // nil: real time; also given to the guards and the CLI watchdog
	Logger       *slog.Logger  // nil: discard
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
	pauses   pauses

	unsubscribe func()

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
		limiter:  lim,
		breaker:  brk,
		cli:      cfg.CLI,
		timeout:  cfg.QueryTimeout,
		classify: cfg.Classify,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		cancels:  make(map[uint64]context.CancelCauseFunc),
		done:     make(chan struct{}),
		pauses:   pauses{max: cmp.Or(cfg.MaxPause, DefaultMaxPause)},
		active:   newActivity(),
	}
	o.unsubscribe = brk.Subscribe(func(ev breaker.Event) {
		o.log.Info("circuit breaker state change", "from", ev.From.String(), "to", ev.To.String(), "at", ev.At)
	})
	return o, nil
}

// Stats is a snapshot of both guards.
type Stats struct {
	Limiter limiter.Stats
	Breaker breaker.Stats
}

// Stats returns a snapshot of the limiter and the breaker.
func (o *Orchestrator) Stats() Stats {
	return Stats{Limiter: o.limiter.Stats(), Breaker: o.breaker.Stats()}
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

	o.limiter.Close()
	o.breaker.Close()
	o.active.wait() // not for queries in their loop body: Close may be called from one
	o.unsubscribe()
	close(o.done)
	return nil
}

// Query returns a lazy, single-use stream of the messages of one guarded
// CLI run. Nothing happens until it is ranged over. Refusals come as a
// single (nil, *RejectedError). Breaking out of the loop stops and reaps the
// process, and counts neither way for the breaker.
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
	if err := validateRequest(&req); err != nil {
		yield(nil, err)
		return
	}
	if !o.enter() {
		yield(nil, rejection(ErrClosed))
		return
	}
	defer o.active.done()
	yield = o.active.body(yield)

	if err := o.breaker.Check(ctx); err != nil {
		o.refused(err)
		yield(nil, rejection(err))
		return
	}
	admission, err := o.limiter.Acquire(ctx)
	if err != nil {
		o.refused(err)
		yield(nil, rejection(err))
		return
	}
	permit, err := o.breaker.Allow(ctx)
	if err != nil {
		o.limiter.Release(admission) // nothing ran: give its tokens back
		o.refused(err)
		yield(nil, rejection(err))
		return
	}

	runCtx := ctx
	if o.timeout > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = o.clock.WithTimeout(ctx, o.timeout)
		defer cancelTimeout()
	}
	runCtx, cancel := context.WithCancelCause(runCtx)
	defer cancel(nil)
	defer o.track(cancel)()

	req.MaxBudgetUSD = budgetCap(req.MaxBudgetUSD, admission.BudgetRemaining)

	var (
		end   Ending
		ended bool  // the stream ran to its end (no break, no panic)
		fault error // the caller's configuration is at fault (callerFault); the API billed nothing
	)
	defer func() {
		// Runs on a normal end, an early break and a panic in the caller's
		// loop body alike: the cost is charged and both guards hear back.
		// A run counts for the breaker once its outcome is known: it ended,
		// or its result arrived (a caller may stop ranging there); never
		// when the caller cancelled or the client closed.
		var cost float64
		if end.Result != nil {
			cost = end.Result.TotalCostUSD
			if !end.Result.CostKnown {
				cost = math.NaN() // unknown: the limiter charges the reservation
			}
		}
		outcome := breaker.Ignored
		stopped := ctx.Err() != nil || errors.Is(context.Cause(runCtx), ErrClosed)
		if (ended || end.Result != nil) && !stopped {
			outcome = o.classifySafely(end.Result, end.Err())
		}
		if fault != nil {
			outcome = breaker.Ignored // not the backend's health
		}
		o.limiter.Settle(admission, cost)
		o.breaker.Report(permit, outcome)
	}()

	for msg, err := range cli.Stream(runCtx, req, o.cli) {
		if err != nil {
			err = o.streamError(ctx, runCtx, err)
			if fault != nil {
				err = fault
			}
		}
		if f := callerFault(msg, &req); f != nil && fault == nil {
			fault = f
			cancel(f) // stop the CLI before it retries
		}
		end.Observe(msg, err)
		if msg != nil {
			o.applyPause(msg)
		}
		if !yield(msg, err) {
			return
		}
	}
	ended = true
}

// classifySafely runs the classifier, which may be user code: a panic in
// it is logged and the query counts as a failure.
func (o *Orchestrator) classifySafely(result *protocol.ResultMessage, err error) (outcome breaker.Outcome) {
	defer func() {
		if p := recover(); p != nil {
			o.log.Error("Classify panicked; the query counts as a failure", "panic", fmt.Sprint(p))
			outcome = breaker.Failure
		}
	}()
	return o.classify(result, err)
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
}

func (o *Orchestrator) refused(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	o.log.Info("query refused", "error", err.Error())
}

// budgetCap is the --max-budget-usd for a query: the smaller of the caller's
// cap (0: none) and the hourly budget left at admission (+Inf: none), in
// whole micro-dollars rounded down but never below one (the limiter admits
// no query with less left); 0 means no flag.
func budgetCap(user, remaining float64) float64 {
	if math.IsInf(remaining, 1) || (user > 0 && user < remaining) {
		return user
	}
	return max(math.Floor(remaining*1e6)/1e6, 1e-6)
}
