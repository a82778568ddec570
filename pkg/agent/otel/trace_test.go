package otel_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"
)

// The CLI receives TRACEPARENT (and TRACESTATE) of the query's span, a
// child of the caller's.
func TestCLIGetsTheQuerysTraceContext(t *testing.T) {
	r := newRig(t)
	c, _ := r.newClient(t, nil)
	state, err := trace.ParseTraceState("vendor=value")
	require.NoError(t, err)
	ctx, parent := r.tp.Tracer("test").Start(trace.ContextWithSpanContext(t.Context(),
		trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, TraceState: state, Remote: true,
		})), "caller")
	path := filepath.Join(t.TempDir(), "record.json")
	script := append(fakecli.Script{fakecli.Record(path, "TRACEPARENT", "TRACESTATE", "traceparent")}, fakecli.Success("ok", 0)...)
	_, err = c.Run(ctx, "q", play(script))
	require.NoError(t, err)
	parent.End()
	require.NoError(t, c.Close())

	rec, err := fakecli.ReadRecording(path)
	require.NoError(t, err)
	var query sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == "invoke_agent claude" {
			query = s
		}
	}
	require.NotNil(t, query)
	sc := query.SpanContext()
	assert.Equal(t, parent.SpanContext().SpanID(), query.Parent().SpanID(), "the caller's span is the parent")
	assert.Equal(t, trace.TraceID{1}, sc.TraceID())
	assert.Equal(t, fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID()), rec.Env["TRACEPARENT"])
	assert.Equal(t, "vendor=value", rec.Env["TRACESTATE"])
	assert.Empty(t, rec.Env["traceparent"], "upper-case names only")
	assert.Equal(t, codes.Unset, query.Status().Code)
}

// Without a span in the caller's context and with no tracer provider
// (the global no-op one), the CLI gets no trace context, and nothing
// breaks.
func TestNoTracerNoTraceContext(t *testing.T) {
	obs, err := otel.NewObserver()
	require.NoError(t, err)
	assert.Empty(t, obs.Trace(t.Context(), 1))
	// A custom propagator's keys become upper-case variables.
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	obs, err = otel.NewObserver(otel.WithTracerProvider(tp), otel.WithPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	require.NoError(t, err)
	env := obs.Trace(t.Context(), 1)
	require.Len(t, env, 1)
	assert.Regexp(t, `^TRACEPARENT=00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, env[0])
	obs.QueryRefused(agent.QueryRefusedEvent{QueryID: 1, Limit: agent.LimitQueue, Err: agent.ErrQueueFull})
}

// A warm query's CLI started before it: its span says so, on the span and
// on its started event.
func TestWarmQuerySpanSaysWarm(t *testing.T) {
	r := newRig(t)
	c, _ := r.newClient(t, func(cfg *agent.Config) {
		cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2, MaxAge: time.Hour}
	})
	serve := play(fakecli.Script{fakecli.Serve(0.01)})
	_, err := c.Run(t.Context(), "one", serve)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Stats().Warm.Parked == 1 }, 20*time.Second, 2*time.Millisecond, "a spare parked")
	_, err = c.Run(t.Context(), "two", serve)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.Equal(t, int64(1), c.Stats().Warm.Hits)

	warm := map[string]int{}
	for _, s := range r.spans.Ended() {
		w := attrOf(s.Attributes(), "claude_agent.warm")
		warm[w]++
		for _, e := range s.Events() {
			if e.Name == "claude_agent.started" {
				assert.Equal(t, w, attrOf(e.Attributes, "claude_agent.warm"))
			}
		}
	}
	assert.Equal(t, map[string]int{"false": 1, "true": 1}, warm)
}

// At most WithMaxOpenSpans spans are open: the oldest, whose end was lost,
// is ended as abandoned.
func TestOpenSpansAreBounded(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	obs, err := otel.NewObserver(otel.WithTracerProvider(tp), otel.WithMaxOpenSpans(2))
	require.NoError(t, err)
	for id := range uint64(3) {
		obs.Trace(t.Context(), id+1)
	}
	require.Len(t, spans.Ended(), 1, "the first was evicted")
	assert.Equal(t, "true", attrOf(spans.Ended()[0].Attributes(), "claude_agent.abandoned"))
	assert.Equal(t, "1", attrOf(spans.Ended()[0].Attributes(), "claude_agent.query.id"))
	obs.QueryFinished(agent.QueryFinishedEvent{QueryID: 1, ExitCode: -1}) // gone: nothing happens
	obs.QueryFinished(agent.QueryFinishedEvent{QueryID: 2, ExitCode: -1, At: time.Now()})
	obs.QueryRefused(agent.QueryRefusedEvent{QueryID: 3, Limit: agent.LimitClosed, Err: agent.ErrClosed, At: time.Now()})
	require.Len(t, spans.Ended(), 3)
	assert.Len(t, spans.Started(), 3, "no other span")
}
