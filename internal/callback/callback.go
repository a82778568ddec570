// Package callback runs the user's functions (Config.Stderr, the Logger's
// handler, Config.Classify, and later hooks, permission callbacks, tools
// and observers) so that none of them can crash, stall or deadlock the
// client: every call is recovered, a caller that needs an answer waits for
// it a bounded time, and calls still running are tracked so that Close
// waits for them a bounded time, then abandons them, logged and counted.
//
// Whether a given callback may be called concurrently is the caller's
// promise, documented where the callback is configured; this package only
// guards each call.
package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// ErrTimeout is returned by Call when the function did not return in time;
// it goes on running, tracked by its Guard.
var ErrTimeout = errors.New("agent: user callback did not return in time")

// PanicError is a recovered panic of a user callback.
type PanicError struct {
	Name  string // the callback, e.g. "Config.Classify"
	Value any    // what it panicked with
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("agent: user callback %s panicked: %v", e.Name, e.Value)
}

// Stats counts a Guard's calls.
type Stats struct {
	Panics    int64 // calls that panicked, recovered
	TimedOut  int64 // calls Call stopped waiting for: the caller took a default
	Running   int64 // calls running now (Go and Call)
	Abandoned int64 // calls still running when Wait stopped waiting for them
}

// Guard runs user callbacks. Create it with New; it is safe for concurrent
// use. It owns no goroutine of its own: Go and Call start one per call,
// which ends when the user's function returns. The owner calls Wait when it
// closes, so that none outlives it by more than Wait's bound.
type Guard struct {
	log   *slog.Logger
	clock clock.Clock

	panics, timedOut, abandoned atomic.Int64

	mu      sync.Mutex
	running int64
	idle    chan struct{} // closed when running drops to 0; nil while 0
}

// New returns a Guard logging recovered panics and abandoned calls to log
// (nil: discard) and timing its waits with c (nil: real time).
func New(log *slog.Logger, c clock.Clock) *Guard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c == nil {
		c = clock.New()
	}
	return &Guard{log: log, clock: c}
}

// Stats returns the guard's counts.
func (g *Guard) Stats() Stats {
	g.mu.Lock()
	running := g.running
	g.mu.Unlock()
	return Stats{Panics: g.panics.Load(), TimedOut: g.timedOut.Load(), Running: running, Abandoned: g.abandoned.Load()}
}

// Do runs f in the calling goroutine. A panic is recovered, logged, counted
// and returned as a *PanicError. Do does not track f: a call that blocks
// blocks its caller, so use it where that is the caller's own business.
func (g *Guard) Do(name string, f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = g.recovered(name, v, true)
		}
	}()
	f()
	return nil
}

// Quiet is Do without logging the panic (only counting it): for the
// logger's own handler, whose panic cannot be logged through itself.
func (g *Guard) Quiet(name string, f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = g.recovered(name, v, false)
		}
	}()
	f()
	return nil
}

func (g *Guard) recovered(name string, v any, log bool) error {
	g.panics.Add(1)
	e := &PanicError{Name: name, Value: v, Stack: debug.Stack()}
	if log {
		g.Quiet("Logger", func() { //nolint:errcheck // counted
			g.log.Error("user callback panicked; recovered", "callback", name, "panic", fmt.Sprint(v))
		})
	}
	return e
}

// Go runs f in a goroutine of its own, recovered (see Do) and tracked until
// it returns.
func (g *Guard) Go(name string, f func()) {
	g.enter()
	go func() {
		defer g.leave()
		g.Do(name, f) //nolint:errcheck // logged and counted
	}()
}

// Call runs f in a goroutine of its own, recovered and tracked, and waits
// at most timeout for its result. A panic gives (zero, *PanicError); no
// answer in time gives (zero, ErrTimeout), counted, while f goes on running.
// timeout <= 0 waits for f however long it takes.
func Call[T any](g *Guard, name string, timeout time.Duration, f func() T) (T, error) {
	return call(g, name, timeout, nil, f)
}

// CallContext is Call that also stops waiting when ctx ends, giving (zero,
// an error wrapping ctx's cause) while f goes on running, tracked; f should
// watch ctx itself.
func CallContext[T any](ctx context.Context, g *Guard, name string, timeout time.Duration, f func() T) (T, error) {
	return call(g, name, timeout, ctx, f)
}

// call is Call and CallContext: ctx nil waits on no context.
func call[T any](g *Guard, name string, timeout time.Duration, ctx context.Context, f func() T) (T, error) { //nolint:revive // ctx is optional here
	type answer struct {
		v   T
		err error
	}
	// The timer exists before f runs: a test on a mock clock that sees f
	// running may advance the clock.
	var expired <-chan time.Time
	if timeout > 0 {
		t := g.clock.Timer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	ch := make(chan answer, 1) // f's goroutine never blocks on a caller that left
	g.Go(name, func() {
		var a answer
		a.err = g.Do(name, func() { a.v = f() })
		ch <- a
	})
	var zero T
	select {
	case a := <-ch:
		return a.v, a.err
	case <-done:
		return zero, fmt.Errorf("agent: user callback %s: %w", name, context.Cause(ctx))
	case <-expired:
		g.timedOut.Add(1)
		g.Quiet("Logger", func() { //nolint:errcheck // counted
			g.log.Warn("user callback did not return in time; going on without it", "callback", name, "timeout", timeout)
		})
		return zero, fmt.Errorf("%w: %s after %v", ErrTimeout, name, timeout)
	}
}

func (g *Guard) enter() {
	g.mu.Lock()
	if g.running == 0 {
		g.idle = make(chan struct{})
	}
	g.running++
	g.mu.Unlock()
}

func (g *Guard) leave() {
	g.mu.Lock()
	g.running--
	if g.running == 0 {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// Wait waits at most d for the calls started by Go and Call to return. The
// calls still running then are abandoned: they go on (Go cannot stop them),
// they are logged and counted in Stats.Abandoned, and Wait returns their
// number. Calls started during Wait are waited for too.
func (g *Guard) Wait(d time.Duration) (abandoned int) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	if idle == nil {
		return 0
	}
	t := g.clock.Timer(d)
	defer t.Stop()
	for {
		select {
		case <-idle:
			g.mu.Lock()
			idle = g.idle // a call may have started since
			g.mu.Unlock()
			if idle == nil {
				return 0
			}
		case <-t.C:
			g.mu.Lock()
			n := g.running
			g.mu.Unlock()
			if n > 0 {
				g.abandoned.Add(n)
				g.Quiet("Logger", func() { //nolint:errcheck // counted
					g.log.Error("user callbacks still running at close; abandoned", "count", n, "waited", d)
				})
			}
			return int(n)
		}
	}
}
