package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// listener turns a stage's client events (Config.Observer) into the
// demo's event lines: a query waiting for a window's token and its
// admission when one refills, the breaker's changes with their reason,
// the API's pauses and their end. The client calls it from one goroutine,
// in the events' order; only the breaker's state is read from elsewhere
// (the outage phase), under mu.
type listener struct {
	s *stage

	// ids maps the client's query ids to the demo's query numbers: the
	// Trace hook, called in each query's goroutine, reads the number from
	// the query's context.
	ids sync.Map // uint64 -> int

	admitted   int                    // admissions so far
	windowWait map[uint64]string      // queries waiting on a window, and which
	pauseWait  map[uint64]bool        // queries waiting for the pause's end
	paused     chan agent.PausedEvent // the first pause, for the pause phase
	pausedOnce sync.Once

	mu      sync.Mutex
	breaker agent.BreakerChangedEvent // the latest change
}

// queryNumber is the context key of the demo's number of a query.
type queryNumber struct{}

func newListener(s *stage) *listener {
	return &listener{
		s: s, windowWait: map[uint64]string{}, pauseWait: map[uint64]bool{},
		paused:  make(chan agent.PausedEvent, 1),
		breaker: agent.BreakerChangedEvent{To: agent.StateClosed},
	}
}

// observer is the stage's Config.Observer.
func (l *listener) observer() *agent.Observer {
	return &agent.Observer{
		Trace:          l.trace,
		QueryQueued:    l.queued,
		QueryAdmitted:  l.admittedQuery,
		BreakerChanged: l.breakerChanged,
		Paused:         l.pausedAPI,
	}
}

func (l *listener) trace(ctx context.Context, id uint64) []string {
	if n, ok := ctx.Value(queryNumber{}).(int); ok {
		l.ids.Store(id, n)
	}
	return nil
}

// number is the demo's number of the client's query id, 0 if unknown.
func (l *listener) number(id uint64) int {
	n, _ := l.ids.Load(id)
	i, _ := n.(int)
	return i
}

func (l *listener) queued(e agent.QueryQueuedEvent) {
	d := l.s.d
	switch e.Limit {
	case agent.LimitMinute, agent.LimitHour:
		window := e.Limit.String()
		l.windowWait[e.QueryID] = window
		every := time.Minute / time.Duration(d.opts.rpm)
		if e.Limit == agent.LimitHour {
			every = time.Hour / time.Duration(d.opts.rph)
		}
		msg := fmt.Sprintf("the %s window is empty: query %d waits in line (FIFO)", window, l.number(e.QueryID))
		if e.Ahead > 0 {
			msg = fmt.Sprintf("the %s window has no token left for query %d: it waits in line (FIFO) behind %d", window, l.number(e.QueryID), e.Ahead)
		}
		l.say(e.At, "rate", len(l.windowWait), fmt.Sprintf("%s, one more token every %v", msg, roundDuration(every)))
	case agent.LimitPaused:
		l.pauseWait[e.QueryID] = true
	}
}

func (l *listener) admittedQuery(e agent.QueryAdmittedEvent) {
	defer func() { l.admitted++ }()
	d := l.s.d
	// A query that queued on a window may have been held by the slots
	// last, and one that queued for a slot by a window: either counts.
	window := l.windowWait[e.QueryID]
	if e.WaitedOn == agent.LimitMinute || e.WaitedOn == agent.LimitHour {
		window = e.WaitedOn.String()
	}
	if window != "" {
		d.tally.windowDry(l.s.name, window, uint64(l.admitted))
		d.tally.admittedWaiting(l.s.name, e.At, 1)
		delete(l.windowWait, e.QueryID)
		l.say(e.At, "rate", len(l.windowWait), fmt.Sprintf("a token refilled: query %d admitted after %v in line, %d still wait for a token",
			l.number(e.QueryID), roundDuration(e.Waited), len(l.windowWait)))
		if len(l.windowWait) == 0 {
			l.say(e.At, "rate", 0, "the line is empty")
		}
	}
	if (l.pauseWait[e.QueryID] || e.WaitedOn == agent.LimitPaused) && len(l.pauseWait) > 0 {
		d.out.event(event{T: d.since(e.At), Phase: l.s.name, Kind: "pause", Queued: len(l.pauseWait), Until: d.since(e.At),
			Message: fmt.Sprintf("pause over: the %d waiting queries go", len(l.pauseWait))})
		clear(l.pauseWait)
	}
}

func (l *listener) pausedAPI(e agent.PausedEvent) {
	d := l.s.d
	d.out.event(event{T: d.since(e.At), Phase: l.s.name, Kind: "pause", Until: d.since(e.Until),
		Message: fmt.Sprintf("the API said 429 (%s): the limiter admits nobody until %.2fs (%v from now)",
			e.Signal, d.since(e.Until), roundDuration(max(e.Until.Sub(e.At), 0)))})
	l.pausedOnce.Do(func() { l.paused <- e })
}

func (l *listener) breakerChanged(e agent.BreakerChangedEvent) {
	l.mu.Lock()
	l.breaker = e
	l.mu.Unlock()

	// The breaker's reason, and what it means here.
	msg := e.Reason
	switch {
	case e.From == agent.StateClosed:
		msg = fmt.Sprintf("%d failures in a row (%s): refusing every query, without starting a process",
			l.s.d.config().CircuitBreaker.FailureThreshold, e.Reason)
	case e.To == agent.StateOpen:
		msg += ": open again, for longer this time (doubled, plus jitter)"
	case e.To == agent.StateClosed:
		msg += ": queries flow again"
	}
	d := l.s.d
	t := d.since(e.At)
	d.tally.transition(transition{T: round2(t), Phase: l.s.name, From: e.From.String(), To: e.To.String()})
	d.out.event(event{T: t, Phase: l.s.name, Kind: "breaker", From: e.From.String(), To: e.To.String(),
		Message: fmt.Sprintf("%s -> %s: %s", e.From, e.To, msg)})
}

// latestBreaker is the breaker's latest change.
func (l *listener) latestBreaker() agent.BreakerChangedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.breaker
}

// say prints an event of the stage at t.
func (l *listener) say(t time.Time, kind string, queued int, msg string) {
	l.s.d.out.event(event{T: l.s.d.since(t), Phase: l.s.name, Kind: kind, Queued: queued, Message: msg})
}
