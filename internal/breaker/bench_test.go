package breaker

import (
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// The benchmarks put this breaker beside sony/gobreaker (a mutex, no
// goroutine) in the same run: "ours" is Allow + Report for the closed path
// and Allow for the open refusal (opened by failures, so each refusal
// computes RetryAfter), "gobreaker" is Execute of a no-op.

func BenchmarkClosed(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		br := benchBreaker(b)
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			p, err := br.Allow(ctx)
			if err != nil {
				b.Fatal(err)
			}
			br.Report(p, Success)
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(noop); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpenRefusal(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		// Opened by failures, so each refusal computes RetryAfter.
		br := benchBreaker(b)
		for range DefaultFailureThreshold {
			p, _ := br.Allow(b.Context())
			br.Report(p, Failure)
		}
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Allow(ctx); !errors.Is(err, ErrCircuitOpen) {
				b.Fatal(err)
			}
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Timeout:     time.Hour,
			ReadyToTrip: func(gobreaker.Counts) bool { return true },
		})
		_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, errors.New("trip") })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(noop); !errors.Is(err, gobreaker.ErrOpenState) {
				b.Fatal(err)
			}
		}
	})
}

func noop() (struct{}, error) { return struct{}{}, nil }

func benchBreaker(b *testing.B) *Breaker {
	br, err := New(Config{Timeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}
