package redisstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

// The Lua script's arithmetic against the in-memory store on the same
// random schedule of admissions, probes, settles, releases, pauses and
// time steps: every Decision and every State must agree. Amounts are
// multiples of 1/64 USD, exact both in float64 USD and in micro-USD.
func TestPropertyScriptMatchesMemoryStore(t *testing.T) {
	srv := redistest.Start(t, redistest.Config("appendfsync", "no"))
	c := client(t, srv)
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runSchedule(t, c, seed)
		})
	}
}

func runSchedule(t *testing.T, c *redis.Client, seed uint64) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, 16))
	clock := newFakeNow()
	lim := limiter.Limits{PerMinute: 3 + rng.IntN(5), PerHour: 10 + rng.IntN(30), Budget: float64(16+rng.IntN(64)) / 64}
	if seed%3 == 2 {
		lim.PerHour = limiter.Unlimited
	}
	rs := newStore(t, c, fmt.Sprint("prop", seed), Options{Now: clock.Now, LeaseTTL: 100 * time.Hour})
	ms := limiter.NewMemoryStore(lim)
	var live []uint64
	var id uint64
	usd := func(max int) float64 { return float64(rng.IntN(max+1)) / 64 }
	for step := range 600 {
		now := clock.Now()
		where := fmt.Sprintf("step %d at %v", step, now)
		switch k := rng.IntN(10); {
		case k < 4 || k == 9:
			id++
			capUSD := usd(32) + 1.0/64
			q := limiter.Query{Now: now, ID: id, Limits: lim, Cap: capUSD, Need: min(capUSD, 1.0/64)}
			if k == 9 {
				q.Probe, q.Ahead, q.AheadNeed = true, rng.IntN(4), usd(16)
			}
			want, err := ms.Admit(ctx, q)
			require.NoError(t, err)
			got, err := rs.Admit(ctx, q)
			require.NoError(t, err, where)
			got.State = limiter.State{}
			require.Equal(t, want, got, where)
			if got.Admitted {
				live = append(live, id)
			}
		case k < 6 && len(live) > 0:
			i := rng.IntN(len(live))
			cost := usd(40)
			require.NoError(t, ms.Settle(ctx, live[i], cost, now))
			require.NoError(t, rs.Settle(ctx, live[i], cost, now))
			live = append(live[:i], live[i+1:]...)
		case k == 6 && len(live) > 0:
			i := len(live) - 1 - rng.IntN(min(2, len(live))) // the latest, or the one before
			require.NoError(t, ms.Release(ctx, live[i]))
			require.NoError(t, rs.Release(ctx, live[i]))
			live = append(live[:i], live[i+1:]...)
		case k == 7 && rng.IntN(4) == 0:
			until := now.Add(time.Duration(rng.IntN(90)) * time.Second)
			require.NoError(t, ms.Pause(ctx, now, until))
			require.NoError(t, rs.Pause(ctx, now, until))
		case k == 7 && rng.IntN(8) == 0:
			require.NoError(t, ms.Unpause(ctx))
			require.NoError(t, rs.Unpause(ctx))
		default:
			step := time.Duration(rng.Int64N(int64(20 * time.Second)))
			if rng.IntN(20) == 0 {
				step = time.Duration(rng.IntN(50)) * time.Minute
			}
			clock.Advance(step.Truncate(time.Microsecond))
		}
		want, _ := ms.State(ctx, clock.Now(), lim)
		got, err := rs.State(ctx, clock.Now(), lim)
		require.NoError(t, err)
		assert.InDelta(t, want.MinuteTokens, got.MinuteTokens, 1e-9, where)
		assert.InDelta(t, want.HourTokens, got.HourTokens, 1e-9, where)
		assert.InDelta(t, want.SpentUSD, got.SpentUSD, 1e-9, where)
		assert.InDelta(t, want.ReservedUSD, got.ReservedUSD, 1e-9, where)
		assert.Equal(t, max(0, want.PausedFor), got.PausedFor, where)
		if t.Failed() {
			return
		}
	}
}
