package breaker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every test here runs in a synctest bubble, where clock.New() (the default
// Clock) reads the bubble's fake time and time.Sleep advances it.

// stateOf returns the breaker's state.
func stateOf(b *Breaker) State { return b.Stats().State }

func newTestBreaker(t *testing.T, cfg Config) *Breaker {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = zeroSource{}
	}
	b, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

func call(t *testing.T, b *Breaker, o Outcome) {
	t.Helper()
	p, err := b.Allow(t.Context())
	require.NoError(t, err)
	b.Report(p, o)
}

func refusal(t *testing.T, err error) *OpenError {
	t.Helper()
	require.ErrorIs(t, err, ErrCircuitOpen)
	var oe *OpenError
	require.ErrorAs(t, err, &oe)
	return oe
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) get() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func transitions(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.From.String()+">"+ev.To.String())
	}
	return out
}

func TestOpensAfterFiveConsecutiveFailuresAndRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		for range 4 {
			call(t, b, Failure)
		}
		require.Equal(t, StateClosed, stateOf(b))
		call(t, b, Failure)
		assert.Equal(t, StateOpen, stateOf(b))

		for range 3 {
			_, err := b.Allow(t.Context())
			oe := refusal(t, err)
			assert.Equal(t, StateOpen, oe.State)
			assert.Equal(t, 60*time.Second, oe.RetryAfter)
		}
		time.Sleep(20 * time.Second)
		oe := refusal(t, b.Check(t.Context()))
		assert.Equal(t, 40*time.Second, oe.RetryAfter)

		s := b.Stats()
		assert.Equal(t, uint64(4), s.Refused, "three Allow and one Check refusals")
		assert.Equal(t, uint64(5), s.Counts.Failures)
		assert.Equal(t, time.Now().Add(40*time.Second), s.NextHalfOpen)
	})
}

func TestAfterTimeoutHalfOpenAndSuccessesClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(60*time.Second - time.Nanosecond)
		require.Equal(t, StateOpen, stateOf(b))
		time.Sleep(time.Nanosecond)
		assert.Equal(t, StateHalfOpen, stateOf(b))

		call(t, b, Success)
		assert.Equal(t, StateHalfOpen, stateOf(b), "one success of two")
		call(t, b, Success)
		assert.Equal(t, StateClosed, stateOf(b))
		call(t, b, Failure) // closed again: calls flow
	})
}

func TestHalfOpenFailureReopensWithLongerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(60 * time.Second)
		call(t, b, Failure)
		require.Equal(t, StateOpen, stateOf(b))
		s := b.Stats()
		assert.Equal(t, 120*time.Second, s.OpenTimeout)
		assert.Equal(t, time.Now().Add(120*time.Second), s.NextHalfOpen)
		_, err := b.Allow(t.Context())
		assert.Equal(t, 120*time.Second, refusal(t, err).RetryAfter)

		time.Sleep(60 * time.Second)
		assert.Equal(t, StateOpen, stateOf(b), "the old timeout is not enough")
		time.Sleep(60 * time.Second)
		assert.Equal(t, StateHalfOpen, stateOf(b))
		call(t, b, Failure)
		assert.Equal(t, 240*time.Second, b.Stats().OpenTimeout, "doubles again")
	})
}

func TestTimerMovesToHalfOpenWithoutAnyCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		var rec recorder
		b.Subscribe(rec.add)
		for range 5 {
			call(t, b, Failure)
		}
		opened := time.Now()
		time.Sleep(60 * time.Second)
		synctest.Wait() // the actor and the delivery goroutine run; nothing else asks
		evs := rec.get()
		require.Equal(t, []string{"closed>open", "open>half-open"}, transitions(evs))
		assert.Equal(t, opened.Add(60*time.Second), evs[1].At)
		assert.Equal(t, StateHalfOpen, b.view.Load().state, "published for the answers from the view")
		assert.Equal(t, StateHalfOpen, stateOf(b))
	})
}

func TestHalfOpenProbeCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{HalfOpenRequests: 2, SuccessThreshold: 3})
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		p1, err := b.Allow(t.Context())
		require.NoError(t, err)
		require.NoError(t, b.Check(t.Context()), "Check takes no slot")
		p2, err := b.Allow(t.Context())
		require.NoError(t, err)
		_, err = b.Allow(t.Context())
		oe := refusal(t, err)
		assert.Equal(t, StateHalfOpen, oe.State)
		assert.Equal(t, StateHalfOpen, refusal(t, b.Check(t.Context())).State)
		assert.Equal(t, 2, b.Stats().Probes)

		b.Report(p1, Success)
		p3, err := b.Allow(t.Context())
		require.NoError(t, err, "a reported probe frees its slot")
		b.Report(p2, Success)
		b.Report(p3, Success)
		assert.Equal(t, StateClosed, stateOf(b))
	})
}

func TestIgnoredOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{HalfOpenRequests: 1})
		for range 4 {
			call(t, b, Failure)
		}
		for range 10 {
			call(t, b, Ignored)
		}
		require.Equal(t, StateClosed, stateOf(b), "ignored is not a failure")
		call(t, b, Failure)
		require.Equal(t, StateOpen, stateOf(b), "nor does it reset the run")
		time.Sleep(time.Minute)

		// A probe whose caller cancelled its own context gives its slot back.
		ctx, cancel := context.WithCancel(t.Context())
		p, err := b.Allow(ctx)
		require.NoError(t, err)
		_, err = b.Allow(t.Context())
		refusal(t, err)
		cancel()
		b.Report(p, Ignored)
		assert.Equal(t, StateHalfOpen, stateOf(b))
		call(t, b, Success)
		call(t, b, Success)
		assert.Equal(t, StateClosed, stateOf(b))
		assert.Equal(t, uint64(11), b.Stats().Counts.Ignored)
	})
}

func TestStaleGenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{HalfOpenRequests: 1, SuccessThreshold: 1})
		old, err := b.Allow(t.Context()) // granted while closed
		require.NoError(t, err)
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		probe, err := b.Allow(t.Context())
		require.NoError(t, err)

		b.Report(old, Failure)
		assert.Equal(t, StateHalfOpen, stateOf(b), "a stale failure does not re-open")
		b.Report(old, Success)
		assert.Equal(t, StateHalfOpen, stateOf(b), "a stale success does not close")
		_, err = b.Allow(t.Context())
		refusal(t, err) // and frees no slot

		b.Report(probe, Success)
		assert.Equal(t, StateClosed, stateOf(b))
		b.Report(probe, Failure) // reported again, now stale
		assert.Equal(t, 0, b.Stats().ConsecutiveFailures)
	})
}

func TestEventsInOrderWithCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		var rec recorder
		b.Subscribe(rec.add)
		start := time.Now()
		call(t, b, Success)
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		call(t, b, Failure)
		time.Sleep(2 * time.Minute)
		call(t, b, Success)
		call(t, b, Success)
		synctest.Wait()

		evs := rec.get()
		require.Equal(t, []string{
			"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed",
		}, transitions(evs))
		assert.Equal(t, start, evs[0].At)
		assert.Equal(t, Counts{Requests: 6, Successes: 1, Failures: 5, ConsecutiveFailures: 5}, evs[0].Counts)
		assert.Equal(t, start.Add(time.Minute), evs[1].At)
		assert.Equal(t, Counts{Requests: 1, Failures: 1, ConsecutiveFailures: 1}, evs[2].Counts)
		assert.Equal(t, start.Add(3*time.Minute), evs[3].At)
		assert.Equal(t, Counts{Requests: 2, Successes: 2, ConsecutiveSuccesses: 2}, evs[4].Counts)
	})
}

func TestBadSubscribersStallNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		b := newTestBreaker(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

		var panics atomic.Int32
		b.Subscribe(func(Event) {
			panics.Add(1)
			panic("subscriber boom")
		})
		release := make(chan struct{})
		var slow recorder
		b.Subscribe(func(ev Event) {
			<-release
			slow.add(ev)
		})
		var good recorder
		b.Subscribe(good.add)

		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		call(t, b, Success)
		call(t, b, Success)
		synctest.Wait()

		want := []string{"closed>open", "open>half-open", "half-open>closed"}
		assert.Equal(t, want, transitions(good.get()), "others get every event")
		assert.Equal(t, int32(3), panics.Load(), "a panicking subscriber keeps getting events")
		assert.Contains(t, logs.String(), "subscriber boom")
		assert.Empty(t, slow.get(), "the slow one is still blocked")
		assert.Equal(t, StateClosed, stateOf(b), "and the breaker goes on")

		close(release)
		synctest.Wait()
		assert.Equal(t, want, transitions(slow.get()), "in order, once unblocked")
	})
}

func TestUnsubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		var rec, self recorder
		unsubscribe := b.Subscribe(rec.add)
		var unsubSelf func()
		unsubSelf = b.Subscribe(func(ev Event) {
			self.add(ev)
			unsubSelf() // from inside the callback
		})
		for range 5 {
			call(t, b, Failure)
		}
		synctest.Wait()
		unsubscribe()
		unsubscribe() // twice is fine
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"closed>open"}, transitions(rec.get()))
		assert.Equal(t, []string{"closed>open"}, transitions(self.get()))
	})
}

func TestDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{Disabled: true})
		for range 50 {
			call(t, b, Failure)
		}
		assert.NoError(t, b.Check(t.Context()))
		p, err := b.Allow(t.Context())
		assert.NoError(t, err)
		assert.Equal(t, Permit{}, p)
		assert.Equal(t, StateClosed, stateOf(b))
	})
}

func TestAllowHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := b.Allow(ctx)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, b.Check(ctx), context.Canceled)
		assert.Zero(t, b.Stats().Counts.Requests)
	})
}

// hookClock is the bubble's clock with a hook run on every Now.
type hookClock struct {
	clock.Clock
	hook atomic.Pointer[func()]
}

func (c *hookClock) Now() time.Time {
	if h := c.hook.Load(); h != nil {
		(*h)()
	}
	return c.Clock.Now()
}

func (c *hookClock) set(f func()) { c.hook.Store(&f) }

func TestCloseWakesEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &hookClock{Clock: clock.New()}
		b, err := New(Config{Clock: clk, HalfOpenRequests: 100})
		require.NoError(t, err)
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		synctest.Wait() // half-open: Allow reads the clock in the actor only

		gate := make(chan struct{})
		var once sync.Once
		clk.set(func() { once.Do(func() { <-gate }) }) // the actor stalls on its next step

		errs := make(chan error, 10)
		for range 10 {
			go func() {
				errs <- b.Check(t.Context()) // Check asks the actor alone, not the fleet
			}()
		}
		synctest.Wait() // one request stalls the actor, nine wait to be taken
		closed := make(chan struct{})
		for range 3 {
			go func() {
				assert.NoError(t, b.Close())
				closed <- struct{}{}
			}()
		}
		synctest.Wait() // and three Close wait for it too
		close(gate)
		for range 3 {
			<-closed
		}
		var granted, refused int
		for range 10 {
			switch err := <-errs; {
			case err == nil:
				granted++
			case errors.Is(err, ErrClosed):
				refused++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		assert.Equal(t, 1, granted, "the request being handled is answered")
		assert.Equal(t, 9, refused, "the others wake with ErrClosed")

		_, err = b.Allow(t.Context())
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, b.Check(t.Context()), ErrClosed)
		b.Report(Permit{gen: 1}, Failure)
		b.Subscribe(func(Event) {})()
		assert.Equal(t, StateHalfOpen, stateOf(b))
		assert.Equal(t, uint64(5), b.Stats().Counts.Requests, "last stats")
		assert.NoError(t, b.Close())
	})
}

func TestPanicInLoopIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		clk := &hookClock{Clock: clock.New()}
		b := newTestBreaker(t, Config{Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil)), HalfOpenRequests: 2})
		var rec recorder
		b.Subscribe(rec.add)
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		p1, err := b.Allow(t.Context())
		require.NoError(t, err)
		p2, err := b.Allow(t.Context())
		require.NoError(t, err)

		var once sync.Once
		clk.set(func() { once.Do(func() { panic("clock boom") }) })
		_, err = b.Allow(t.Context())
		var pe *PanicError
		assert.ErrorAs(t, err, &pe, "the waiting caller is answered")
		assert.ErrorContains(t, err, "clock boom")
		assert.Contains(t, logs.String(), "clock boom")

		assert.Equal(t, StateClosed, stateOf(b), "resumed closed")
		b.Report(p1, Failure)
		b.Report(p2, Failure)
		s := b.Stats()
		assert.Equal(t, StateClosed, s.State)
		assert.Zero(t, s.ConsecutiveFailures, "permits from before the panic are stale")
		assert.Zero(t, s.Probes)
		call(t, b, Success)
		synctest.Wait()
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, transitions(rec.get()))
	})
}

func TestServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- b.Serve(ctx) }()
		synctest.Wait()
		select {
		case err := <-served:
			t.Fatalf("Serve returned early: %v", err)
		default:
		}
		cancel()
		assert.ErrorIs(t, <-served, context.Canceled)
		_, err = b.Allow(t.Context())
		assert.ErrorIs(t, err, ErrClosed, "Serve closed it")
		assert.ErrorIs(t, b.Serve(t.Context()), ErrClosed, "again after it returned")

		b2, err := New(Config{})
		require.NoError(t, err)
		go func() { served <- b2.Serve(t.Context()) }()
		require.NoError(t, b2.Close())
		assert.ErrorIs(t, <-served, ErrClosed, "closed by someone else")
	})
}

func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Runs of failures trip it, successes close it again, in whatever
		// interleaving of the goroutines.
		b := newTestBreaker(t, Config{Timeout: time.Second, HalfOpenRequests: 3, FailureThreshold: 2})
		outcomes := []Outcome{Success, Ignored, Failure, Failure}
		var maxProbes atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 300 {
					p, err := b.Allow(t.Context())
					if err != nil {
						var oe *OpenError
						if !errors.As(err, &oe) {
							t.Errorf("unexpected %v", err)
							return
						}
						time.Sleep(100 * time.Millisecond)
						continue
					}
					if p.probe != 0 {
						if n := int64(b.Stats().Probes); n > maxProbes.Load() {
							maxProbes.Store(n)
						}
					}
					time.Sleep(time.Millisecond)
					b.Report(p, outcomes[(g+i)%len(outcomes)])
				}
			})
		}
		wg.Wait()
		s := b.Stats()
		assert.LessOrEqual(t, maxProbes.Load(), int64(3))
		assert.Zero(t, s.Probes, "every probe given back")
		c := s.Counts
		assert.Equal(t, c.Requests, c.Successes+c.Failures+c.Ignored, "every permit reported once")
		assert.Positive(t, s.Refused)
	})
}

func TestCallerSeesItsOwnReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{})
		for i := range 200 {
			for range 5 {
				p, err := b.Allow(t.Context())
				require.NoError(t, err, "round %d", i)
				b.Report(p, Failure)
			}
			_, err := b.Allow(t.Context()) // no State, Stats or wait in between
			require.ErrorIs(t, err, ErrCircuitOpen, "round %d: the fifth failure must be seen", i)
			time.Sleep(time.Minute)
			call(t, b, Success)
			call(t, b, Success)
		}
	})
}

// More reports than the report buffer holds all count; after Close a Report
// never blocks.
func TestReportOverflowAndAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{})
		require.NoError(t, err)
		var permits []Permit
		for range 200 {
			p, err := b.Allow(t.Context())
			require.NoError(t, err)
			permits = append(permits, p)
		}
		for _, p := range permits[:150] {
			b.Report(p, Success)
		}
		assert.EqualValues(t, 150, b.Stats().Counts.Successes)

		require.NoError(t, b.Close())
		for _, p := range permits[150:] {
			b.Report(p, Failure) // a deadlock here fails the synctest bubble
		}
	})
}

// panicHandler is a slog handler that panics on every record.
type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("logger boom") }
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panicHandler) WithGroup(string) slog.Handler           { return h }

// A panicking subscriber whose panic the logger cannot log (it panics too)
// still kills nothing: the subscriber keeps getting events.
func TestSubscriberPanicWithAPanickingLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{Logger: slog.New(panicHandler{})})
		var panics atomic.Int32
		b.Subscribe(func(Event) {
			panics.Add(1)
			panic("subscriber boom")
		})
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		call(t, b, Success)
		call(t, b, Success)
		synctest.Wait()
		assert.Equal(t, int32(3), panics.Load(), "every event reached the subscriber")
		assert.Equal(t, StateClosed, stateOf(b))
	})
}

// logBuffer collects log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}
