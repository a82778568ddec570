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

// watch keeps the stage's status line up to date: a snapshot of its
// client (Client.Stats) and the tallies, redrawn every redrawEvery on a
// terminal and printed every plainStatusEvery elsewhere. What happens
// (waits, transitions, pauses) comes from the client's events instead
// (events.go). The goroutine belongs to the stage: stop prints the status
// line for good and returns once the goroutine has ended; a second stop
// returns at once.
func (s *stage) watch() (stop func()) {
	every := plainStatusEvery
	if s.d.out.tty {
		every = redrawEvery
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		s.draw(time.Now(), false)
		for {
			select {
			case <-quit:
				s.draw(time.Now(), true)
				return
			case <-tick.C:
				s.draw(time.Now(), false) // not the tick's time, which may be stale
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
func (s *stage) draw(now time.Time, final bool) {
	s.d.out.showStatus(s.statusLine(now), final || !s.d.out.tty)
}

// statusLine is the one-line picture of the client and the tallies.
func (s *stage) statusLine(now time.Time) string {
	st := s.client.Stats()
	done, failed, refused := s.d.tally.counts()
	return textLine(s.d.since(now), s.name, "status", fmt.Sprintf(
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
