package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Event is one thing the pipeline did, for Config.Observe: a closed set.
type Event interface{ event() }

// QueryQueued: a query (or a session's turn) waits in the limiter's
// queue, for Limit (a limiter.Reason's name; "none": only behind others),
// with Ahead waiters before it.
type QueryQueued struct {
	ID      uint64
	Session string
	Limit   string
	Ahead   int
	At      time.Time
}

// QueryAdmitted: the limiter admitted a query (or a session's turn) after
// Waited, the last on WaitedOn (a limiter.Reason's name; "none": it did
// not wait on a limit); CapUSD is its reservation.
type QueryAdmitted struct {
	ID       uint64
	Session  string // the session's id, when a turn
	Waited   time.Duration
	WaitedOn string
	CapUSD   float64
	At       time.Time
}

// QueryStarted: the breaker let the admitted query through and its CLI
// gets its turn; Warm when a parked process serves it.
type QueryStarted struct {
	ID   uint64
	Warm bool
	At   time.Time
}

// QueryRefused: a query ended before it ran: refused (Err is a
// *RejectedError) or given up by its caller while it waited (a context's
// error). Every query id ends with QueryRefused or QueryFinished.
type QueryRefused struct {
	ID  uint64
	Err error
	At  time.Time
}

// QueryFinished: a query settled. CostUSD is what it was charged;
// Estimated when that is the client's estimate (no trustworthy result).
type QueryFinished struct {
	ID           uint64
	Session      string
	Model        string
	Duration     time.Duration // from admission to settlement
	FirstMessage time.Duration // from the start to the CLI's first message; 0: none came
	CostUSD      float64
	Estimated    bool
	Usage        protocol.Usage // the result's, when one came
	Outcome      breaker.Outcome
	Counted      bool  // the outcome reached the breaker (not cancelled, not the caller's fault...)
	Err          error // how it ended, nil for a success
	ExitCode     int   // the CLI's, when it ended without a result; -1 unknown
	Warm         bool
	At           time.Time
}

// BreakerChanged: the circuit breaker changed state, for Reason.
type BreakerChanged struct {
	From, To breaker.State
	Reason   string
	At       time.Time
}

// Paused: an API rate signal paused admission until Until.
type Paused struct {
	Until  time.Time
	Signal string
	At     time.Time
}

func (QueryQueued) event()    {}
func (QueryAdmitted) event()  {}
func (QueryStarted) event()   {}
func (QueryRefused) event()   {}
func (QueryFinished) event()  {}
func (BreakerChanged) event() {}
func (Paused) event()         {}

// ObserverQueue is how many events wait for a busy observer before later
// ones are dropped (counted in Stats).
const ObserverQueue = 4096

// events delivers events to the observer, in order, from one goroutine of
// the callback guard's, so that an observer that is slow, blocks or panics
// delays nothing: emit never blocks, and drops (counting) when the queue
// is full. The zero value (no observer) drops nothing and costs nothing.
type events struct {
	observe func(Event)
	queue   chan Event
	dropped atomic.Int64
	once    sync.Once
	done    chan struct{}
}

func newEvents(observe func(Event), g *callback.Guard) *events {
	e := &events{observe: observe}
	if observe == nil {
		return e
	}
	e.queue = make(chan Event, ObserverQueue) // see ObserverQueue
	e.done = make(chan struct{})
	g.Go("Config.Observer", func() {
		defer close(e.done)
		for ev := range e.queue {
			g.Do("Config.Observer", func() { observe(ev) }) //nolint:errcheck // logged and counted
		}
	})
	return e
}

// on reports whether anyone listens: callers build events only then.
func (e *events) on() bool { return e.observe != nil }

// emit queues ev, or drops it when the observer is too far behind.
func (e *events) emit(ev Event) {
	select {
	case e.queue <- ev:
	default:
		e.dropped.Add(1)
	}
}

// close delivers what is queued and ends the delivery goroutine (the
// guard's Wait bounds how long the owner waits for a stuck observer).
func (e *events) close() {
	if e.queue != nil {
		e.once.Do(func() { close(e.queue) })
	}
}

// admit waits for the limiter's admission of query (or turn) id of
// session, of kind, capped at capUSD; an observer hears when it queues.
func (o *Orchestrator) admit(ctx context.Context, id uint64, session string, kind limiter.Kind, capUSD float64) (limiter.Permit, error) {
	return o.limiter.Wait(ctx, o.request(id, session, kind, capUSD))
}

// request is admit's limiter.Request. With an observer, its Queued
// callback emits QueryQueued (a closure: one allocation a query); with
// debug logs only, a shared no-op asks the limiter to name the limit for
// the admission's log line. With neither, the limiter names nothing.
func (o *Orchestrator) request(id uint64, session string, kind limiter.Kind, capUSD float64) limiter.Request {
	req := limiter.Request{Kind: kind, CapUSD: capUSD}
	switch {
	case o.events.on():
		req.Queued = func(r limiter.Reason, ahead int) {
			o.events.emit(QueryQueued{ID: id, Session: session, Limit: r.String(), Ahead: ahead, At: o.clock.Now()})
		}
	case o.log.Enabled(context.TODO(), slog.LevelDebug): // no context here
		req.Queued = ignoreQueued
	}
	return req
}

// ignoreQueued is a Queued callback that only asks for Permit.WaitedOn.
func ignoreQueued(limiter.Reason, int) {}

// admitted reports the admission of query id of session, which entered
// at entered, and returns its time: a QueryAdmitted event, and a debug
// line when it waited.
func (o *Orchestrator) admitted(id uint64, session string, entered time.Time, p limiter.Permit) time.Time {
	now := o.clock.Now()
	waited := now.Sub(entered)
	if p.WaitedOn != 0 && o.log.Enabled(context.TODO(), slog.LevelDebug) { // no context here; the args would allocate
		o.log.Debug("query admitted after waiting", "query_id", id, "session_id", session, "waited", waited, "waited_on", p.WaitedOn.String())
	}
	if o.events.on() {
		o.events.emit(QueryAdmitted{ID: id, Session: session, Waited: waited, WaitedOn: p.WaitedOn.String(), CapUSD: p.CapUSD, At: now})
	}
	return now
}

// breakerReason says why the breaker moved from one state to another.
func breakerReason(ev breaker.Event) string {
	switch {
	case ev.From == breaker.StateClosed && ev.To == breaker.StateOpen:
		return "consecutive failures reached the threshold"
	case ev.From == breaker.StateOpen && ev.To == breaker.StateHalfOpen:
		return "open time over: the next queries are probes"
	case ev.From == breaker.StateHalfOpen && ev.To == breaker.StateOpen:
		return "a probe failed"
	case ev.From == breaker.StateHalfOpen && ev.To == breaker.StateClosed:
		return "the probes succeeded"
	case ev.To == breaker.StateOpen:
		return "opened by another process of the fleet"
	}
	return "reset"
}
