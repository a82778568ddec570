package limiter

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The scale tests measure and log figures ("scale: ..." lines, which
// internal/benchtable prints); they assert behaviour, never timings. They
// run only with BENCH_SCALE=1 (make bench sets it): the wake-up test takes
// 20 s of real time.

func skipUnlessScale(t *testing.T) {
	t.Helper()
	if os.Getenv("BENCH_SCALE") == "" {
		t.Skip("set BENCH_SCALE=1 to run the scale tests (make bench does)")
	}
}

// heapAlloc returns HeapAlloc after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestScaleWaiters parks 10,000 callers in the queue of a limiter whose
// only token is taken, measures the limiter's heap per waiter and its
// timers, cancels them all and checks that every goroutine is gone.
//
// Heap per waiter: HeapAlloc deltas after runtime.GC. Goroutine stacks are
// not heap, but each parked goroutine has heap-allocated runtime state
// (its g, sudogs of its select). So 10,000 goroutines are first started
// and ended once (their g structs are then reused, not allocated again),
// and the same number parked in a three-case select on the same context
// serve as the control (its goroutines park before the measurement;
// the waiters are measured once all are queued): limiter-side bytes = (waiters' delta - control
// delta) / 10,000.
func TestScaleWaiters(t *testing.T) {
	skipUnlessScale(t)
	const n = 10_000
	before := runtime.NumGoroutine()

	// Parked goroutines without a limiter, twice: the first round leaves
	// the runtime n goroutine descriptors to reuse, the second is the
	// control.
	park := func() (delta int64) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		never, never2 := make(chan struct{}), make(chan struct{})
		var done, parked sync.WaitGroup
		base := heapAlloc()
		for range n {
			done.Add(1)
			parked.Add(1)
			go func() {
				defer done.Done()
				parked.Done()
				select {
				case <-ctx.Done():
				case <-never:
				case <-never2:
				}
			}()
		}
		parked.Wait()
		delta = int64(heapAlloc()) - int64(base)
		cancel()
		done.Wait()
		return delta
	}
	park()
	controlDelta := park()

	// The limiter: one token, taken; everyone after it waits a minute.
	clk := &countingClock{Clock: clock.New()} // limiter_test.go
	l, err := New(Config{
		QueriesPerMinute: 1,
		QueriesPerHour:   Unlimited,
		CostBudgetHourly: Unlimited,
		MaxConcurrent:    Unlimited,
		MaxQueued:        Unlimited,
		Clock:            clk,
	})
	require.NoError(t, err)
	first, err := l.Acquire(context.Background(), 0)
	require.NoError(t, err)
	defer l.Settle(first, 0)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waiters sync.WaitGroup
	errs := make(chan error, n)
	base := heapAlloc()
	for range n {
		waiters.Go(func() {
			_, err := l.Acquire(ctx, 0)
			errs <- err
		})
	}
	for l.Stats().Queued < n {
		runtime.Gosched()
	}
	waitersDelta := int64(heapAlloc()) - int64(base)
	timers := clk.count()

	start := time.Now()
	cancel()
	waiters.Wait()
	cancelTime := time.Since(start)
	close(errs)
	for err := range errs {
		require.True(t, errors.Is(err, context.Canceled), "every waiter ends with ctx's error, got %v", err)
	}
	assert.Zero(t, l.Stats().Queued, "the cancelled waiters have left the queue")
	assert.Equal(t, 1, timers, "one timer for the whole limiter, created by New")
	l.Close()
	goleak.VerifyNone(t)

	t.Logf("scale: waiters: %d callers queued in the limiter: heap %.0f B/waiter (waiters %.0f B - control %.0f B of goroutines parked in a select, per caller)",
		n, float64(waitersDelta-controlDelta)/n, float64(waitersDelta)/n, float64(controlDelta)/n)
	t.Logf("scale: waiters: timers created by the limiter: %d (armed for the head of the queue only)", timers)
	t.Logf("scale: waiters: cancel all %d: %v until every Acquire returned (%.0f ns each); goroutines before %d, after %d (goleak clean)",
		n, cancelTime.Round(time.Microsecond), float64(cancelTime.Nanoseconds())/n, before, runtime.NumGoroutine())
}

// TestScaleWakeup measures how late, in real time, a lone waiter is
// released after its token became available: 200 waits at 600 a minute
// (one token each 100 ms), after the bucket was emptied. The moment the
// token is available comes from the core itself: a hook in the actor
// records readyAt when the request arrives.
func TestScaleWakeup(t *testing.T) {
	skipUnlessScale(t)
	const (
		perMinute = 600
		waits     = 200
	)
	var readyAt time.Time // written by the actor before it answers; read after the answer
	var l *Limiter
	hook := func(m message) {
		if _, ok := m.(*acquireReq); ok {
			readyAt, _, _ = l.core.readyAt(l.clock.Now(), l.queue.len, 0, l.core.askFor(KindQuery, 0))
		}
	}
	l, err := newLimiter(Config{
		QueriesPerMinute: perMinute,
		QueriesPerHour:   Unlimited,
		CostBudgetHourly: Unlimited,
		MaxConcurrent:    Unlimited,
	}, hook)
	require.NoError(t, err)
	defer l.Close()
	ctx := context.Background()
	for range perMinute { // empty the bucket
		p, err := l.Acquire(ctx, 0)
		require.NoError(t, err)
		l.Settle(p, 0)
	}

	late := make([]time.Duration, 0, waits)
	for range waits {
		p, err := l.Acquire(ctx, 0)
		released := time.Now()
		require.NoError(t, err)
		l.Settle(p, 0)
		late = append(late, released.Sub(readyAt))
	}
	slices.Sort(late)
	assert.GreaterOrEqual(t, late[0], time.Duration(0), "no waiter is released before its token")
	q := func(p float64) time.Duration { return late[int(p*float64(len(late)-1))] }
	t.Logf("scale: wakeup: %d waits at %d/min, release after the token became available: p50 %v, p99 %v, max %v",
		waits, perMinute, q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), late[len(late)-1].Round(time.Microsecond))
}
