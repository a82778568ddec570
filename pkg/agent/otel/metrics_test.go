package otel_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"
)

// The attributes every GenAI point carries.
var genAI = []string{"gen_ai.operation.name=invoke_agent", "gen_ai.provider.name=anthropic", "gen_ai.request.model=" + fakecli.Model}

// A burst, an outage and a budget refusal, each on a client of its own
// sharing one pipeline as the demo's phases do, leave the series and
// values they should in the manual reader and in the scraped text, and a
// span per query with the guards' decisions as events.
func TestBurstOutageAndBudget(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()

	// The burst: 4 queries, 0.10 USD each, 2 at a time: the last 2 come
	// once the first 2 run (for 500 ms), and wait for a slot.
	burst, _ := r.newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 2 })
	var wg sync.WaitGroup
	for i := range 4 {
		if i == 2 {
			require.Eventually(t, func() bool { return burst.Stats().Limiter.InFlight == 2 }, 10*time.Second, time.Millisecond)
		}
		wg.Go(func() {
			_, err := burst.Run(ctx, "hello", play(append(fakecli.Script{fakecli.Sleep(500 * time.Millisecond)}, fakecli.Success("ok", 0.10)...)))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.NoError(t, burst.Close())

	// The outage: a 529 opens the breaker (threshold 1) while a slow
	// query runs; the next query is refused.
	outage, _ := r.newClient(t, func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = 1 })
	reg, err := otel.ObserveClient(outage, r.options()...)
	require.NoError(t, err)
	slow := make(chan error, 1)
	go func() {
		_, err := outage.Run(ctx, "slow", play(append(fakecli.Script{fakecli.Sleep(300 * time.Millisecond)}, fakecli.Success("late", 0)...)))
		slow <- err
	}()
	require.Eventually(t, func() bool { return outage.Stats().Limiter.InFlight == 1 }, 10*time.Second, time.Millisecond)
	_, err = outage.Run(ctx, "down", play(fakecli.APIErrorResult(529)))
	require.Error(t, err)
	_, err = outage.Run(ctx, "refused", play(fakecli.Success("never", 0)))
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	require.NoError(t, <-slow)
	rm := r.collect(t)
	p, ok := find(rm, "claude_agent.breaker.state", "claude_agent.breaker.state=open")
	require.True(t, ok, "breaker state gauge")
	assert.Equal(t, 1.0, p.value)
	p, _ = find(rm, "claude_agent.breaker.state", "claude_agent.breaker.state=closed")
	assert.Equal(t, 0.0, p.value)
	p, ok = find(rm, "claude_agent.queue.length")
	require.True(t, ok, "queue length gauge")
	assert.Equal(t, 0.0, p.value)
	samples := r.scrape(t)
	v, ok := value(samples, "claude_agent_breaker_state", `claude_agent_breaker_state="open"`)
	assert.True(t, ok, "breaker state scraped")
	assert.Equal(t, 1.0, v)
	_, ok = value(samples, "claude_agent_processes", `claude_agent_process_state="parked"`)
	assert.True(t, ok, "processes scraped")
	require.NoError(t, outage.Close())
	require.NoError(t, reg.Unregister())

	// The budget: a query spends it all; the next is refused.
	budget, _ := r.newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly, cfg.RateLimit.QueryBudget = 1.00, 1.00
		cfg.RateLimit.MaxWait = time.Millisecond
	})
	reg, err = otel.ObserveClient(budget, r.options()...)
	require.NoError(t, err)
	_, err = budget.Run(ctx, "pricey", play(fakecli.Success("ok", 1.00)))
	require.NoError(t, err)
	_, err = budget.Run(ctx, "one more", play(fakecli.Success("never", 0)))
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	require.NoError(t, budget.Close())
	rm = r.collect(t)
	p, ok = find(rm, "claude_agent.budget.spent.usd")
	require.True(t, ok, "spent gauge")
	assert.InDelta(t, 1.00, p.value, 1e-9)
	v, ok = value(r.scrape(t), "claude_agent_budget_spent_usd")
	assert.True(t, ok, "spent gauge scraped")
	assert.InDelta(t, 1.00, v, 1e-9)
	require.NoError(t, reg.Unregister())

	// The counters and histograms, through the manual reader.
	rm = r.collect(t)
	counter := func(name string, want float64, attrs ...string) {
		t.Helper()
		p, ok := find(rm, name, attrs...)
		if assert.True(t, ok, "%s%v", name, attrs) {
			assert.True(t, p.monotonic, name)
			assert.InDelta(t, want, p.value, 1e-9, "%s%v", name, attrs)
		}
	}
	counter("claude_agent.queries", 6, "claude_agent.outcome=success") // 4, the slow one, the pricey one
	counter("claude_agent.queries", 1, "claude_agent.outcome=failure", "error.type=529")
	counter("claude_agent.refusals", 1, "claude_agent.limit=circuit")
	counter("claude_agent.refusals", 1, "claude_agent.limit=budget")
	counter("claude_agent.cost.usd", 1.40, "claude_agent.cost.estimated=false")
	counter("claude_agent.breaker.transitions", 1, "claude_agent.breaker.from=closed", "claude_agent.breaker.to=open")
	for _, p := range points(rm, "claude_agent.queries") {
		_, has := p.attrs.Value("error.type")
		assert.Equal(t, p.attrs.HasValue("claude_agent.outcome") && has, has, "error.type only with an error")
	}

	histogram := func(name string, count uint64, sum float64, attrs ...string) point {
		t.Helper()
		p, ok := find(rm, name, attrs...)
		if assert.True(t, ok, "%s%v", name, attrs) {
			assert.True(t, p.histogram, name)
			assert.Equal(t, count, p.count, "%s%v", name, attrs)
			if sum >= 0 {
				assert.InDelta(t, sum, p.sum, 1e-9, "%s%v", name, attrs)
			}
		}
		return p
	}
	ok200 := histogram("gen_ai.client.operation.duration", 6, -1, genAI...)
	_, hasErr := ok200.attrs.Value("error.type")
	assert.False(t, hasErr)
	assert.Equal(t, "s", ok200.metricUnit)
	assert.Equal(t, []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}, ok200.bounds)
	histogram("gen_ai.client.operation.duration", 1, -1, append(genAI, "error.type=529")...)
	histogram("gen_ai.client.token.usage", 6, 6*12, append(genAI, "gen_ai.token.type=input")...)
	histogram("gen_ai.client.token.usage", 6, 6*6, append(genAI, "gen_ai.token.type=output")...)
	histogram("claude_agent.limiter.wait", 5, 0, "claude_agent.limit=none") // the admitted at once: 2, the slow, the 529, the pricey
	histogram("claude_agent.limiter.wait", 2, -1, "claude_agent.limit=concurrency")
	for _, name := range []string{"claude_agent.queries", "gen_ai.client.operation.duration", "gen_ai.client.token.usage", "claude_agent.refusals"} {
		for _, p := range points(rm, name) {
			for _, kv := range p.attrs.ToSlice() {
				assert.NotContains(t, []string{"gen_ai.conversation.id", "claude_agent.query.id", "session.id"}, string(kv.Key), "%s: a high-cardinality attribute", name)
				assert.NotEqual(t, fakecli.SessionID, kv.Value.String(), "%s carries the session id", name)
			}
		}
	}

	// The same, scraped.
	samples = r.scrape(t)
	scraped := func(name string, want float64, labels ...string) {
		t.Helper()
		v, ok := value(samples, name, labels...)
		if assert.True(t, ok, "%s%v scraped", name, labels) {
			assert.InDelta(t, want, v, 1e-9, "%s%v", name, labels)
		}
	}
	scraped("claude_agent_queries_total", 6, `claude_agent_outcome="success"`)
	scraped("claude_agent_queries_total", 1, `claude_agent_outcome="failure"`, `error_type="529"`)
	scraped("claude_agent_refusals_total", 1, `claude_agent_limit="circuit"`)
	scraped("claude_agent_refusals_total", 1, `claude_agent_limit="budget"`)
	scraped("claude_agent_cost_usd_total", 1.40)
	scraped("claude_agent_breaker_transitions_total", 1, `claude_agent_breaker_from="closed"`, `claude_agent_breaker_to="open"`)
	scraped("gen_ai_client_operation_duration_seconds_count", 6, `gen_ai_request_model="`+fakecli.Model+`"`, `gen_ai_provider_name="anthropic"`)
	scraped("gen_ai_client_token_usage_sum", 6*12, `gen_ai_token_type="input"`)
	scraped("claude_agent_limiter_wait_seconds_count", 2, `claude_agent_limit="concurrency"`)
	_, ok = value(samples, "claude_agent_budget_spent_usd")
	assert.False(t, ok, "the gauges are gone with their client")
	for _, s := range samples {
		assert.NotContains(t, s.labels, fakecli.SessionID, "%s is labelled with the session id", s.name)
		assert.NotContains(t, s.labels, "hello", "%s is labelled with a prompt", s.name)
	}

	// A span per query, with the guards' decisions.
	spans := r.spans.Ended()
	require.Len(t, spans, 9, "4 + 3 + 2 queries")
	var refusedCircuit, refusedBudget, failed, slowSpan sdktrace.ReadOnlySpan
	var queued int
	for _, s := range spans {
		assert.Equal(t, "invoke_agent claude", s.Name())
		assert.Equal(t, "client", s.SpanKind().String())
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		switch {
		case attrs["error.type"] == "circuit_open":
			refusedCircuit = s
		case attrs["error.type"] == "budget_exhausted":
			refusedBudget = s
		case attrs["error.type"] == "529":
			failed = s
		case attrs["claude_agent.outcome"] == "success":
			names := eventNames(s)
			if names[0] == "claude_agent.queued" {
				queued++
				assert.Equal(t, "concurrency", attrOf(s.Events()[0].Attributes, "claude_agent.limit"))
				assert.Equal(t, "concurrency", attrOf(s.Events()[1].Attributes, "claude_agent.limit"), "the limit it waited on")
				names = names[1:]
			}
			assert.Equal(t, []string{"claude_agent.admitted", "claude_agent.started"}, names[:2])
			assert.Equal(t, fakecli.Model, attrs["gen_ai.request.model"])
			assert.Equal(t, "12", attrs["gen_ai.usage.input_tokens"])
			assert.Equal(t, "false", attrs["claude_agent.warm"])
			if len(names) > 2 {
				slowSpan = s
			}
		}
	}
	assert.Equal(t, 2, queued, "the spans of the two queries that waited for a slot")
	require.NotNil(t, refusedCircuit, "the circuit's refusal")
	assert.Equal(t, codes.Error, refusedCircuit.Status().Code)
	// Before it, the breaker's change, if it was delivered while the span
	// was open.
	events := refusedCircuit.Events()
	last := events[len(events)-1]
	assert.Equal(t, "claude_agent.refused", last.Name)
	assert.Equal(t, "circuit", attrOf(last.Attributes, "claude_agent.limit"))
	retry, err := strconv.ParseFloat(attrOf(last.Attributes, "claude_agent.retry_after_seconds"), 64)
	require.NoError(t, err)
	assert.Positive(t, retry)
	require.NotNil(t, refusedBudget, "the budget's refusal")
	assert.Equal(t, []string{"claude_agent.refused"}, eventNames(refusedBudget), "refused before admission")
	require.NotNil(t, failed, "the 529")
	assert.Equal(t, "API Error: 529 Overloaded", failed.Status().Description)
	require.NotNil(t, slowSpan, "the slow query saw the breaker open")
	assert.Equal(t, "claude_agent.breaker.changed", eventNames(slowSpan)[2])
	assert.Equal(t, "open", attrOf(slowSpan.Events()[2].Attributes, "claude_agent.breaker.to"))
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Name)
	}
	return out
}
