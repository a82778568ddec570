package main

import (
	"fmt"
	"sync"
	"time"
)

// How often the status line is redrawn on a terminal, and printed
// elsewhere.
const (
	redrawEvery      = 100 * time.Millisecond
	plainStatusEvery = 2 * time.Second
)

// watcher keeps the status line up to date: a snapshot of the stage's
// client (Client.Stats) and the tallies, redrawn every redrawEvery on a
// terminal and printed every plainStatusEvery elsewhere. What happens
// (waits, transitions, pauses) comes from the client's events instead
// (events.go). Its goroutine belongs to the stage: watch starts it, the
// returned stop ends it and waits for it.
type watcher struct {
	s *stage
}

// watch starts the stage's watcher; stop prints the status line for good
// and returns once the goroutine has ended. A second stop returns at once.
func (s *stage) watch() (stop func()) {
	w := &watcher{s: s}
	every := plainStatusEvery
	if s.d.out.tty {
		every = redrawEvery
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		w.draw(time.Now(), false)
		for {
			select {
			case <-quit:
				w.draw(time.Now(), true)
				return
			case <-tick.C:
				w.draw(time.Now(), false) // not the tick's time, which may be stale
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(quit)
		<-done
	})
}

// draw shows the status line: redrawn in place on a terminal, printed as
// a line elsewhere; final prints it for good in both cases.
func (w *watcher) draw(now time.Time, final bool) {
	w.s.d.out.showStatus(w.statusLine(now), final || !w.s.d.out.tty)
}

// statusLine is the one-line picture of the client and the tallies.
func (w *watcher) statusLine(now time.Time) string {
	st := w.s.client.Stats()
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
