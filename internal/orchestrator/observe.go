package orchestrator

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// What the pipeline tells its operator: events for Config.Observe, log
// lines with the query's id, and counts of refusals by limit.

// refusalLogEvery bounds the refusal log: the first refusal of a limit is
// logged, then at most one line per limit this often, with how many were
// not logged (an outage refuses every query).
const refusalLogEvery = 10 * time.Second

// refusals counts refusals by limit and rate-limits their log.
type refusals struct {
	mu     sync.Mutex
	counts map[string]int64
	logged map[string]time.Time // last log line per limit
	quiet  map[string]int64     // refusals not logged since
}

// Refusals returns how many queries each limit refused ("rate",
// "budget", "circuit", "queue", "fleet", "closed").
func (o *Orchestrator) Refusals() map[string]int64 {
	o.refusals.mu.Lock()
	defer o.refusals.mu.Unlock()
	out := make(map[string]int64, len(o.refusals.counts))
	for k, v := range o.refusals.counts {
		out[k] = v
	}
	return out
}

// refuse turns err, which refused query id before it ran, into what the
// caller gets; it is counted, observed and logged (a cancelled or timed
// out wait is the caller's, not a refusal).
func (o *Orchestrator) refuse(qctx context.Context, id uint64, err error) error {
	out := rejection(closedOr(qctx, err))
	now := o.clock.Now()
	if o.events.on() {
		o.events.emit(QueryRefused{ID: id, Err: out, At: now})
	}
	var r *RejectedError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !errors.As(out, &r) {
		return out
	}
	rf := &o.refusals
	rf.mu.Lock()
	rf.counts[r.Limit]++
	last, seen := rf.logged[r.Limit]
	log := !seen || now.Sub(last) >= refusalLogEvery
	quiet := rf.quiet[r.Limit]
	if log {
		rf.logged[r.Limit], rf.quiet[r.Limit] = now, 0
	} else {
		rf.quiet[r.Limit]++
	}
	rf.mu.Unlock()
	if log {
		o.log.Info("query refused", "query_id", id, "limit", r.Limit, "retry_after", r.RetryAfter, "not_logged_since_last", quiet, "error", err.Error())
	}
	return out
}

// finish gathers what QueryFinished needs from the two ends of a query:
// the stream's end (the outcome, in the iterator) and its settlement (the
// charge, in Reaped), which come in either order; the second one reports.
type finish struct {
	o      *Orchestrator
	ev     QueryFinished
	start  time.Time // admitted
	first  atomic.Int64
	halves atomic.Int32
}

// init readies f (a field of the run's watch: no allocation of its own).
func (f *finish) init(o *Orchestrator, id uint64, session string, start time.Time) *finish {
	f.o, f.start, f.ev = o, start, QueryFinished{ID: id, Session: session, ExitCode: -1}
	return f
}

// message notes the first message of the CLI's and the model it names.
func (f *finish) message(msg protocol.Message, at time.Time) {
	if msg == nil {
		return
	}
	if f.first.CompareAndSwap(0, at.Sub(f.start).Nanoseconds()+1) {
		if s, ok := msg.(*protocol.SystemMessage); ok && s.Init != nil {
			f.ev.Model = s.Init.Model
		}
	}
}

// ended is the stream's end: its outcome for the breaker, and the error.
func (f *finish) ended(outcome breaker.Outcome, counted bool, w *watch) {
	f.ev.Outcome, f.ev.Counted, f.ev.Err = outcome, counted, w.end.Err()
	if w.over != nil {
		f.ev.Err = w.over
	}
	if r := w.end.Result; r != nil {
		f.ev.Usage = r.Usage
	}
	if f.ev.Err != nil {
		f.ev.ExitCode = exitCode(f.ev.Err)
	}
	if outcome == breaker.Failure && counted {
		f.o.log.Warn("query failed: a failure for the circuit breaker", "query_id", f.ev.ID, "session_id", f.ev.Session, "error", errText(f.ev.Err))
	}
	f.half()
}

// settled is the query's charge.
func (f *finish) settled(cost float64, estimated, warm bool) {
	f.ev.CostUSD, f.ev.Estimated, f.ev.Warm = cost, estimated, warm
	f.half()
}

func (f *finish) half() {
	if f.halves.Add(1) != 2 {
		return
	}
	now := f.o.clock.Now()
	f.ev.At, f.ev.Duration = now, now.Sub(f.start)
	if n := f.first.Load(); n > 0 {
		f.ev.FirstMessage = time.Duration(n - 1)
	}
	if f.o.log.Enabled(context.TODO(), slog.LevelDebug) { // no context here; the args would allocate
		f.o.log.Debug("query finished", "query_id", f.ev.ID, "session_id", f.ev.Session, "duration", f.ev.Duration,
			"cost_usd", f.ev.CostUSD, "estimated", f.ev.Estimated, "outcome", f.ev.Outcome.String(), "warm", f.ev.Warm, "error", errText(f.ev.Err))
	}
	if f.o.events.on() {
		f.o.events.emit(f.ev)
	}
}

// exitCode is the CLI's exit code in err, -1 when err has none.
func exitCode(err error) int {
	var pe *protocol.ProcessError
	if errors.As(err, &pe) {
		return pe.ExitCode
	}
	return -1
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// breakerChanged logs and observes a change of the breaker's state.
func (o *Orchestrator) breakerChanged(ev breaker.Event) {
	why := breakerReason(ev)
	o.log.Info("circuit breaker state change", "from", ev.From.String(), "to", ev.To.String(), "reason", why, "at", ev.At)
	if o.events.on() {
		o.events.emit(BreakerChanged{From: ev.From, To: ev.To, Reason: why, At: ev.At})
	}
}

// traceEnv runs Config.Trace for query id, recovered.
func (o *Orchestrator) traceEnv(ctx context.Context, id uint64) (env []string) {
	if o.trace == nil {
		return nil
	}
	o.callbacks.Do("Config.Observer.Trace", func() { env = o.trace(ctx, id) }) //nolint:errcheck // logged and counted
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			o.log.Warn("Observer.Trace returned a bad environment entry: ignored", "query_id", id)
			return nil
		}
	}
	return env
}
