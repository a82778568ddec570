package limiter

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is an arbitrary start time for the pure tests.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func TestBucketInterval(t *testing.T) {
	tests := []struct {
		capacity int
		period   time.Duration
		want     time.Duration
	}{
		{60, time.Minute, time.Second},
		{1000, time.Hour, 3600 * time.Millisecond},
		{7, time.Minute, 8571429 * time.Microsecond}, // rounded up to a microsecond: never faster than 7 a minute
		{1 << 40, time.Minute, time.Microsecond},
	}
	for _, tt := range tests {
		b := newBucket(tt.capacity, tt.period)
		assert.Equal(t, tt.want, b.interval, "%d per %v", tt.capacity, tt.period)
	}
}

func TestBucket(t *testing.T) {
	// op is "take" (must be allowed), "state" (check allows and tokens)
	// or "ready" (check readyAt with ahead).
	type step struct {
		op     string
		at     time.Duration // since t0
		allows bool
		tokens float64
		ahead  int
		ready  time.Duration // since t0
	}
	take := func(d time.Duration) step { return step{op: "take", at: d} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"full bucket takes three at once then waits", []step{
			{op: "state", at: 0, allows: true, tokens: 3},
			take(0), take(0), take(0),
			{op: "state", at: 0, allows: false, tokens: 0},
			{op: "ready", at: 0, ready: 20 * time.Second},
			{op: "ready", at: 0, ahead: 2, ready: 60 * time.Second},
			{op: "state", at: 10 * time.Second, allows: false, tokens: 0.5},
			{op: "ready", at: 10 * time.Second, ready: 20 * time.Second},
			{op: "state", at: 20 * time.Second, allows: true, tokens: 1},
			{op: "ready", at: 20 * time.Second, ready: 20 * time.Second},
		}},
		{"refill is capped at capacity", []step{
			take(0),
			{op: "state", at: time.Hour, allows: true, tokens: 3},
			take(time.Hour), take(time.Hour), take(time.Hour),
			{op: "state", at: time.Hour, allows: false, tokens: 0},
		}},
		{"ahead within capacity is ready now", []step{
			{op: "ready", at: 0, ahead: 2, ready: 0},
			{op: "ready", at: 0, ahead: 3, ready: 20 * time.Second},
			take(0),
			{op: "ready", at: 0, ahead: 1, ready: 0},
			{op: "ready", at: 0, ahead: 2, ready: 20 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(3, time.Minute) // a token every 20 s
			for i, s := range tt.steps {
				now := at(s.at)
				switch s.op {
				case "take":
					require.True(t, b.allows(now), "step %d", i)
					b.take(now)
				case "state":
					assert.Equal(t, s.allows, b.allows(now), "step %d allows", i)
					assert.InDelta(t, s.tokens, b.tokens(now), 1e-9, "step %d tokens", i)
				case "ready":
					assert.Equal(t, at(s.ready), b.readyAt(now, s.ahead), "step %d readyAt", i)
				}
			}
		})
	}
}

func TestBucketOff(t *testing.T) {
	b := newBucket(Unlimited, time.Minute)
	for range 1000 {
		require.True(t, b.allows(t0))
		b.take(t0)
	}
	assert.Equal(t, t0, b.readyAt(t0, 1e6))
	assert.Equal(t, -1.0, b.tokens(t0))
}

func TestBucketRefundRestoresLatestTake(t *testing.T) {
	b := newBucket(2, time.Minute)
	b.take(t0)
	b.take(t0)
	require.False(t, b.allows(t0))
	b.refund()
	assert.True(t, b.allows(t0))
	assert.InDelta(t, 1, b.tokens(t0), 1e-9)
}

func TestMemWindowsTakeIsAtomic(t *testing.T) {
	w := newMemWindows(10, 2)
	require.True(t, w.take(t0))
	require.True(t, w.take(t0))
	// The hour window is empty; the minute window must not lose a token.
	assert.False(t, w.take(t0))
	minute, hour := w.tokens(t0)
	assert.InDelta(t, 8, minute, 1e-9)
	assert.InDelta(t, 0, hour, 1e-9)

	ready, reason := w.readyAt(t0, 0)
	assert.Equal(t, at(30*time.Minute), ready)
	assert.Equal(t, ReasonHour, reason)

	w2 := newMemWindows(1, 100)
	require.True(t, w2.take(t0))
	assert.False(t, w2.take(t0))
	_, hour = w2.tokens(t0)
	assert.InDelta(t, 99, hour, 1e-9, "the hour window keeps its token when the minute window refuses")
	ready, reason = w2.readyAt(t0, 0)
	assert.Equal(t, at(time.Minute), ready)
	assert.Equal(t, ReasonMinute, reason)
}

func TestMulDurationSaturates(t *testing.T) {
	assert.Equal(t, 6*time.Second, mulDuration(3, 2*time.Second))
	assert.Equal(t, time.Duration(math.MaxInt64), mulDuration(math.MaxInt64/2, time.Hour))
	assert.Equal(t, time.Duration(math.MinInt64), mulDuration(-math.MaxInt64/2, time.Hour))
	assert.Equal(t, time.Duration(0), mulDuration(0, time.Hour))
}
