package otel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The attributes of the gauges.
const (
	attrProcessState = attribute.Key("claude_agent.process.state")
	attrBreakerState = attribute.Key("claude_agent.breaker.state")
)

var (
	processRunning = metric.WithAttributes(attrProcessState.String("running"))
	processParked  = metric.WithAttributes(attrProcessState.String("parked"))
	breakerStates  = []agent.State{agent.StateClosed, agent.StateOpen, agent.StateHalfOpen}
	breakerOption  = func() []metric.ObserveOption {
		opts := make([]metric.ObserveOption, len(breakerStates))
		for i, s := range breakerStates {
			opts[i] = metric.WithAttributes(attrBreakerState.String(s.String()))
		}
		return opts
	}()
)

// ObserveClient registers gauges read from c.Stats at each collection
// (see the package doc): the queue's length, the processes running and
// parked, the breaker's state and the USD spent in the last hour. Only the
// meter provider of opts counts. Call Unregister on the result once c is
// closed (or to stop reading it); registering several clients on one
// meter provider reports their sum.
func ObserveClient(c *agent.Client, opts ...Option) (metric.Registration, error) {
	meter := newConfig(opts).mp.Meter(scope)
	queue, err1 := meter.Int64ObservableGauge("claude_agent.queue.length", metric.WithUnit("{query}"),
		metric.WithDescription("Callers waiting for admission by the rate limiter."))
	processes, err2 := meter.Int64ObservableGauge("claude_agent.processes", metric.WithUnit("{process}"),
		metric.WithDescription("CLI processes: running a query, or parked ready for one (Config.Warm)."))
	breaker, err3 := meter.Int64ObservableGauge("claude_agent.breaker.state",
		metric.WithDescription("The circuit breaker's state: 1 for the current one, 0 for the others."))
	spent, err4 := meter.Float64ObservableGauge("claude_agent.budget.spent.usd", metric.WithUnit("{USD}"),
		metric.WithDescription("USD charged to the budget in the last 60 minutes."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := c.Stats()
		o.ObserveInt64(queue, int64(s.Limiter.Queued))
		o.ObserveInt64(processes, int64(s.Limiter.InFlight), processRunning)
		o.ObserveInt64(processes, int64(s.Warm.Parked), processParked)
		for i, state := range breakerStates {
			v := int64(0)
			if s.Breaker.State == state {
				v = 1
			}
			o.ObserveInt64(breaker, v, breakerOption[i])
		}
		o.ObserveFloat64(spent, s.Limiter.SpentUSD)
		return nil
	}, queue, processes, breaker, spent)
}
