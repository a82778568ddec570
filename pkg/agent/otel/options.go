package otel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the tracer and the meter.
const scope = "github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"

// defaultMaxOpenSpans bounds the spans open at once (WithMaxOpenSpans).
const defaultMaxOpenSpans = 10000

// Option configures NewObserver and ObserveClient.
type Option func(*config)

type config struct {
	tp           trace.TracerProvider
	mp           metric.MeterProvider
	prop         propagation.TextMapPropagator
	maxOpenSpans int
}

// newConfig applies opts over the defaults: the global providers
// (otel.GetTracerProvider, otel.GetMeterProvider), the W3C trace context
// propagator and defaultMaxOpenSpans.
func newConfig(opts []Option) config {
	c := config{prop: propagation.TraceContext{}, maxOpenSpans: defaultMaxOpenSpans}
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.maxOpenSpans < 1 {
		c.maxOpenSpans = defaultMaxOpenSpans
	}
	return c
}

// WithTracerProvider sets where the spans go; nil or unset: the global
// provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where the metrics go; nil or unset: the global
// provider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagator sets how a query's span context is put in its CLI's
// environment; nil or unset: the W3C trace context (TRACEPARENT,
// TRACESTATE). Each key the propagator sets becomes an upper-case
// variable.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) {
		if p != nil {
			c.prop = p
		}
	}
}

// WithMaxOpenSpans bounds the spans open at once (default 10000; below 1:
// the default). When a new query needs a place, the oldest open span is
// ended, marked claude_agent.abandoned: its end was lost.
func WithMaxOpenSpans(n int) Option {
	return func(c *config) { c.maxOpenSpans = n }
}
