package limiter

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCore returns a core for cfg with defaults applied.
func testCore(t *testing.T, cfg Config) *core {
	t.Helper()
	require.NoError(t, cfg.Validate())
	return newCore(cfg.withDefaults())
}

// noLimits is a config with every limit off; tests turn one on.
func noLimits() Config {
	return Config{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: Unlimited, MaxQueued: Unlimited}
}

func TestCoreAdmitTakesFromEveryWindowOrNone(t *testing.T) {
	cfg := noLimits()
	cfg.QueriesPerMinute, cfg.QueriesPerHour = 5, 3
	c := testCore(t, cfg)
	for range 3 {
		_, ok := c.admit(t0, c.askFor(KindQuery, 0))
		require.True(t, ok)
	}
	_, ok := c.admit(t0, c.askFor(KindQuery, 0))
	assert.False(t, ok, "the hour window is empty")
	s := c.stats(t0)
	assert.InDelta(t, 2, s.MinuteTokens, 1e-9, "a refused admission takes no minute token")
	assert.InDelta(t, 0, s.HourTokens, 1e-9)
	assert.Equal(t, uint64(3), s.Admitted)

	ready, reason, known := c.readyAt(t0, 0, 0, c.askFor(KindQuery, 0))
	assert.True(t, known)
	assert.Equal(t, ReasonHour, reason)
	assert.Equal(t, at(20*time.Minute), ready)
}

func TestCoreBudgetReservesCapsSettlesAndRollsOff(t *testing.T) {
	cfg := noLimits()
	cfg.CostBudgetHourly, cfg.QueryBudget = 10, 3
	c := testCore(t, cfg)

	var permits []Permit
	for _, wantCap := range []float64{3, 3, 3, 1} {
		p, ok := c.admit(t0, c.askFor(KindQuery, 0))
		require.True(t, ok)
		assert.InDelta(t, wantCap, p.CapUSD, 1e-9, "the cap is the query budget, or what is unreserved")
		permits = append(permits, p)
	}
	s := c.stats(t0)
	assert.InDelta(t, 10, s.ReservedUSD, 1e-9, "the last reservation is capped at the remaining 1 USD")
	_, ok := c.admit(t0, c.askFor(KindQuery, 0))
	require.False(t, ok, "spent + reserved has reached the budget")
	_, reason, known := c.readyAt(t0, 0, 0, c.askFor(KindQuery, 0))
	assert.False(t, known, "only reservations block: no time is known")
	assert.Equal(t, ReasonBudget, reason)

	// Settle: actual costs replace reservations, the rest is given back.
	c.settle(permits[0].id, 2.995, at(time.Minute))
	_, ok = c.admit(at(time.Minute), c.askFor(KindQuery, 0))
	require.False(t, ok, "0.005 USD unreserved is under the 0.01 minimum")
	c.settle(permits[1].id, 0.5, at(2*time.Minute))
	p, ok := c.admit(at(2*time.Minute), c.askFor(KindQuery, 0))
	require.True(t, ok, "spent 3.495 + reserved 4 < 10")
	assert.InDelta(t, 2.505, p.CapUSD, 1e-9, "what is unreserved, under the query budget")

	c.settle(permits[2].id, 3, at(3*time.Minute))
	c.settle(permits[3].id, 1, at(3*time.Minute))
	c.settle(p.id, 2.505, at(3*time.Minute))
	s = c.stats(at(3 * time.Minute))
	assert.InDelta(t, 10, s.SpentUSD, 1e-9)
	assert.InDelta(t, 0, s.ReservedUSD, 1e-9)

	// 10 spent: wait until enough leaves the rolling hour. The first
	// 2.995 USD leave at 61 min, which brings spend to 7.005.
	ready, reason, known := c.readyAt(at(3*time.Minute), 0, 0, c.askFor(KindQuery, 0))
	require.True(t, known)
	assert.Equal(t, ReasonBudget, reason)
	assert.Equal(t, at(61*time.Minute), ready)
	_, ok = c.admit(at(61*time.Minute-time.Nanosecond), c.askFor(KindQuery, 0))
	assert.False(t, ok)
	p, ok = c.admit(at(61*time.Minute), c.askFor(KindQuery, 0))
	require.True(t, ok)
	assert.InDelta(t, 2.995, p.CapUSD, 1e-9)
	s = c.stats(at(63 * time.Minute))
	assert.InDelta(t, 0, s.SpentUSD, 1e-9, "every charge left the rolling hour")
	assert.InDelta(t, 2.995, s.ReservedUSD, 1e-9)
}

func TestCoreCapAskedForAndItsMinimum(t *testing.T) {
	cfg := noLimits()
	cfg.CostBudgetHourly, cfg.QueryBudget, cfg.MinQueryBudget = 1, 0.25, 0.1
	c := testCore(t, cfg)
	p, ok := c.admit(t0, c.askFor(KindQuery, 0.7))
	require.True(t, ok)
	assert.InDelta(t, 0.7, p.CapUSD, 1e-12, "a cap asked for above the default is granted")
	p, ok = c.admit(t0, c.askFor(KindQuery, 0.02))
	require.True(t, ok)
	assert.InDelta(t, 0.02, p.CapUSD, 1e-12)
	p, ok = c.admit(t0, c.askFor(KindQuery, 0))
	require.True(t, ok)
	assert.InDelta(t, 0.25, p.CapUSD, 1e-12, "0.28 unreserved: the default cap, not all of it")
	_, ok = c.admit(t0, c.askFor(KindQuery, 0))
	assert.False(t, ok, "0.03 unreserved is under the 0.1 minimum")
	p, ok = c.admit(t0, c.askFor(KindQuery, 0.02))
	require.True(t, ok, "a query asking for 0.02 needs only 0.02")
	assert.InDelta(t, 0.02, p.CapUSD, 1e-12)
	assert.InDelta(t, 0.99, c.stats(t0).ReservedUSD, 1e-12)

	// The budget off: a query's cap is what it asks for, or none.
	c = testCore(t, noLimits())
	p, _ = c.admit(t0, c.askFor(KindQuery, 0))
	assert.Zero(t, p.CapUSD)
	p, _ = c.admit(t0, c.askFor(KindQuery, 3))
	assert.Equal(t, 3.0, p.CapUSD)
}

func TestCoreEarliestIgnoresWhatSettlesCanFree(t *testing.T) {
	cfg := noLimits()
	cfg.CostBudgetHourly, cfg.QueryBudget = 1, 0.5
	c := testCore(t, cfg)
	p, _ := c.admit(t0, c.askFor(KindQuery, 0))
	c.settle(p.id, 0.6, t0)
	_, _ = c.admit(at(time.Minute), c.askFor(KindQuery, 0)) // reserves the remaining 0.4
	ready, _, known := c.readyAt(at(time.Minute), 0, 0, c.askFor(KindQuery, 0))
	require.True(t, known)
	assert.Equal(t, at(time.Hour), ready, "with the 0.4 reservation held, when the spend rolls off")
	sure, reason, known := c.earliest(at(time.Minute), 0, 0, c.askFor(KindQuery, 0))
	require.True(t, known)
	assert.Equal(t, Reason(0), reason, "if the running query spends nothing, a query fits now")
	assert.Equal(t, at(time.Minute), sure)
	sure, reason, known = c.earliest(at(time.Minute), 1, 0.5, c.askFor(KindQuery, 0))
	require.True(t, known)
	assert.Equal(t, ReasonBudget, reason, "behind a waiter needing 0.5, the spend must roll off")
	assert.Equal(t, at(time.Hour), sure)
}

func TestCoreConcurrencyCap(t *testing.T) {
	cfg := noLimits()
	cfg.MaxConcurrent = 2
	c := testCore(t, cfg)
	p1, ok := c.admit(t0, c.askFor(KindQuery, 0))
	require.True(t, ok)
	_, ok = c.admit(t0, c.askFor(KindQuery, 0))
	require.True(t, ok)
	_, ok = c.admit(t0, c.askFor(KindQuery, 0))
	assert.False(t, ok)
	_, reason, known := c.readyAt(t0, 0, 0, c.askFor(KindQuery, 0))
	assert.False(t, known)
	assert.Equal(t, ReasonConcurrency, reason)

	c.settle(p1.id, 0, t0)
	_, ok = c.admit(t0, c.askFor(KindQuery, 0))
	assert.True(t, ok, "settle frees the slot")
	assert.Equal(t, 2, c.stats(t0).InFlight)
}

func TestCorePauseOnlyExtends(t *testing.T) {
	c := testCore(t, noLimits())
	c.pause(at(10 * time.Second))
	c.pause(at(5 * time.Second))
	_, ok := c.admit(at(9*time.Second), c.askFor(KindQuery, 0))
	assert.False(t, ok)
	ready, reason, known := c.readyAt(t0, 0, 0, c.askFor(KindQuery, 0))
	assert.True(t, known)
	assert.Equal(t, ReasonPaused, reason)
	assert.Equal(t, at(10*time.Second), ready)
	_, ok = c.admit(at(10*time.Second), c.askFor(KindQuery, 0))
	assert.True(t, ok)
	assert.Equal(t, at(10*time.Second), c.stats(t0).PausedUntil)
}

func TestCoreUndo(t *testing.T) {
	cfg := noLimits()
	cfg.QueriesPerMinute, cfg.MaxConcurrent, cfg.CostBudgetHourly, cfg.QueryBudget = 2, 1, 10, 1
	c := testCore(t, cfg)

	p, ok := c.admit(t0, c.askFor(KindQuery, 0))
	require.True(t, ok)
	c.undo(p.id)
	s := c.stats(t0)
	assert.InDelta(t, 2, s.MinuteTokens, 1e-9, "the latest admission's token is refunded")
	assert.Equal(t, 0, s.InFlight)
	assert.Equal(t, 0.0, s.ReservedUSD)
	assert.Equal(t, uint64(0), s.Admitted)
	c.undo(p.id) // a second undo does nothing
	assert.InDelta(t, 2, c.stats(t0).MinuteTokens, 1e-9)

	// An undo after a later admission keeps the token spent.
	cfg.MaxConcurrent = Unlimited
	c = testCore(t, cfg)
	p1, _ := c.admit(t0, c.askFor(KindQuery, 0))
	_, _ = c.admit(t0, c.askFor(KindQuery, 0))
	c.undo(p1.id)
	s = c.stats(t0)
	assert.InDelta(t, 0, s.MinuteTokens, 1e-9)
	assert.Equal(t, 1, s.InFlight)
	assert.Equal(t, uint64(1), s.Admitted)
}

func TestCoreSettle(t *testing.T) {
	cfg := noLimits()
	cfg.CostBudgetHourly, cfg.QueryBudget = 10, 2
	c := testCore(t, cfg)
	p, _ := c.admit(t0, c.askFor(KindQuery, 0))
	assert.True(t, c.settle(p.id, 1, t0))
	assert.True(t, c.settle(p.id, 5, t0), "settling twice")
	assert.True(t, c.settle(0, 5, t0), "the zero permit")
	assert.InDelta(t, 1, c.stats(t0).SpentUSD, 1e-9, "only the first settle charges")

	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		p, _ = c.admit(t0, c.askFor(KindQuery, 0))
		assert.False(t, c.settle(p.id, bad, t0), "%v", bad)
	}
	assert.InDelta(t, 7, c.stats(t0).SpentUSD, 1e-9, "invalid costs are charged as the 2 USD reservation")
}

func TestLedgerAtMost(t *testing.T) {
	var l ledger
	l.add(at(0), 3)
	l.add(at(10*time.Minute), 4)
	l.add(at(20*time.Minute), 5)
	tests := []struct {
		limit float64
		want  time.Time
		ok    bool
	}{
		{13, at(20 * time.Minute), true},
		{12, at(20 * time.Minute), true},
		{11.9, at(60 * time.Minute), true},
		{9, at(60 * time.Minute), true},
		{8.9, at(70 * time.Minute), true},
		{5, at(70 * time.Minute), true},
		{4.9, at(80 * time.Minute), true},
		{0, at(80 * time.Minute), true},
		{-0.1, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := l.atMost(at(20*time.Minute), tt.limit)
		assert.Equal(t, tt.ok, ok, "limit %v", tt.limit)
		assert.Equal(t, tt.want, got, "limit %v", tt.limit)
	}
	assert.InDelta(t, 9, l.spent(at(60*time.Minute)), 1e-9)
	assert.InDelta(t, 0, l.spent(at(80*time.Minute)), 1e-9)
	assert.Empty(t, l.charges, "left charges are dropped")
}

// Costs that sum to the budget in decimal but a hair under it in floating
// point (0.7 + 0.2 + 0.1) exhaust it: no query is admitted with femto-dollars
// to spend, which the CLI's cap would round to no cap at all.
func TestCoreBudgetRoundingLeftoverAdmitsNothing(t *testing.T) {
	cfg := noLimits()
	cfg.CostBudgetHourly = 1
	c := testCore(t, cfg)
	for _, cost := range []float64{0.7, 0.2, 0.1} {
		p, ok := c.admit(t0, c.askFor(KindQuery, 0))
		require.True(t, ok)
		require.True(t, c.settle(p.id, cost, t0))
	}
	require.Less(t, c.stats(t0).SpentUSD, 1.0, "the sum is under the budget in floating point")
	_, ok := c.admit(t0, c.askFor(KindQuery, 0))
	assert.False(t, ok, "admitted with the budget spent")
	ready, reason, known := c.readyAt(t0, 0, 0, c.askFor(KindQuery, 0))
	assert.True(t, known)
	assert.Equal(t, ReasonBudget, reason)
	assert.Equal(t, at(time.Hour), ready, "the spend rolls off an hour later")
}
