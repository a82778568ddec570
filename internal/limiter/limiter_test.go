package limiter

import (
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
	"go.uber.org/goleak"
)

// newTestLimiter returns a limiter on the bubble's fake clock (inside
// synctest, clock.New reads fake time) that is closed when the test ends.
func newTestLimiter(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// onlyMinute is a config with every limit but the per-minute window off.
func onlyMinute(perMinute int) Config {
	return Config{QueriesPerMinute: perMinute, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: Unlimited, MaxQueued: Unlimited}
}

// The original plan's test: 60 at once, the 61st a second later.
func TestSixtyFirstQueryWaitsForRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, onlyMinute(60))
		ctx := t.Context()
		start := time.Now()
		for i := range 60 {
			_, err := l.Acquire(ctx, 0)
			require.NoError(t, err, "query %d", i)
		}
		assert.Equal(t, time.Duration(0), time.Since(start), "the first 60 are admitted at once")

		_, err := l.Acquire(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "the 61st waits for one token to refill")
	})
}

// result is the outcome of one Acquire run in the background.
type result struct {
	permit Permit
	err    error
	at     time.Time
}

// goAcquire runs Acquire in a goroutine and waits until it blocks (or
// returns), so that calls made one after the other queue in that order.
func goAcquire(ctx context.Context, l *Limiter) <-chan result {
	ch := make(chan result, 1)
	go func() {
		p, err := l.Acquire(ctx, 0)
		ch <- result{permit: p, err: err, at: time.Now()}
	}()
	synctest.Wait()
	return ch
}

// pending asserts that the Acquire behind ch has not returned yet.
func pending(t *testing.T, ch <-chan result, msgAndArgs ...any) {
	t.Helper()
	select {
	case r := <-ch:
		assert.Fail(t, "Acquire returned early", "result %+v %v", r, msgAndArgs)
	default:
	}
}

// returned returns the result behind ch, which must be ready.
func returned(t *testing.T, ch <-chan result) result {
	t.Helper()
	synctest.Wait()
	select {
	case r := <-ch:
		return r
	default:
		require.FailNow(t, "Acquire has not returned")
		return result{}
	}
}

func TestWaitersAreServedFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, onlyMinute(1))
		start := time.Now()
		_, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)

		var waiters []<-chan result
		for range 5 {
			waiters = append(waiters, goAcquire(t.Context(), l))
		}
		assert.Equal(t, 5, l.Stats().Queued)
		var lastID uint64
		for i, ch := range waiters {
			r := <-ch
			require.NoError(t, r.err)
			assert.Equal(t, time.Duration(i+1)*time.Minute, r.at.Sub(start), "waiter %d gets the %d-th refill", i, i+1)
			assert.Greater(t, r.permit.id, lastID, "admitted in arrival order")
			lastID = r.permit.id
		}
	})
}

func TestHeadOfQueueBlocksThoseBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := onlyMinute(Unlimited)
		cfg.MaxConcurrent = 1
		l := newTestLimiter(t, cfg)
		p, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		head := goAcquire(t.Context(), l)
		l.Pause(time.Now().Add(time.Hour)) // blocks the head only after it queued
		second := goAcquire(t.Context(), l)
		l.Settle(p, 0)
		synctest.Wait()
		pending(t, head, "paused")
		pending(t, second, "must not overtake the head")
		time.Sleep(time.Hour)
		r := returned(t, head)
		require.NoError(t, r.err)
		pending(t, second, "the head holds the only slot")
		l.Settle(r.permit, 0)
		require.NoError(t, returned(t, second).err)
	})
}

func TestCancelledWaiterLeavesAndConsumesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := onlyMinute(1)
		cfg.MaxConcurrent = 1
		l := newTestLimiter(t, cfg)
		start := time.Now()
		p, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)

		ctx, cancel := context.WithCancel(t.Context())
		a := goAcquire(ctx, l)
		b := goAcquire(t.Context(), l)
		require.Equal(t, 2, l.Stats().Queued)

		cancel()
		ra := returned(t, a)
		assert.ErrorIs(t, ra.err, context.Canceled)
		assert.Equal(t, start, ra.at, "leaves at once")
		s := l.Stats()
		assert.Equal(t, 1, s.Queued)
		assert.Equal(t, uint64(1), s.Admitted)

		l.Settle(p, 0)
		rb := <-b
		require.NoError(t, rb.err)
		assert.Equal(t, time.Minute, rb.at.Sub(start), "b takes the token a would have taken")
		assert.Equal(t, uint64(2), l.Stats().Admitted)
	})
}

func TestAcquireWithEndedContextConsumesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, onlyMinute(1))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := l.Acquire(ctx, 0)
		assert.ErrorIs(t, err, context.Canceled)
		s := l.Stats()
		assert.Equal(t, 1.0, s.MinuteTokens)
		assert.Equal(t, uint64(0), s.Admitted)
	})
}

// A grant that races with the caller's cancel is undone: the caller
// never saw the permit, so it must not hold a token, a slot or budget.
func TestCancelAfterGrantIsUndone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := onlyMinute(1)
		cfg.MaxConcurrent, cfg.CostBudgetHourly, cfg.QueryBudget = 1, 5, 2
		l := newTestLimiter(t, cfg)

		// Play the part of an Acquire whose ctx ended just as the grant
		// arrived: send the request, let the actor grant it, cancel
		// without reading the reply.
		r := &acquireReq{reply: make(chan acquireResult, 1)}
		require.True(t, l.send(r))
		synctest.Wait()
		require.Len(t, r.reply, 1, "granted")
		s := l.Stats()
		require.Equal(t, 1, s.InFlight)
		require.Equal(t, 2.0, s.ReservedUSD)

		require.True(t, l.send(&cancelReq{req: r}))
		s = l.Stats()
		assert.Equal(t, 0, s.InFlight)
		assert.Equal(t, 0.0, s.ReservedUSD)
		assert.Equal(t, 1.0, s.MinuteTokens)
		assert.Equal(t, uint64(0), s.Admitted)

		start := time.Now()
		_, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		assert.Equal(t, start, time.Now(), "admitted at once with the refunded token and freed slot")
	})
}

func TestQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := onlyMinute(1)
		cfg.MaxQueued = 2
		l := newTestLimiter(t, cfg)
		_, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		w1 := goAcquire(t.Context(), l)
		w2 := goAcquire(t.Context(), l)

		start := time.Now()
		_, err = l.Acquire(t.Context(), 0)
		assert.ErrorIs(t, err, ErrQueueFull)
		assert.Equal(t, start, time.Now(), "refused at once")
		s := l.Stats()
		assert.Equal(t, uint64(1), s.Refused)
		assert.Equal(t, 2, s.Queued)
		require.NoError(t, (<-w1).err)
		require.NoError(t, (<-w2).err)
	})
}

func TestMaxWaitRefusesAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		setup   func(t *testing.T, l *Limiter)
		queued  int // waiters to queue before the checked call
		reason  Reason
		retryIn time.Duration
	}{
		{
			name:   "minute window with waiters ahead",
			cfg:    Config{QueriesPerMinute: 2, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: Unlimited, MaxWait: 90 * time.Second},
			setup:  acquireN(2),
			queued: 3, // at 30, 60 and 90 s; the next one would wait 120 s
			reason: ReasonMinute, retryIn: 120 * time.Second,
		},
		{
			name:   "hour window",
			cfg:    Config{QueriesPerMinute: Unlimited, QueriesPerHour: 2, CostBudgetHourly: Unlimited, MaxConcurrent: Unlimited, MaxWait: time.Minute},
			setup:  acquireN(2),
			reason: ReasonHour, retryIn: 30 * time.Minute,
		},
		{
			name: "budget spent",
			cfg:  Config{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, CostBudgetHourly: 1, MaxConcurrent: Unlimited, MaxWait: time.Minute},
			setup: func(t *testing.T, l *Limiter) {
				p, err := l.Acquire(t.Context(), 0)
				require.NoError(t, err)
				l.Settle(p, 1)
				time.Sleep(10 * time.Minute)
			},
			reason: ReasonBudget, retryIn: 50 * time.Minute,
		},
		{
			name: "paused",
			cfg:  Config{MaxWait: time.Minute},
			setup: func(t *testing.T, l *Limiter) {
				l.Pause(time.Now().Add(5 * time.Minute))
			},
			reason: ReasonPaused, retryIn: 5 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, tt.cfg)
				tt.setup(t, l)
				for range tt.queued {
					goAcquire(t.Context(), l)
				}
				require.Equal(t, tt.queued, l.Stats().Queued, "the waiters within MaxWait are queued")
				start := time.Now()
				_, err := l.Acquire(t.Context(), 0)
				assert.Equal(t, start, time.Now(), "refused at once")
				assert.ErrorIs(t, err, ErrWaitTooLong)
				var we *WaitError
				require.ErrorAs(t, err, &we)
				assert.Equal(t, tt.reason, we.Reason)
				assert.Equal(t, tt.retryIn, we.RetryAfter)
				assert.Equal(t, uint64(1), l.Stats().Refused)
				l.Close() // fails the queued waiters; their goroutines end
			})
		})
	}
}

// A wait that depends on running queries (a slot, budget they reserve) is
// waited for up to MaxWait, and refused then; a waiter that surely cannot
// make it any more (a pause came) is refused at once.
func TestMaxWaitWaitsForRunningQueries(t *testing.T) {
	t.Run("a slot frees in time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newTestLimiter(t, Config{MaxConcurrent: 1, MaxWait: 10 * time.Second})
			p, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
			w := goAcquire(t.Context(), l)
			time.Sleep(5 * time.Second)
			pending(t, w, "waits for the slot instead of being refused")
			l.Settle(p, 0)
			require.NoError(t, returned(t, w).err)
		})
	})
	for _, tt := range []struct {
		name   string
		cfg    Config
		reason Reason
	}{
		{"concurrency", Config{MaxConcurrent: 1, MaxWait: 10 * time.Second}, ReasonConcurrency},
		{"reserved budget", Config{CostBudgetHourly: 1, QueryBudget: 1, MaxWait: 10 * time.Second}, ReasonBudget},
	} {
		t.Run(tt.name+" held past MaxWait", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, tt.cfg)
				_, err := l.Acquire(t.Context(), 0)
				require.NoError(t, err)
				w := goAcquire(t.Context(), l)
				time.Sleep(10*time.Second - time.Nanosecond)
				pending(t, w, "waits for a running query instead of being refused")
				time.Sleep(time.Nanosecond)
				r := returned(t, w) // refused when MaxWait is over
				var we *WaitError
				require.ErrorAs(t, r.err, &we)
				assert.Equal(t, tt.reason, we.Reason)
				assert.Zero(t, we.RetryAfter, "unknown: a running query must settle")
				assert.Equal(t, uint64(1), l.Stats().Refused)
			})
		})
	}
	t.Run("a pause makes it sure", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newTestLimiter(t, Config{MaxConcurrent: 1, MaxWait: time.Minute})
			_, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
			w := goAcquire(t.Context(), l)
			time.Sleep(time.Second)
			pending(t, w)
			start := time.Now()
			l.Pause(start.Add(5 * time.Minute))
			r := returned(t, w)
			assert.Equal(t, start, time.Now(), "refused as soon as it cannot make it")
			var we *WaitError
			require.ErrorAs(t, r.err, &we)
			assert.Equal(t, ReasonPaused, we.Reason)
			assert.Equal(t, 5*time.Minute, we.RetryAfter)
		})
	})
}

// acquireN returns a setup that acquires n permits.
func acquireN(n int) func(t *testing.T, l *Limiter) {
	return func(t *testing.T, l *Limiter) {
		for range n {
			_, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
		}
	}
}

func TestBudgetThroughTheActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, MaxConcurrent: Unlimited, QueryBudget: 4})
		start := time.Now()
		var permits []Permit
		for _, want := range []float64{4, 4, 2} { // the default budget is 10 USD
			p, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
			assert.InDelta(t, want, p.CapUSD, 1e-9)
			permits = append(permits, p)
		}
		w := goAcquire(t.Context(), l)
		pending(t, w, "4 + 4 + 2 USD reserved")

		time.Sleep(time.Minute)
		l.Settle(permits[0], 3) // spent 3 + reserved 6: still 9 < 10
		r := returned(t, w)
		require.NoError(t, r.err)
		assert.InDelta(t, 1, r.permit.CapUSD, 1e-9)
		l.Settle(permits[1], 4)
		l.Settle(permits[2], 2)
		l.Settle(r.permit, 1)
		s := l.Stats()
		assert.InDelta(t, 10, s.SpentUSD, 1e-9)
		assert.InDelta(t, 0, s.ReservedUSD, 1e-9)
		assert.Equal(t, 10.0, s.BudgetUSD)

		// 10 USD spent at minute 1: the next query waits until they leave
		// the rolling hour.
		_, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		assert.Equal(t, 61*time.Minute, time.Since(start))
	})
}

func TestConcurrencyCapDefaultsToFour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{})
		var permits []Permit
		for range 4 {
			p, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
			permits = append(permits, p)
		}
		w := goAcquire(t.Context(), l)
		time.Sleep(time.Hour)
		pending(t, w, "four in flight")
		assert.Equal(t, 4, l.Stats().InFlight)

		l.Settle(permits[2], 0)
		l.Settle(permits[2], 0) // idempotent: frees one slot only
		r := returned(t, w)
		require.NoError(t, r.err)
		assert.Equal(t, 4, l.Stats().InFlight)
	})
}

func TestPauseOnlyExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{})
		start := time.Now()
		l.Pause(start.Add(10 * time.Second))
		l.Pause(start.Add(5 * time.Second)) // earlier: ignored
		w := goAcquire(t.Context(), l)
		time.Sleep(8 * time.Second)
		pending(t, w)
		l.Pause(start.Add(20 * time.Second)) // later: extends
		r := <-w
		require.NoError(t, r.err)
		assert.Equal(t, 20*time.Second, r.at.Sub(start))
		assert.Equal(t, start.Add(20*time.Second), l.Stats().PausedUntil)
	})
}

func TestCloseWakesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(onlyMinute(1))
		require.NoError(t, err)
		p, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		var waiters []<-chan result
		for range 3 {
			waiters = append(waiters, goAcquire(t.Context(), l))
		}

		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { assert.NoError(t, l.Close()) })
		}
		wg.Wait()
		for _, w := range waiters {
			assert.ErrorIs(t, returned(t, w).err, ErrClosed)
		}

		// Nothing blocks on the stopped actor.
		_, err = l.Acquire(t.Context(), 0)
		assert.ErrorIs(t, err, ErrClosed)
		l.Settle(p, 1)
		l.Pause(time.Now().Add(time.Hour))
		s := l.Stats()
		assert.Equal(t, uint64(1), s.Admitted, "the stats at close")
		assert.Equal(t, 0, s.Queued)
		assert.NoError(t, l.Close())
	})
}

func TestServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(Config{})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- l.Serve(ctx) }()
		synctest.Wait()
		select {
		case err := <-served:
			require.FailNow(t, "Serve returned early", "%v", err)
		default:
		}
		_, err = l.Acquire(t.Context(), 0)
		require.NoError(t, err, "works while served")

		cancel()
		assert.ErrorIs(t, <-served, context.Canceled)
		_, err = l.Acquire(t.Context(), 0)
		assert.ErrorIs(t, err, ErrClosed, "Serve closed the limiter when its ctx ended")
		assert.ErrorIs(t, l.Serve(t.Context()), ErrClosed, "a closed limiter's Serve returns at once")
	})
	synctest.Test(t, func(t *testing.T) {
		l, err := New(Config{})
		require.NoError(t, err)
		served := make(chan error, 1)
		go func() { served <- l.Serve(t.Context()) }()
		synctest.Wait()
		require.NoError(t, l.Close())
		assert.ErrorIs(t, <-served, ErrClosed, "Close by someone else ends Serve")
	})
}

func TestPanicFailsWaitersAndTheLoopGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		var armed bool // read and written by the actor goroutine only, after the test's sends
		hook := func(m message) {
			if _, ok := m.(*pauseReq); ok && !armed {
				armed = true
				panic(boom)
			}
			if _, ok := m.(*acquireReq); ok && armed {
				armed = false
				panic("again")
			}
		}
		l, err := newLimiter(onlyMinute(1), hook)
		require.NoError(t, err)
		defer l.Close()
		start := time.Now()
		_, err = l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		w1 := goAcquire(t.Context(), l)
		w2 := goAcquire(t.Context(), l)

		l.Pause(time.Time{}) // the hook panics on it
		for _, w := range []<-chan result{w1, w2} {
			err := returned(t, w).err
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			assert.ErrorIs(t, err, boom)
		}

		// The request being handled when the actor panics is answered too.
		_, err = l.Acquire(t.Context(), 0)
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "again", pe.Value)

		// Windows and counts survived: the token is still spent.
		s := l.Stats()
		assert.Equal(t, uint64(1), s.Admitted)
		assert.Equal(t, 0.0, s.MinuteTokens)
		_, err = l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

func TestStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{QueriesPerMinute: 10, QueriesPerHour: 100, QueryBudget: 0.25})
		p, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		_, err = l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		l.Settle(p, 1.5)
		s := l.Stats()
		assert.InDelta(t, 8, s.MinuteTokens, 1e-9)
		assert.InDelta(t, 98, s.HourTokens, 1e-9)
		assert.InDelta(t, 1.5, s.SpentUSD, 1e-9)
		assert.InDelta(t, 0.25, s.ReservedUSD, 1e-9)
		assert.Equal(t, 10.0, s.BudgetUSD)
		assert.Equal(t, 0.25, s.QueryBudgetUSD)
		assert.Equal(t, 1, s.InFlight)
		assert.Equal(t, uint64(2), s.Admitted)
		time.Sleep(6 * time.Second)
		assert.InDelta(t, 9, l.Stats().MinuteTokens, 1e-9, "a token every 6 s")

		off := newTestLimiter(t, Config{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited})
		p, err = off.Acquire(t.Context(), 0)
		require.NoError(t, err)
		assert.Zero(t, p.CapUSD, "no cap asked for, none given")
		s = off.Stats()
		assert.Equal(t, -1.0, s.MinuteTokens)
		assert.Equal(t, -1.0, s.HourTokens)
		assert.Equal(t, -1.0, s.BudgetUSD)
		assert.Equal(t, -1.0, s.QueryBudgetUSD)
	})
}

// The actor's handler queues a newcomer behind existing waiters even if
// the limits would admit it right now (as at the instant the head's
// timer is due but not yet handled): the head is never overtaken.
func TestNewcomerQueuesBehindWaiters(t *testing.T) {
	l := &Limiter{core: testCore(t, onlyMinute(1)), maxQueued: Unlimited}
	head := &acquireReq{reply: make(chan acquireResult, 1), state: reqQueued}
	l.queue.push(head)

	r := &acquireReq{reply: make(chan acquireResult, 1)}
	l.acquire(r, t0) // the token is there
	assert.Equal(t, reqQueued, r.state)
	assert.Empty(t, r.reply)
	assert.Same(t, head, l.queue.head)
	assert.Equal(t, 2, l.queue.len)
}

// countingClock counts the timers created through it (Timer, After,
// AfterFunc).
type countingClock struct {
	clock.Clock
	mu     sync.Mutex
	timers int
}

func (c *countingClock) Timer(d time.Duration) *clock.Timer {
	c.mu.Lock()
	c.timers++
	c.mu.Unlock()
	return c.Clock.Timer(d)
}

func (c *countingClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.timers++
	c.mu.Unlock()
	return c.Clock.After(d)
}

func (c *countingClock) AfterFunc(d time.Duration, f func()) *clock.Timer {
	c.mu.Lock()
	c.timers++
	c.mu.Unlock()
	return c.Clock.AfterFunc(d, f)
}

func (c *countingClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timers
}

// Waiters cost queue entries, not timers: the limiter makes one timer and
// re-arms it for the head of the queue.
func TestManyWaitersShareOneTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &countingClock{Clock: clock.New()}
		cfg := onlyMinute(600) // a token every 100 ms
		cfg.Clock = clk
		l := newTestLimiter(t, cfg)
		start := time.Now()
		const n = 2000
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := l.Acquire(t.Context(), 0)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		// 600 at once, then one every 100 ms.
		assert.Equal(t, (n-600)*100*time.Millisecond, time.Since(start))
		assert.Equal(t, 1, clk.count(), "timers created")
	})
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	l, err := New(Config{}) // real clock
	require.NoError(t, err)
	_, err = l.Acquire(t.Context(), 0)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	goleak.VerifyNone(t)
}

// More settles than the settle buffer holds, on an idle limiter (the actor
// drains the buffer only when someone waits), all arrive; after Close a
// Settle never blocks.
func TestSettleOverflowAndAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(Config{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, MaxConcurrent: Unlimited, CostBudgetHourly: 1000, QueryBudget: 1})
		require.NoError(t, err)
		var permits []Permit
		for range 200 {
			p, err := l.Acquire(t.Context(), 0)
			require.NoError(t, err)
			permits = append(permits, p)
		}
		for _, p := range permits[:150] {
			l.Settle(p, 0.5)
		}
		st := l.Stats()
		assert.Equal(t, 50, st.InFlight)
		assert.InDelta(t, 75, st.SpentUSD, 1e-9)

		require.NoError(t, l.Close())
		for _, p := range permits[150:] {
			l.Settle(p, 0.5) // a deadlock here fails the synctest bubble
		}
	})
}

// panickyHandler is a user's slog handler with a bug: it panics on records
// whose message contains trigger.
type panickyHandler struct {
	trigger string
	panics  *atomic.Int32
}

func (h panickyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panickyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h panickyHandler) WithGroup(string) slog.Handler            { return h }
func (h panickyHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.trigger) {
		h.panics.Add(1)
		panic("logger bug")
	}
	return nil
}

// A panic in the actor's loop from the user's Logger (here when a nonsense
// cost is settled) is recovered: the caller being served gets a
// *PanicError instead of hanging, and the limiter goes on. A logger that
// panics again while the panic is logged cannot kill the actor either.
func TestLoggerPanicIsRecovered(t *testing.T) {
	for _, tc := range []struct {
		trigger string
		panics  int32
	}{
		{"invalid cost", 1},
		{"limiter:", 2}, // the settle's warning and the recovery's record
	} {
		t.Run(tc.trigger, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := panickyHandler{trigger: tc.trigger, panics: new(atomic.Int32)}
				l := newTestLimiter(t, Config{Logger: slog.New(h)})
				p, err := l.Acquire(t.Context(), 0)
				require.NoError(t, err)
				l.Settle(p, -1) // applied when the next request arrives
				_, err = l.Acquire(t.Context(), 0)
				var pe *PanicError
				require.ErrorAs(t, err, &pe, "the request served during the panic")
				assert.Equal(t, tc.panics, h.panics.Load())
				_, err = l.Acquire(t.Context(), 0)
				require.NoError(t, err, "the limiter did not resume after the panic")
			})
		})
	}
}
