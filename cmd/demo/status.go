package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// How often the watcher polls the client's Stats, and how often it redraws
// the status line on a terminal and prints it elsewhere.
const (
	pollEvery        = 10 * time.Millisecond
	redrawEvery      = 100 * time.Millisecond
	plainStatusEvery = 2 * time.Second
)

// watcher turns the differences between successive Stats snapshots of a
// stage's client into event lines (breaker transitions, a query window
// running dry, admissions of waiting queries, pauses) and keeps the status
// line up to date. Nothing is added to pkg/agent for it: it only reads
// Client.Stats. Its goroutine belongs to the stage: watch starts it, the
// returned stop ends it and waits for it.
type watcher struct {
	s        *stage
	prev     agent.Stats
	dry      string    // the window that ran dry while queries wait, "" when none
	paused   time.Time // the pause announced and not yet over
	waiting  int       // the most queries seen waiting during that pause
	drawn    time.Time // when the status line was last drawn
	interval time.Duration
}

// watch starts the stage's watcher; stop takes a last look, prints the
// status line for good, and returns once the goroutine has ended. A second
// stop returns at once.
func (s *stage) watch() (stop func()) {
	w := &watcher{s: s, prev: s.client.Stats(), interval: plainStatusEvery}
	if s.d.out.tty {
		w.interval = redrawEvery
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				w.observe(time.Now())
				w.draw(time.Now(), true)
				return
			case <-tick.C:
				now := time.Now() // not the tick's time, which may be stale
				w.observe(now)
				if now.Sub(w.drawn) >= w.interval {
					w.draw(now, false)
				}
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(quit)
		<-done
	})
}

// observe compares a fresh snapshot with the previous one.
func (w *watcher) observe(now time.Time) {
	cur := w.s.client.Stats()
	w.breaker(w.prev.Breaker, cur.Breaker, now)
	w.window(w.prev, cur, now)
	w.pause(w.prev, cur, now)
	w.prev = cur
}

// breaker reports the transitions between two snapshots. A poll can miss a
// short state (a half-open that a failed probe ended within milliseconds),
// so the steps in between are inferred: the circuit only moves closed ->
// open -> half-open -> open or closed, and an open circuit whose next
// half-open time changed went through half-open. Open and half-open times
// come from the snapshots themselves (NextHalfOpen and OpenTimeout).
func (w *watcher) breaker(prev, cur agent.BreakerStats, now time.Time) {
	reopened := prev.State == agent.StateOpen && cur.State == agent.StateOpen && !cur.NextHalfOpen.Equal(prev.NextHalfOpen)
	if prev.State == cur.State && !reopened {
		return
	}
	openedAt := func() time.Time {
		if cur.State == agent.StateOpen && !cur.NextHalfOpen.IsZero() {
			return cur.NextHalfOpen.Add(-cur.OpenTimeout)
		}
		return now
	}
	from := prev.State
	if from == agent.StateClosed {
		w.transition(from, agent.StateOpen, openedAt(), cur)
		from = agent.StateOpen
		if cur.State == agent.StateOpen {
			return
		}
	}
	if from == agent.StateOpen {
		at := prev.NextHalfOpen
		if at.IsZero() || at.After(now) {
			at = now
		}
		w.transition(from, agent.StateHalfOpen, at, cur)
		from = agent.StateHalfOpen
	}
	switch cur.State {
	case agent.StateOpen:
		w.transition(from, agent.StateOpen, openedAt(), cur)
	case agent.StateClosed:
		w.transition(from, agent.StateClosed, now, cur)
	}
}

func (w *watcher) transition(from, to agent.State, at time.Time, cur agent.BreakerStats) {
	var msg string
	cfg := w.s.d.config().CircuitBreaker
	switch {
	case from == agent.StateClosed:
		msg = fmt.Sprintf("%d failures in a row: refusing every query for %v, without starting a process",
			cfg.FailureThreshold, roundDuration(cur.OpenTimeout))
	case to == agent.StateHalfOpen:
		msg = "open time over: the next queries are probes"
	case to == agent.StateOpen:
		msg = fmt.Sprintf("a probe failed: open again, for %v this time (doubled, plus jitter)", roundDuration(cur.OpenTimeout))
	default:
		msg = "the probes succeeded: queries flow again"
	}
	t := w.s.d.since(at)
	w.s.d.tally.transition(transition{T: round2(t), Phase: w.s.name, From: from.String(), To: to.String()})
	w.s.d.out.event(event{T: t, Phase: w.s.name, Kind: "breaker", From: from.String(), To: to.String(),
		Message: fmt.Sprintf("%s -> %s: %s", from, to, msg)})
}

// window reports a query window running dry while queries wait, each
// waiting query it then admits, and the end of the wait.
func (w *watcher) window(prev, cur agent.Stats, now time.Time) {
	s, lim := w.s, cur.Limiter
	if w.dry == "" && cur.Limiter.Queued > 0 {
		if w.dry = dryWindow(lim); w.dry != "" {
			s.d.tally.windowDry(s.name, w.dry, lim.Admitted)
			every := time.Minute / time.Duration(s.d.opts.rpm)
			if w.dry == "hour" {
				every = time.Hour / time.Duration(s.d.opts.rph)
			}
			s.d.out.event(event{T: s.d.since(now), Phase: s.name, Kind: "rate", Queued: cur.Limiter.Queued,
				Message: fmt.Sprintf("the %s window is empty after %d queries: %d wait in line (FIFO), one more token every %v",
					w.dry, lim.Admitted, cur.Limiter.Queued, roundDuration(every))})
		}
		return
	}
	if w.dry == "" {
		return
	}
	if n := int(lim.Admitted - prev.Limiter.Admitted); lim.Admitted > prev.Limiter.Admitted {
		s.d.tally.admittedWaiting(s.name, now, n)
		s.d.out.event(event{T: s.d.since(now), Phase: s.name, Kind: "rate", Queued: cur.Limiter.Queued,
			Message: fmt.Sprintf("a token refilled: %d waiting query admitted, %d still in line", n, cur.Limiter.Queued)})
	}
	if cur.Limiter.Queued == 0 {
		w.dry = ""
		s.d.out.event(event{T: s.d.since(now), Phase: s.name, Kind: "rate", Message: "the line is empty"})
	}
}

// dryWindow names the query window with less than one token left, or "".
func dryWindow(lim agent.LimiterStats) string {
	switch {
	case lim.MinuteTokens >= 0 && lim.MinuteTokens < 1:
		return "minute"
	case lim.HourTokens >= 0 && lim.HourTokens < 1:
		return "hour"
	}
	return ""
}

// pause reports a pause the API asked for (a 429 api_retry), and its end
// with the most queries seen waiting meanwhile. A pause shorter than a
// poll is still reported, as already over.
func (w *watcher) pause(prev, cur agent.Stats, now time.Time) {
	if until := cur.Limiter.PausedUntil; !until.IsZero() && !until.Equal(prev.Limiter.PausedUntil) {
		w.paused, w.waiting = until, cur.Limiter.Queued
		w.s.d.out.event(event{T: w.s.d.since(now), Phase: w.s.name, Kind: "pause", Queued: cur.Limiter.Queued, Until: w.s.d.since(until),
			Message: fmt.Sprintf("the API said 429: the limiter admits nobody until %.2fs (%v from now)",
				w.s.d.since(until), roundDuration(max(until.Sub(now), 0)))})
	}
	if w.paused.IsZero() {
		return
	}
	if now.Before(w.paused) {
		w.waiting = max(w.waiting, cur.Limiter.Queued)
		return
	}
	w.s.d.out.event(event{T: w.s.d.since(now), Phase: w.s.name, Kind: "pause", Queued: w.waiting, Until: w.s.d.since(w.paused),
		Message: fmt.Sprintf("pause over: the %d waiting queries go", w.waiting)})
	w.paused, w.waiting = time.Time{}, 0
}

// draw shows the status line: redrawn in place on a terminal, printed as
// a line elsewhere; final prints it for good in both cases.
func (w *watcher) draw(now time.Time, final bool) {
	w.drawn = now
	w.s.d.out.showStatus(w.statusLine(now), final || !w.s.d.out.tty)
}

// statusLine is the one-line picture of the client and the tallies.
func (w *watcher) statusLine(now time.Time) string {
	st := w.prev
	done, failed, refused := w.s.d.tally.counts()
	return textLine(w.s.d.since(now), w.s.name, "status", fmt.Sprintf(
		"breaker %-9s tokens %s/min %s/h  $%.2f of %s  in flight %d  queued %d  done %d  failed %d  refused %d",
		st.Breaker.State, tokens(st.Limiter.MinuteTokens), tokens(st.Limiter.HourTokens),
		st.Limiter.SpentUSD, budget(st.Limiter.BudgetUSD), st.Limiter.InFlight, st.Limiter.Queued, done, failed, refused))
}

func tokens(n float64) string {
	if n < 0 {
		return "off"
	}
	return fmt.Sprintf("%.1f", n)
}

func budget(usd float64) string {
	if usd < 0 {
		return "unlimited"
	}
	return fmt.Sprintf("$%.2f", usd)
}
