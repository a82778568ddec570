package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

// FailOver: with Redis gone, a process admits from local guards, its
// share (1/FleetSize) of the budget left at the fleet's last seen spend
// and of the windows, answering within the round trip's timeout; when
// Redis returns, what it admitted and charged is written there.
func TestFailOverAdmitsItsShareAndReplays(t *testing.T) {
	srv := redistest.Start(t)
	clock := newFakeNow()
	ctx := t.Context()
	s := newStore(t, client(t, srv), "failover", Options{Now: clock.Now, Policy: FailOver, FleetSize: 2, Timeout: 300 * time.Millisecond})
	lim := limiter.Limits{PerMinute: 10, PerHour: limiter.Unlimited, Budget: 10}
	q := func(id uint64) limiter.Query {
		return limiter.Query{Now: clock.Now(), ID: id, Limits: lim, Cap: 1, Need: 1}
	}

	d, err := s.Admit(ctx, q(1))
	require.NoError(t, err)
	require.True(t, d.Admitted)
	require.NoError(t, s.Settle(ctx, 1, 4, clock.Now())) // the fleet has spent 4 of 10

	srv.Kill()
	var granted []uint64
	for id := uint64(2); id < 10; id++ {
		start := time.Now()
		d, err := s.Admit(ctx, q(id))
		require.NoError(t, err, "fail-over answers, never an error")
		assert.Less(t, time.Since(start), 2*time.Second, "bounded by Timeout")
		assert.True(t, d.FromLocalGuards)
		if !d.Admitted {
			assert.Equal(t, limiter.ReasonBudget, d.Reason)
			break
		}
		granted = append(granted, id)
	}
	assert.Len(t, granted, 3, "(10 - 4) / 2 USD: three queries of 1 USD")

	srv.Restart()
	for _, id := range granted {
		require.NoError(t, s.Settle(ctx, id, 1, clock.Now()))
	}
	st, err := s.State(ctx, clock.Now(), lim)
	require.NoError(t, err, "Redis is back")
	assert.InDelta(t, 7, st.SpentUSD, 1e-9, "the local guards' charges were replayed")
	assert.InDelta(t, 10-1-3, st.MinuteTokens, 1e-6, "and their admissions")
	d, err = s.Admit(ctx, q(20))
	require.NoError(t, err)
	assert.True(t, d.Admitted)
	assert.False(t, d.FromLocalGuards, "back on the shared state")
}
