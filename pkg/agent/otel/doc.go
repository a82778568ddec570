// Package otel turns the events of an agent.Client into OpenTelemetry
// metrics and spans. It is a separate package so that a program that does
// not want OpenTelemetry does not link it: pkg/agent imports nothing of it.
//
//	obs, err := otel.NewObserver(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
//	cfg.Observer = obs
//	client, err := agent.New(cfg)
//	reg, err := otel.ObserveClient(client, otel.WithMeterProvider(mp)) // the gauges
//	defer reg.Unregister()
//
// # Metrics
//
// Following the GenAI semantic conventions (semconv v1.41.0), with
// gen_ai.operation.name "invoke_agent" and gen_ai.provider.name
// "anthropic" on each point, gen_ai.request.model (the model the CLI's
// init line named) and error.type when the query failed:
//
//   - gen_ai.client.operation.duration (s, histogram): admission to settlement
//   - gen_ai.client.operation.time_to_first_chunk (s, histogram): admission
//     to the CLI's first message
//   - gen_ai.client.token.usage ({token}, histogram) by gen_ai.token.type
//     "input" (cache reads and writes included, as the conventions say) and
//     "output"
//
// The guards' own, under claude_agent.:
//
//   - claude_agent.queries ({query}, counter) by claude_agent.outcome
//     (success, failure, ignored for the breaker; uncounted when it told
//     the breaker nothing) and error.type
//   - claude_agent.refusals ({query}, counter) by claude_agent.limit
//     (minute, hour, budget, concurrency, paused, circuit, queue, closed,
//     fleet; none for a caller that gave up waiting)
//   - claude_agent.limiter.wait (s, histogram): time in the limiter's queue,
//     by claude_agent.limit, the limit waited on last (none: no limit held
//     it, as QueryAdmittedEvent.WaitedOn)
//   - claude_agent.cost (USD, counter) by claude_agent.cost.estimated
//   - claude_agent.breaker.transitions ({transition}, counter) by
//     claude_agent.breaker.from and claude_agent.breaker.to
//   - claude_agent.pauses ({pause}, counter)
//
// and, read from Client.Stats at each collection once ObserveClient
// registered them:
//
//   - claude_agent.queue.length ({query}, gauge): callers waiting for admission
//   - claude_agent.processes ({process}, gauge) by claude_agent.process.state
//     "running" (queries in flight, Stats().Limiter.InFlight) and "parked"
//     (Stats().Warm.Parked)
//   - claude_agent.breaker.state (gauge) by claude_agent.breaker.state: 1 for
//     the current state, 0 for the others
//   - claude_agent.budget.spent (USD, gauge): charged in the last 60 minutes
//
// No attribute carries a prompt, a session id, a query id or an error's
// text: each has few values.
//
// # Spans
//
// Each query (or session turn) gets a span "invoke_agent claude" of kind
// client, started in Observer.Trace with the caller's context as its
// parent, and ended when its QueryFinished or QueryRefused arrives. Its
// events are the guards' decisions: claude_agent.queued (the limit it waits
// on, claude_agent.queue.ahead; only when it waits), claude_agent.admitted
// (wait, the limit waited on, cap),
// claude_agent.started (warm), claude_agent.refused (limit, retry after),
// and, on every span open at the time, claude_agent.breaker.changed (from,
// to, reason) and claude_agent.paused (until, signal). At its end it
// carries gen_ai.request.model, gen_ai.usage.input_tokens and
// output_tokens, gen_ai.conversation.id (the session's id: on spans only,
// never on metrics), the cost, the outcome, the exit code and error.type;
// its status is Error for a query that failed or was refused. Event and end
// times are those the client stamped (Config.Clock), not those of their
// delivery.
//
// At most WithMaxOpenSpans spans (default 10000) are open at once: one
// whose end was lost (the observer's queue overflowed, Stats().Callbacks.
// ObserverDropped) is ended, marked claude_agent.abandoned, when a new span
// needs its place.
//
// # Trace context in the CLI
//
// Observer.Trace returns TRACEPARENT and TRACESTATE (the W3C trace
// context of the query's span, through WithPropagator's propagator;
// uppercase names, as the Python SDK passes them), which the client puts
// in the environment of the CLI it starts for the query: a CLI that
// exports its own telemetry makes its spans children of the query's.
//
// A warm process (Config.Warm: a parked spare, or a reused CLI) and a
// session's CLI were started before the query, with no query's context:
// their environment has no TRACEPARENT, so the CLI's spans of that query
// belong to a trace of their own and link to nothing here. The query's span
// says so: claude_agent.warm is true on its claude_agent.started event and
// on the span; join the two by time, or turn Config.Warm off where the
// CLI's spans must nest.
package otel
