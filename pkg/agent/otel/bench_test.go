package otel_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"
)

// benchObserver is the adapter on an SDK pipeline that keeps everything:
// spans in memory (reset as they pile up), metrics for a manual reader.
func benchObserver(b *testing.B) (*agent.Observer, *tracetest.InMemoryExporter) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	obs, err := otel.NewObserver(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
	require.NoError(b, err)
	return obs, spans
}

// BenchmarkQuery is BenchmarkQuery of pkg/agent, without and with the
// adapter: one whole query on the fake CLI, real clock.
func BenchmarkQuery(b *testing.B) {
	exe, err := os.Executable()
	require.NoError(b, err)
	obs, spans := benchObserver(b)
	for _, bc := range []struct {
		name string
		obs  *agent.Observer
	}{{"ours", nil}, {"ours-otel", obs}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := agent.New(agent.Config{
				CLIPath: exe, RateLimit: agent.RateLimitConfig{Disabled: true},
				Warm: agent.WarmConfig{Disabled: true}, Observer: bc.obs,
			})
			require.NoError(b, err)
			b.Cleanup(func() { c.Close() })
			opt := play(fakecli.Success("hello", 0))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if res, err := c.Run(b.Context(), "say hello", opt); err != nil || res == nil {
					b.Fatal(res, err)
				}
				if n++; n%1000 == 0 {
					spans.Reset()
				}
			}
		})
	}
}

// BenchmarkAdapter is the adapter's own cost per query: the callbacks of
// one query's events (Trace, admitted, started, finished), called as the
// client calls them, with the SDK recording every span and point.
func BenchmarkAdapter(b *testing.B) {
	obs, spans := benchObserver(b)
	ctx := b.Context()
	now := time.Now()
	var id uint64
	b.ReportAllocs()
	for b.Loop() {
		id++
		obs.Trace(ctx, id)
		obs.QueryAdmitted(agent.QueryAdmittedEvent{QueryID: id, Waited: time.Millisecond, At: now})
		obs.QueryStarted(agent.QueryStartedEvent{QueryID: id, At: now})
		obs.QueryFinished(agent.QueryFinishedEvent{
			QueryID: id, Model: fakecli.Model, Duration: time.Second, FirstMessage: 100 * time.Millisecond,
			CostUSD: 0.01, Usage: agent.Usage{InputTokens: 12, OutputTokens: 6}, Outcome: agent.OutcomeSuccess,
			Counted: true, ExitCode: -1, At: now,
		})
		if id%1000 == 0 {
			spans.Reset()
		}
	}
}
