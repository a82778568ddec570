package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

// benchLimits never refuse: the benchmarks time the round trip of an
// admission that checks both windows, the budget and the pause.
var benchLimits = limiter.Limits{PerMinute: 1 << 30, PerHour: 1 << 30, Budget: 1 << 30}

// benchQuery is an admission of 0.01 USD under lease id.
func benchQuery(id uint64) limiter.Query {
	return limiter.Query{ID: id, Limits: benchLimits, Cap: 0.01, Need: 0.01}
}

// BenchmarkAdmit: one admission through admit.lua (two windows, the
// budget with its reservation, the pause, leases) beside redis_rate's
// Allow (one GCRA window), against the same local redis-server.
func BenchmarkAdmit(b *testing.B) {
	srv := redistest.Start(b, redistest.Config("appendonly", "no"))
	c := client(b, srv)
	ctx := context.Background()
	b.Run("ours", func(b *testing.B) {
		s := newStore(b, c, "bench", Options{LeaseTTL: time.Hour}) // no renewal while timed
		b.ReportAllocs()
		for i := range b.N {
			d, err := s.Admit(ctx, benchQuery(uint64(i+1)))
			if err != nil || !d.Admitted {
				b.Fatal(d, err)
			}
		}
	})
	b.Run("redis_rate", func(b *testing.B) {
		l := redis_rate.NewLimiter(c)
		limit := redis_rate.PerMinute(1 << 30)
		b.ReportAllocs()
		for range b.N {
			r, err := l.Allow(ctx, "bench", limit)
			if err != nil || r.Allowed != 1 {
				b.Fatal(r, err)
			}
		}
	})
}

// BenchmarkAdmitFleet: eight stores, each with its own client (as eight
// processes of a fleet would have), admitting at once under one key
// (RunParallel, one goroutine per store); beside eight redis_rate
// limiters on one key. admissions/s is the fleet's throughput.
func BenchmarkAdmitFleet(b *testing.B) {
	srv := redistest.Start(b, redistest.Config("appendonly", "no"))
	const fleet = 8
	ctx := context.Background()
	clients := make([]*redis.Client, fleet)
	for i := range clients {
		clients[i] = client(b, srv)
	}
	run := func(b *testing.B, admit func(i int, n uint64) error) {
		var next atomic.Int64
		var ids atomic.Uint64
		b.SetParallelism(max(1, fleet/runtimeProcs()))
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)-1) % fleet
			for pb.Next() {
				if err := admit(i, ids.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "admissions/s")
	}
	b.Run("ours", func(b *testing.B) {
		stores := make([]*Store, fleet)
		for i := range stores {
			stores[i] = newStore(b, clients[i], "fleetbench", Options{LeaseTTL: time.Hour})
		}
		run(b, func(i int, id uint64) error {
			d, err := stores[i].Admit(ctx, benchQuery(id))
			if err == nil && !d.Admitted {
				err = fmt.Errorf("refused: %+v", d)
			}
			return err
		})
	})
	b.Run("redis_rate", func(b *testing.B) {
		limiters := make([]*redis_rate.Limiter, fleet)
		for i := range limiters {
			limiters[i] = redis_rate.NewLimiter(clients[i])
		}
		limit := redis_rate.PerMinute(1 << 30)
		run(b, func(i int, _ uint64) error {
			r, err := limiters[i].Allow(ctx, "fleetbench", limit)
			if err == nil && r.Allowed != 1 {
				err = fmt.Errorf("refused: %+v", r)
			}
			return err
		})
	})
}

// TestBenchHelpersAdmit keeps the benchmarks' query admissible.
func TestBenchHelpersAdmit(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, client(t, srv), "benchcheck", Options{})
	d, err := s.Admit(t.Context(), benchQuery(1))
	require.NoError(t, err)
	require.True(t, d.Admitted)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
