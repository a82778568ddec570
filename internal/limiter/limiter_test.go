package limiter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			_, err := l.Acquire(ctx)
			require.NoError(t, err, "query %d", i)
		}
		assert.Equal(t, time.Duration(0), time.Since(start), "the first 60 are admitted at once")

		_, err := l.Acquire(ctx)
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "the 61st waits for one token to refill")
	})
}

var _ = context.Background
