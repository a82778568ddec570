package agent

import (
	"context"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
)

// Observer receives what the client does, as events: set the callbacks
// you want in Config.Observer (a nil one is skipped). They are called in
// the order of the events, one at a time, from one goroutine of the
// client's, never from a guard's loop or a query's path: an observer that
// is slow or blocks delays no query. While it runs, up to 4096 events
// wait; later ones are dropped and counted (Stats().Callbacks.
// ObserverDropped). A panic is recovered and logged. Close delivers the
// events queued before it, waiting at most StopGracePeriod for them.
//
// Events carry the query's ID (unique per client; a session's turns each
// have their own and the session's ID), never its prompt.
type Observer struct {
	// QueryQueued: a query or a session's turn found no room and waits
	// in the limiter's queue (once per query; a query admitted at once
	// has none).
	QueryQueued func(QueryQueuedEvent)
	// QueryAdmitted: the limiter admitted a query or a session's turn.
	QueryAdmitted func(QueryAdmittedEvent)
	// QueryStarted: the breaker let it through and its turn goes to the
	// CLI.
	QueryStarted func(QueryStartedEvent)
	// Trace, when set, is called in the query's goroutine as a query or a
	// session's turn begins, before admission, with the caller's context
	// and the query's ID: for a tracing adapter to start its span there
	// (pkg/agent/otel). The "KEY=VALUE" entries it returns (TRACEPARENT,
	// TRACESTATE) are added to the query's CLI environment: not to a warm
	// process (Config.Warm), which started before the query, nor to a
	// session's CLI, which started with the session. It must return
	// quickly; a panic is recovered (no entries).
	Trace func(ctx context.Context, queryID uint64) []string
	// QueryRefused: a query ended before it ran: refused, or given up by
	// its caller while it waited. Every query ends with QueryRefused or
	// QueryFinished.
	QueryRefused func(QueryRefusedEvent)
	// QueryFinished: a query (or turn) that started has settled: its
	// charge and its outcome for the breaker are known.
	QueryFinished func(QueryFinishedEvent)
	// BreakerChanged: the circuit breaker changed state.
	BreakerChanged func(BreakerChangedEvent)
	// Paused: an API rate signal paused admission.
	Paused func(PausedEvent)
}

// QueryQueuedEvent is a query that waits for admission.
type QueryQueuedEvent struct {
	QueryID   uint64
	SessionID string // the session's, for a turn
	// Limit is what it waits on: first a limit no running query can lift
	// (LimitMinute, LimitHour, LimitPaused, or LimitBudget for the last
	// hour's spend), then LimitConcurrency, then LimitBudget for the
	// budget running queries reserved; LimitNone when it waits only
	// behind others.
	Limit Limit
	Ahead int // waiters before it in the queue
	At    time.Time
}

// QueryAdmittedEvent is a query's admission.
type QueryAdmittedEvent struct {
	QueryID   uint64
	SessionID string        // the session's, for a turn ("" before the CLI named it)
	Waited    time.Duration // in the limiter's queue
	// WaitedOn is the limit that held it last, whose freeing admitted it
	// (as QueryQueuedEvent.Limit); LimitNone when no limit held it: it
	// did not wait, or waited only behind others (or, with Config.Fleet,
	// for Redis's answer).
	WaitedOn Limit
	CapUSD   float64 // its reservation of the budget (0: no cap)
	At       time.Time
}

// QueryStartedEvent is the start of a query's run.
type QueryStartedEvent struct {
	QueryID uint64
	Warm    bool // served by a parked CLI (Config.Warm)
	At      time.Time
}

// QueryRefusedEvent is a query that never ran; Err is what its caller
// got: a *RejectedError (Limit and RetryAfter are its), or the context's
// error of a caller that gave up waiting (Limit is LimitNone).
type QueryRefusedEvent struct {
	QueryID    uint64
	Limit      Limit
	RetryAfter time.Duration
	Err        error
	At         time.Time
}

// QueryFinishedEvent is a settled query or turn.
type QueryFinishedEvent struct {
	QueryID   uint64
	SessionID string
	Model     string        // as the CLI's init line named it, when one came
	Duration  time.Duration // from admission to settlement
	// FirstMessage is the time from admission to the CLI's first
	// message; 0 when none came.
	FirstMessage time.Duration
	// CostUSD is what the query was charged; Estimated when that is the
	// client's estimate of spend without a trustworthy result (a crash, a
	// kill, a cancel, the cap).
	CostUSD   float64
	Estimated bool
	Usage     Usage // the result's token counts, when a result came
	// Outcome is what it told the breaker; Counted is false when it told
	// it nothing (cancelled, the caller's fault, the client closed).
	Outcome  Outcome
	Counted  bool
	Err      error // how it ended; nil for a success
	ExitCode int   // the CLI's, when it ended without a result; -1 otherwise
	Warm     bool
	At       time.Time
}

// BreakerChangedEvent is a change of the circuit's state.
type BreakerChangedEvent struct {
	From, To State
	Reason   string
	At       time.Time
}

// PausedEvent is a pause an API rate signal imposed.
type PausedEvent struct {
	Until  time.Time
	Signal string // what the CLI printed: "api_retry 429", "rate_limit_event rejected"...
	At     time.Time
}

// trace is the orchestrator's form of o.Trace.
func (o *Observer) trace() func(context.Context, uint64) []string {
	if o == nil {
		return nil
	}
	return o.Trace
}

// observe is the orchestrator's sink for o: it converts each event and
// calls o's callback for it.
func (o *Observer) observe() func(orchestrator.Event) {
	if o == nil {
		return nil
	}
	return func(ev orchestrator.Event) {
		switch e := ev.(type) {
		case orchestrator.QueryQueued:
			if o.QueryQueued != nil {
				o.QueryQueued(QueryQueuedEvent{QueryID: e.ID, SessionID: e.Session, Limit: limitNamed(e.Limit), Ahead: e.Ahead, At: e.At})
			}
		case orchestrator.QueryAdmitted:
			if o.QueryAdmitted != nil {
				o.QueryAdmitted(QueryAdmittedEvent{QueryID: e.ID, SessionID: e.Session, Waited: e.Waited, WaitedOn: limitNamed(e.WaitedOn), CapUSD: e.CapUSD, At: e.At})
			}
		case orchestrator.QueryStarted:
			if o.QueryStarted != nil {
				o.QueryStarted(QueryStartedEvent{QueryID: e.ID, Warm: e.Warm, At: e.At})
			}
		case orchestrator.QueryRefused:
			if o.QueryRefused != nil {
				err := exportError(e.Err)
				ev := QueryRefusedEvent{QueryID: e.ID, Err: err, At: e.At}
				if r, ok := err.(*RejectedError); ok {
					ev.Limit, ev.RetryAfter = r.Limit, r.RetryAfter
				}
				o.QueryRefused(ev)
			}
		case orchestrator.QueryFinished:
			if o.QueryFinished != nil {
				o.QueryFinished(QueryFinishedEvent{
					QueryID: e.ID, SessionID: e.Session, Model: e.Model, Duration: e.Duration, FirstMessage: e.FirstMessage,
					CostUSD: e.CostUSD, Estimated: e.Estimated, Usage: Usage(e.Usage),
					Outcome: exportOutcome(e.Outcome), Counted: e.Counted, Err: exportError(e.Err), ExitCode: e.ExitCode, Warm: e.Warm, At: e.At,
				})
			}
		case orchestrator.BreakerChanged:
			if o.BreakerChanged != nil {
				o.BreakerChanged(BreakerChangedEvent{From: exportState(e.From), To: exportState(e.To), Reason: e.Reason, At: e.At})
			}
		case orchestrator.Paused:
			if o.Paused != nil {
				o.Paused(PausedEvent{Until: e.Until, Signal: e.Signal, At: e.At})
			}
		}
	}
}

// MultiObserver returns an Observer that passes each event to every
// observer given, in their order (nil ones are skipped): the OpenTelemetry
// adapter beside callbacks of your own, say. When one callback panics the
// others are still called for that event, and the panic is then recovered
// and logged as any observer's. Trace joins the entries each returns (a
// panic in one leaves the query with none).
func MultiObserver(observers ...*Observer) *Observer {
	var m Observer
	var traces []func(context.Context, uint64) []string
	for _, o := range observers {
		if o == nil {
			continue
		}
		m.QueryQueued = join(m.QueryQueued, o.QueryQueued)
		m.QueryAdmitted = join(m.QueryAdmitted, o.QueryAdmitted)
		m.QueryStarted = join(m.QueryStarted, o.QueryStarted)
		m.QueryRefused = join(m.QueryRefused, o.QueryRefused)
		m.QueryFinished = join(m.QueryFinished, o.QueryFinished)
		m.BreakerChanged = join(m.BreakerChanged, o.BreakerChanged)
		m.Paused = join(m.Paused, o.Paused)
		if o.Trace != nil {
			traces = append(traces, o.Trace)
		}
	}
	switch len(traces) {
	case 0:
	case 1:
		m.Trace = traces[0]
	default:
		m.Trace = func(ctx context.Context, id uint64) []string {
			var env []string
			for _, t := range traces {
				env = append(env, t(ctx, id)...)
			}
			return env
		}
	}
	return &m
}

// join returns a callback calling a then b (either may be nil); b is
// called even when a panics.
func join[E any](a, b func(E)) func(E) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(e E) {
		defer b(e)
		a(e)
	}
}
