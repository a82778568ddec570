package limiter

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCoreUnpause(t *testing.T) {
	c := testCore(t, noLimits())
	c.pause(at(time.Hour))
	_, ok := c.admit(at(time.Second), c.askFor(KindQuery, 0))
	require.False(t, ok)
	c.unpause()
	_, ok = c.admit(at(time.Second), c.askFor(KindQuery, 0))
	assert.True(t, ok, "admitted once the pause is lifted")
	assert.True(t, c.stats(t0).PausedUntil.IsZero())
	c.pause(at(2 * time.Second)) // a later pause pauses again
	_, ok = c.admit(at(time.Second), c.askFor(KindQuery, 0))
	assert.False(t, ok)
}

// Unpause admits at once the waiters the pause held, with no time passing.
func TestUnpauseAdmitsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{})
		start := time.Now()
		l.Pause(start.Add(time.Hour))
		w := goAcquire(t.Context(), l)
		synctest.Wait()
		pending(t, w)
		l.Unpause()
		r := <-w
		require.NoError(t, r.err)
		assert.Zero(t, r.at.Sub(start), "admitted only when the pause ended")
		assert.True(t, l.Stats().PausedUntil.IsZero())
	})
}

// Release undoes an admission: the slot, the reservation, the admitted
// count and, when it was the latest admission, its window tokens.
func TestReleaseUndoesTheAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(t, Config{QueriesPerMinute: 3, QueryBudget: 0.5})
		p1, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		before := l.Stats()
		p2, err := l.Acquire(t.Context(), 0)
		require.NoError(t, err)
		l.Release(p2)
		after := l.Stats()
		assert.Equal(t, before.MinuteTokens, after.MinuteTokens, "the latest admission's token is refunded")
		assert.Equal(t, before.Admitted, after.Admitted)
		assert.Equal(t, 1, after.InFlight)
		assert.Equal(t, before.ReservedUSD, after.ReservedUSD)

		l.Release(p2) // again: nothing
		l.Settle(p2, 1)
		assert.Equal(t, after.ReservedUSD, l.Stats().ReservedUSD)
		assert.Zero(t, l.Stats().SpentUSD, "a released permit cannot be charged")
		l.Settle(p1, 0)
	})
}
