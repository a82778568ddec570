package limiter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goWait runs one of the limiter's waits in a goroutine and waits until it
// blocks (or returns).
func goWait(wait func() (Permit, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		p, err := wait()
		ch <- result{permit: p, err: err, at: time.Now()}
	}()
	synctest.Wait()
	return ch
}

// A session holds a slot and nothing else; its turns take tokens and a
// reservation but no slot.
func TestSessionHoldsASlotAndItsTurnsTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{QueriesPerMinute: 3, QueriesPerHour: Unlimited, CostBudgetHourly: 1, QueryBudget: 0.25, MaxConcurrent: 1, MaxQueued: Unlimited}
		l := newTestLimiter(t, cfg)
		ctx := t.Context()
		s, err := l.AcquireSession(ctx)
		require.NoError(t, err)
		st := l.Stats()
		assert.Equal(t, 1, st.InFlight, "the session holds the one slot")
		assert.Equal(t, 3.0, st.MinuteTokens, "and no token")
		assert.Zero(t, st.ReservedUSD, "and no reservation")
		assert.Zero(t, st.Admitted, "a session is not a query")

		var turns []Permit
		for range 2 {
			p, err := l.AcquireTurn(ctx, 0)
			require.NoError(t, err, "a turn needs no slot")
			turns = append(turns, p)
		}
		st = l.Stats()
		assert.Equal(t, 1, st.InFlight)
		assert.Equal(t, 1.0, st.MinuteTokens, "each turn took a token")
		assert.InDelta(t, 0.5, st.ReservedUSD, 1e-9, "and a reservation")
		assert.EqualValues(t, 2, st.Admitted)

		q := goAcquire(ctx, l)
		pending(t, q, "a query waits for the session's slot")
		l.Settle(turns[0], 0.1)
		l.Settle(turns[1], 0.1)
		pending(t, q, "settled turns free no slot")
		l.Settle(s, 0)
		r := returned(t, q)
		require.NoError(t, r.err)
		st = l.Stats()
		assert.InDelta(t, 0.2, st.SpentUSD, 1e-9)
	})
}

// A turn never waits behind a query or a session waiting for a slot; it
// waits for tokens in a queue of its own, in order, and MaxQueued counts
// both queues.
func TestTurnsDoNotQueueBehindSlotWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{QueriesPerMinute: 2, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: 3}
		l := newTestLimiter(t, cfg)
		ctx := t.Context()
		_, err := l.AcquireSession(ctx)
		require.NoError(t, err)
		waitingQuery := goAcquire(ctx, l)
		waitingSession := goWait(func() (Permit, error) { return l.AcquireSession(ctx) })
		pending(t, waitingQuery)
		pending(t, waitingSession)

		start := time.Now()
		first := goWait(func() (Permit, error) { return l.AcquireTurn(ctx, 0) })
		require.NoError(t, returned(t, first).err, "past the slot waiters")
		second := goWait(func() (Permit, error) { return l.AcquireTurn(ctx, 0) })
		require.NoError(t, returned(t, second).err)
		third := goWait(func() (Permit, error) { return l.AcquireTurn(ctx, 0) })
		pending(t, third, "the window is dry")
		_, err = l.AcquireTurn(ctx, 0)
		assert.ErrorIs(t, err, ErrQueueFull, "two slot waiters and a turn: MaxQueued is 3")
		r := <-third // blocks until the fake clock has refilled a token
		require.NoError(t, r.err)
		assert.Equal(t, 30*time.Second, r.at.Sub(start), "the third turn waited for a token (2 a minute)")
		pending(t, waitingQuery, "still no slot")
	})
}

// Cancelling a waiting turn or session leaves its queue; a released
// session frees its slot.
func TestSessionAndTurnCancelAndRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{QueriesPerMinute: 1, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: 1, MaxQueued: Unlimited}
		l := newTestLimiter(t, cfg)
		ctx := t.Context()
		s, err := l.AcquireSession(ctx)
		require.NoError(t, err)
		_, err = l.AcquireTurn(ctx, 0)
		require.NoError(t, err)
		tctx, cancel := context.WithCancel(ctx)
		turn := goWait(func() (Permit, error) { return l.AcquireTurn(tctx, 0) })
		sctx, cancelS := context.WithCancel(ctx)
		session := goWait(func() (Permit, error) { return l.AcquireSession(sctx) })
		assert.Equal(t, 2, l.Stats().Queued)
		cancel()
		cancelS()
		assert.ErrorIs(t, returned(t, turn).err, context.Canceled)
		assert.ErrorIs(t, returned(t, session).err, context.Canceled)
		assert.Zero(t, l.Stats().Queued)
		l.Release(s)
		synctest.Wait()
		assert.Zero(t, l.Stats().InFlight)
		assert.EqualValues(t, 1, l.Stats().Admitted, "releasing a session takes back no query")
	})
}
