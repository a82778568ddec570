package limiter

import (
	"context"
	"testing"

	"golang.org/x/time/rate"
)

// The admission round trip (Acquire + Settle) on an uncontended limiter
// with ample tokens, beside golang.org/x/time/rate's Limiter.Wait, the
// peer it is measured against. Real clock.

// benchLimiter returns a limiter whose limits never bind in a benchmark.
func benchLimiter(b *testing.B) *Limiter {
	b.Helper()
	l, err := New(Config{
		QueriesPerMinute: maxWindowCount,
		QueriesPerHour:   maxWindowCount,
		CostBudgetHourly: 1e12,
		MaxConcurrent:    Unlimited,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// benchXrate returns an x/time/rate limiter with ample tokens.
func benchXrate() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(1e12), 1e9)
}

func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	b.Run("ours", func(b *testing.B) {
		l := benchLimiter(b)
		b.ReportAllocs()
		for b.Loop() {
			p, err := l.Acquire(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			l.Settle(p, 0)
		}
	})
	b.Run("xrate", func(b *testing.B) {
		l := benchXrate()
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAcquireParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("ours", func(b *testing.B) {
		l := benchLimiter(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, err := l.Acquire(ctx, 0)
				if err != nil {
					b.Error(err)
					return
				}
				l.Settle(p, 0)
			}
		})
	})
	b.Run("xrate", func(b *testing.B) {
		l := benchXrate()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := l.Wait(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
