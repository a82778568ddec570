package limiter

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queuedNotice is one call of Request.Queued.
type queuedNotice struct {
	reason Reason
	ahead  int
}

// waiter is one Wait run in the background with a Queued callback.
type waiter struct {
	mu      sync.Mutex
	notices []queuedNotice
	done    chan result
}

// goWaitTold runs Wait(req) in a goroutine that records its Queued notices,
// and waits until it blocks (or returns).
func goWaitTold(ctx context.Context, l *Limiter, kind Kind) *waiter {
	w := &waiter{done: make(chan result, 1)}
	go func() {
		p, err := l.Wait(ctx, Request{Kind: kind, Queued: func(r Reason, ahead int) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.notices = append(w.notices, queuedNotice{r, ahead})
		}})
		w.done <- result{permit: p, err: err, at: time.Now()}
	}()
	synctest.Wait()
	return w
}

func (w *waiter) queued() []queuedNotice {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]queuedNotice(nil), w.notices...)
}

// sharedMem is the in-memory store used as a shared one, so that the
// actor's shared-store path runs (the worker, the round trips).
type sharedMem struct{ *memStore }

func (sharedMem) Changes() <-chan struct{} { return nil }
func (sharedMem) Close() error             { return nil }

// A query that waits is told so once, with the limit it waits on and how
// many wait ahead of it, and its permit names the limit that held it
// last; one admitted at once is told nothing and its permit names none.
func TestWaitTellsTheLimitItWaitsOn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		shared  bool
		hold    int                               // queries admitted first, held by the test
		kind    Kind                              // of the waiters
		waiters int                               //
		before  func(t *testing.T, l *Limiter)    // before the waiters come
		free    func(l *Limiter, held []Permit)   // what lets the waiters in
		queued  []queuedNotice                    // each waiter's notice
		waited  Reason                            // the permits' WaitedOn
		after   time.Duration                     // when the first waiter is admitted
		extra   func(t *testing.T, held []Permit) // more checks
	}{
		{
			name: "minute window", cfg: onlyMinute(2), hold: 2, kind: KindQuery, waiters: 2,
			queued: []queuedNotice{{ReasonMinute, 0}, {ReasonMinute, 1}}, waited: ReasonMinute, after: 30 * time.Second,
		},
		{
			name: "minute window, shared store", cfg: onlyMinute(2), shared: true, hold: 2, kind: KindQuery, waiters: 2,
			queued: []queuedNotice{{ReasonMinute, 0}, {ReasonMinute, 1}}, // the first when the store refused it, the second behind it
			waited: ReasonMinute, after: 30 * time.Second,
		},
		{
			name: "concurrency", cfg: Config{QueriesPerMinute: 2, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: Unlimited},
			hold: 1, kind: KindQuery, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 0) },
			queued: []queuedNotice{{ReasonConcurrency, 0}}, waited: ReasonConcurrency,
		},
		{
			name: "concurrency, shared store", cfg: Config{QueriesPerMinute: 2, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: Unlimited},
			shared: true, hold: 1, kind: KindQuery, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 0) },
			queued: []queuedNotice{{ReasonConcurrency, 0}}, waited: ReasonConcurrency,
		},
		{
			name: "a session waits for a slot", cfg: Config{QueriesPerMinute: 2, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: Unlimited},
			hold: 1, kind: KindSession, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 0) },
			queued: []queuedNotice{{ReasonConcurrency, 0}}, waited: ReasonConcurrency,
		},
		{
			name: "the window before the slot", cfg: Config{QueriesPerMinute: 1, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: Unlimited},
			hold: 1, kind: KindQuery, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 0) },
			queued: []queuedNotice{{ReasonMinute, 0}}, waited: ReasonMinute, after: time.Minute,
		},
		{
			// What holds it too (the budget its running peer reserved) is
			// freed by the same settle: the slot is named.
			name: "the slot before the reserved budget", cfg: Config{QueriesPerMinute: 100, QueriesPerHour: Unlimited, CostBudgetHourly: 1, QueryBudget: 1, MaxConcurrent: 1, MaxQueued: Unlimited},
			hold: 1, kind: KindQuery, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 0.5) },
			queued: []queuedNotice{{ReasonConcurrency, 0}}, waited: ReasonConcurrency,
		},
		{
			name: "pause", cfg: onlyMinute(100), kind: KindTurn, waiters: 1,
			before: func(t *testing.T, l *Limiter) { l.Pause(time.Now().Add(5 * time.Second)) },
			queued: []queuedNotice{{ReasonPaused, 0}}, waited: ReasonPaused, after: 5 * time.Second,
		},
		{
			name: "pause, shared store", cfg: onlyMinute(100), shared: true, kind: KindQuery, waiters: 2,
			before: func(t *testing.T, l *Limiter) { l.Pause(time.Now().Add(5 * time.Second)) },
			queued: []queuedNotice{{ReasonPaused, 0}, {ReasonPaused, 1}}, waited: ReasonPaused, after: 5 * time.Second,
		},
		{
			// The reservation holds the budget (only a settle frees it),
			// then the spend does (it rolls off in an hour).
			name: "budget", cfg: Config{QueriesPerMinute: 100, QueriesPerHour: Unlimited, CostBudgetHourly: 1, QueryBudget: 1, MaxConcurrent: Unlimited, MaxQueued: Unlimited},
			hold: 1, kind: KindQuery, waiters: 1,
			free:   func(l *Limiter, held []Permit) { l.Settle(held[0], 1) },
			queued: []queuedNotice{{ReasonBudget, 0}}, waited: ReasonBudget, after: time.Hour,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := tc.cfg
				if tc.shared {
					cfg.Store = sharedMem{newMemStore(Limits{PerMinute: cfg.QueriesPerMinute, PerHour: cfg.QueriesPerHour, Budget: cfg.CostBudgetHourly})}
				}
				l := newTestLimiter(t, cfg)
				ctx := t.Context()
				start := time.Now()
				var held []Permit
				for range tc.hold {
					w := goWaitTold(ctx, l, KindQuery)
					r := returned(t, w.done)
					require.NoError(t, r.err)
					assert.Empty(t, w.queued(), "a query admitted at once was told it waits")
					assert.Zero(t, r.permit.WaitedOn, "a query admitted at once waited on %v", r.permit.WaitedOn)
					held = append(held, r.permit)
				}
				if tc.before != nil {
					tc.before(t, l)
				}
				var ws []*waiter
				for range tc.waiters {
					ws = append(ws, goWaitTold(ctx, l, tc.kind))
				}
				for i, w := range ws {
					pending(t, w.done)
					assert.Equal(t, []queuedNotice{tc.queued[i]}, w.queued(), "waiter %d's notice", i)
				}
				if tc.free != nil {
					tc.free(l, held)
				}
				r := <-ws[0].done
				require.NoError(t, r.err)
				assert.Equal(t, tc.waited, r.permit.WaitedOn)
				assert.Equal(t, tc.after, r.at.Sub(start), "when the first waiter was admitted")
				assert.Len(t, ws[0].queued(), 1, "a waiter is told once")
			})
		})
	}
}

// With a shared store, a query that queues behind another's round trip
// is told it waits behind others (no limit), not the store's last answer:
// a pause long over does not name its wait.
func TestSharedWaitIsNotToldAStaleLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gs := newGatedStore(Limits{PerMinute: 100, PerHour: Unlimited, Budget: Unlimited})
		l := newTestLimiter(t, Config{QueriesPerMinute: 100, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited,
			MaxConcurrent: Unlimited, MaxQueued: Unlimited, Store: gs})
		ctx := t.Context()
		l.Pause(time.Now().Add(time.Second))
		a := goWaitTold(ctx, l, KindQuery)
		assert.Equal(t, []queuedNotice{{ReasonPaused, 0}}, a.queued())
		time.Sleep(time.Second) // the pause ends: the store is asked for a
		<-gs.entered
		gs.gate <- struct{}{}
		r := <-a.done
		require.NoError(t, r.err)
		assert.Equal(t, ReasonPaused, r.permit.WaitedOn)

		time.Sleep(time.Minute)
		b := goWaitTold(ctx, l, KindQuery) // its round trip is held at the gate
		<-gs.entered
		c := goWaitTold(ctx, l, KindQuery)
		assert.Empty(t, b.queued(), "b waits only for its round trip")
		assert.Equal(t, []queuedNotice{{0, 1}}, c.queued(), "c waits behind b, on no limit")
		gs.gate <- struct{}{}
		<-gs.entered
		gs.gate <- struct{}{}
		for _, w := range []*waiter{b, c} {
			r := <-w.done
			require.NoError(t, r.err)
			assert.Zero(t, r.permit.WaitedOn)
		}
	})
}

// A panic recovered while a query's admission is with a shared store
// fails that query; the store's answer, when it comes, is for nobody: a
// later query (which may reuse the failed one's pooled request) gets an
// admission of its own, with its own cap, and the orphan lease is freed.
func TestSharedAnswerAfterAPanicIsForNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gs := newGatedStore(Limits{PerMinute: 100, PerHour: Unlimited, Budget: 1})
		var armed bool // the actor's only
		hook := func(m message) {
			if _, ok := m.(*pauseReq); ok && !armed {
				armed = true
				panic("boom")
			}
		}
		l, err := newLimiter(Config{QueriesPerMinute: 100, QueriesPerHour: Unlimited, CostBudgetHourly: 1, QueryBudget: 0.5,
			MaxConcurrent: Unlimited, MaxQueued: Unlimited, Store: gs}, hook)
		require.NoError(t, err)
		defer l.Close()
		ctx := t.Context()
		wait := func(capUSD float64) <-chan result {
			ch := make(chan result, 1)
			go func() {
				p, err := l.Acquire(ctx, capUSD)
				ch <- result{permit: p, err: err}
			}()
			synctest.Wait()
			return ch
		}

		a := wait(0.5)
		<-gs.entered                       // a's admission is with the store
		l.Pause(time.Now().Add(time.Hour)) // the hook panics on it
		var pe *PanicError
		require.ErrorAs(t, (<-a).err, &pe)

		b := wait(0.1)
		gs.gate <- struct{}{} // the store admits a, who is gone
		<-gs.entered          // then b is asked for
		gs.gate <- struct{}{}
		r := <-b
		require.NoError(t, r.err)
		assert.Equal(t, 0.1, r.permit.CapUSD, "b has its own admission, not a's")
		synctest.Wait()
		assert.Equal(t, 1, gs.leases(), "a's lease was freed; b holds its own")
	})
}

// A Wait without Queued is told nothing and its permit names no limit:
// the actor names limits only for callers who ask.
func TestWaitWithoutQueuedNamesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, onlyMinute(1))
		_, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		p, err := l.Acquire(t.Context(), 0) // waits a minute for the token
		require.NoError(t, err)
		assert.Zero(t, p.WaitedOn)
	})
}
