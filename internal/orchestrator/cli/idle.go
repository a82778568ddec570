package cli

import (
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// watchdog runs a function when the CLI has been silent for its timeout
// while nothing else explains the silence: each hold (the consumer in its
// loop body, a control handler running, a session between turns, the
// reader waiting for the consumer) stops the countdown, and the last
// release restarts it. The zero timeout makes every method a no-op. Safe
// for concurrent use.
type watchdog struct {
	clock   clock.Clock
	timeout time.Duration

	mu    sync.Mutex
	timer *clock.Timer
	holds int
}

func newWatchdog(c clock.Clock, timeout time.Duration) *watchdog {
	return &watchdog{clock: c, timeout: timeout}
}

// arm starts the countdown; fire runs in its own goroutine.
func (w *watchdog) arm(fire func()) {
	if w == nil || w.timeout <= 0 {
		return
	}
	w.mu.Lock()
	w.timer = w.clock.AfterFunc(w.timeout, fire)
	w.mu.Unlock()
}

// reset restarts the countdown (the CLI wrote a line), unless it is held.
func (w *watchdog) reset() {
	if w == nil || w.timeout <= 0 {
		return
	}
	w.mu.Lock()
	if w.timer != nil && w.holds == 0 {
		w.timer.Reset(w.timeout)
	}
	w.mu.Unlock()
}

// hold stops the countdown until the matching release.
func (w *watchdog) hold() {
	if w == nil || w.timeout <= 0 {
		return
	}
	w.mu.Lock()
	w.holds++
	if w.timer != nil && w.holds == 1 {
		w.timer.Stop()
	}
	w.mu.Unlock()
}

// release ends a hold; the last one restarts the countdown.
func (w *watchdog) release() {
	if w == nil || w.timeout <= 0 {
		return
	}
	w.mu.Lock()
	w.holds--
	if w.timer != nil && w.holds == 0 {
		w.timer.Reset(w.timeout)
	}
	w.mu.Unlock()
}

// stop ends the countdown for good.
func (w *watchdog) stop() {
	if w == nil || w.timeout <= 0 {
		return
	}
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.holds = 1 << 30 // no release restarts it
	w.mu.Unlock()
}
