package otel

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The GenAI conventions' values for a query: the CLI is an agent.
var (
	operation = genaiconv.OperationNameInvokeAgent
	provider  = genaiconv.ProviderNameAnthropic
)

const (
	agentName = "claude"
	spanName  = "invoke_agent " + agentName
)

// The attributes of the guards' own metrics and events.
const (
	attrOutcome       = attribute.Key("claude_agent.outcome")
	attrLimit         = attribute.Key("claude_agent.limit")
	attrEstimated     = attribute.Key("claude_agent.cost.estimated")
	attrFrom          = attribute.Key("claude_agent.breaker.from")
	attrTo            = attribute.Key("claude_agent.breaker.to")
	attrReason        = attribute.Key("claude_agent.breaker.reason")
	attrQueryID       = attribute.Key("claude_agent.query.id")
	attrWarm          = attribute.Key("claude_agent.warm")
	attrWait          = attribute.Key("claude_agent.wait_seconds")
	attrCap           = attribute.Key("claude_agent.cap_usd")
	attrRetryAfter    = attribute.Key("claude_agent.retry_after_seconds")
	attrCost          = attribute.Key("claude_agent.cost_usd")
	attrExitCode      = attribute.Key("claude_agent.exit_code")
	attrFirstMessage  = attribute.Key("claude_agent.first_message_seconds")
	attrUntil         = attribute.Key("claude_agent.pause.until")
	attrSignal        = attribute.Key("claude_agent.pause.signal")
	attrAbandoned     = attribute.Key("claude_agent.abandoned")
	attrAhead         = attribute.Key("claude_agent.queue.ahead")
	outcomeUncounted  = "uncounted"
	eventQueued       = "claude_agent.queued"
	eventAdmitted     = "claude_agent.admitted"
	eventStarted      = "claude_agent.started"
	eventRefused      = "claude_agent.refused"
	eventBreaker      = "claude_agent.breaker.changed"
	eventPaused       = "claude_agent.paused"
	eventDescAbandon  = "abandoned: its end was not delivered"
	eventDescRefusal  = "refused: "
	spanStatusUnknown = "failed"
)

// Bucket boundaries the GenAI conventions advise.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

// adapter turns a client's events into spans and metrics. Its methods are
// the Observer's callbacks: Trace runs in the queries' goroutines, the
// others in the observer's one goroutine.
type adapter struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	spans  *openSpans

	duration    genaiconv.ClientOperationDuration
	firstChunk  genaiconv.ClientOperationTimeToFirstChunk
	tokens      genaiconv.ClientTokenUsage
	queries     metric.Int64Counter
	refusals    metric.Int64Counter
	wait        metric.Float64Histogram
	cost        metric.Float64Counter
	transitions metric.Int64Counter
	pauses      metric.Int64Counter
}

// NewObserver returns an Observer for Config.Observer that records the
// client's queries as spans and metrics (see the package doc). Use one
// per client. The error is an instrument the meter provider refused; the
// Observer works without it.
func NewObserver(opts ...Option) (*agent.Observer, error) {
	cfg := newConfig(opts)
	a := &adapter{
		tracer: cfg.tp.Tracer(scope),
		prop:   cfg.prop,
		spans:  newOpenSpans(cfg.maxOpenSpans),
	}
	meter := cfg.mp.Meter(scope)
	var errs [9]error
	a.duration, errs[0] = genaiconv.NewClientOperationDuration(meter, metric.WithExplicitBucketBoundaries(durationBuckets...))
	a.firstChunk, errs[1] = genaiconv.NewClientOperationTimeToFirstChunk(meter, metric.WithExplicitBucketBoundaries(durationBuckets...))
	a.tokens, errs[2] = genaiconv.NewClientTokenUsage(meter, metric.WithExplicitBucketBoundaries(tokenBuckets...))
	a.queries, errs[3] = meter.Int64Counter("claude_agent.queries", metric.WithUnit("{query}"),
		metric.WithDescription("Queries settled, by their outcome for the circuit breaker."))
	a.refusals, errs[4] = meter.Int64Counter("claude_agent.refusals", metric.WithUnit("{query}"),
		metric.WithDescription("Queries refused before they ran, by the limit that refused them."))
	a.wait, errs[5] = meter.Float64Histogram("claude_agent.limiter.wait", metric.WithUnit("s"),
		metric.WithDescription("Time an admitted query waited in the rate limiter's queue, by the limit it waited on last (none: no limit held it)."),
		metric.WithExplicitBucketBoundaries(0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
	a.cost, errs[6] = meter.Float64Counter("claude_agent.cost.usd", metric.WithUnit("{USD}"),
		metric.WithDescription("USD charged to the budget, estimated or from the CLI's result."))
	a.transitions, errs[7] = meter.Int64Counter("claude_agent.breaker.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Changes of the circuit breaker's state."))
	a.pauses, errs[8] = meter.Int64Counter("claude_agent.pauses", metric.WithUnit("{pause}"),
		metric.WithDescription("Pauses of admission an API rate signal imposed."))
	return &agent.Observer{
		Trace:          a.trace,
		QueryQueued:    a.queued,
		QueryAdmitted:  a.admitted,
		QueryStarted:   a.started,
		QueryRefused:   a.refused,
		QueryFinished:  a.finished,
		BreakerChanged: a.breakerChanged,
		Paused:         a.paused,
	}, errors.Join(errs[:]...)
}

// trace starts the query's span, a child of ctx's, and returns its trace
// context as environment entries.
func (a *adapter) trace(ctx context.Context, id uint64) []string {
	ctx, span := a.tracer.Start(ctx, spanName,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			semconv.GenAIOperationNameInvokeAgent,
			semconv.GenAIProviderNameAnthropic,
			semconv.GenAIAgentName(agentName),
			attrQueryID.Int64(int64(id)),
		))
	if span.IsRecording() {
		if evicted := a.spans.add(id, span); evicted != nil {
			evicted.SetAttributes(attrAbandoned.Bool(true))
			evicted.SetStatus(codes.Error, eventDescAbandon)
			evicted.End()
		}
	}
	carrier := propagation.MapCarrier{}
	a.prop.Inject(ctx, carrier)
	if len(carrier) == 0 {
		return nil
	}
	env := make([]string, 0, len(carrier))
	for k, v := range carrier {
		env = append(env, strings.ToUpper(k)+"="+v)
	}
	return env
}

func (a *adapter) queued(e agent.QueryQueuedEvent) {
	if span := a.spans.get(e.QueryID); span != nil {
		span.AddEvent(eventQueued, trace.WithTimestamp(e.At), trace.WithAttributes(
			attrLimit.String(e.Limit.String()), attrAhead.Int(e.Ahead)))
	}
}

func (a *adapter) admitted(e agent.QueryAdmittedEvent) {
	span := a.spans.get(e.QueryID)
	limit := attrLimit.String(e.WaitedOn.String())
	a.wait.Record(spanContext(span), e.Waited.Seconds(), metric.WithAttributes(limit))
	if span != nil {
		attrs := []attribute.KeyValue{attrWait.Float64(e.Waited.Seconds()), limit}
		if e.CapUSD > 0 {
			attrs = append(attrs, attrCap.Float64(e.CapUSD))
		}
		span.AddEvent(eventAdmitted, trace.WithTimestamp(e.At), trace.WithAttributes(attrs...))
	}
}

func (a *adapter) started(e agent.QueryStartedEvent) {
	if span := a.spans.get(e.QueryID); span != nil {
		span.AddEvent(eventStarted, trace.WithTimestamp(e.At), trace.WithAttributes(attrWarm.Bool(e.Warm)))
	}
}

func (a *adapter) refused(e agent.QueryRefusedEvent) {
	span := a.spans.take(e.QueryID)
	a.refusals.Add(spanContext(span), 1, metric.WithAttributes(attrLimit.String(e.Limit.String())))
	if span == nil {
		return
	}
	span.AddEvent(eventRefused, trace.WithTimestamp(e.At), trace.WithAttributes(
		attrLimit.String(e.Limit.String()), attrRetryAfter.Float64(e.RetryAfter.Seconds())))
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType(e.Err)))
	span.SetStatus(codes.Error, eventDescRefusal+e.Limit.String())
	span.End(trace.WithTimestamp(e.At))
}

func (a *adapter) finished(e agent.QueryFinishedEvent) {
	span := a.spans.take(e.QueryID)
	ctx := spanContext(span)
	errType := errorType(e.Err)

	// model goes on every GenAI point; error.type on the duration's only,
	// as the conventions define it.
	var attrs [2]attribute.KeyValue
	model := attrs[:0]
	if e.Model != "" {
		model = append(model, a.duration.AttrRequestModel(e.Model))
	}
	withErr := model
	if errType != "" {
		withErr = append(withErr, a.duration.AttrErrorType(genaiconv.ErrorTypeAttr(errType)))
	}
	a.duration.Record(ctx, e.Duration.Seconds(), operation, provider, withErr...)
	if e.FirstMessage > 0 {
		a.firstChunk.Record(ctx, e.FirstMessage.Seconds(), operation, provider, model...)
	}
	input := e.Usage.InputTokens + e.Usage.CacheCreationInputTokens + e.Usage.CacheReadInputTokens
	if input > 0 || e.Usage.OutputTokens > 0 {
		a.tokens.Record(ctx, input, operation, provider, genaiconv.TokenTypeInput, model...)
		a.tokens.Record(ctx, e.Usage.OutputTokens, operation, provider, genaiconv.TokenTypeOutput, model...)
	}
	outcome := outcomeUncounted
	if e.Counted {
		outcome = e.Outcome.String()
	}
	if errType != "" {
		a.queries.Add(ctx, 1, metric.WithAttributes(attrOutcome.String(outcome), semconv.ErrorTypeKey.String(errType)))
	} else {
		a.queries.Add(ctx, 1, metric.WithAttributes(attrOutcome.String(outcome)))
	}
	if e.CostUSD > 0 {
		a.cost.Add(ctx, e.CostUSD, metric.WithAttributes(attrEstimated.Bool(e.Estimated)))
	}
	if span == nil {
		return
	}
	end := []attribute.KeyValue{
		attrOutcome.String(outcome),
		attrCost.Float64(e.CostUSD),
		attrEstimated.Bool(e.Estimated),
		attrWarm.Bool(e.Warm),
		semconv.GenAIUsageInputTokens(int(input)),
		semconv.GenAIUsageOutputTokens(int(e.Usage.OutputTokens)),
	}
	if e.Model != "" {
		end = append(end, semconv.GenAIRequestModel(e.Model))
	}
	if e.SessionID != "" {
		end = append(end, semconv.GenAIConversationID(e.SessionID))
	}
	if e.FirstMessage > 0 {
		end = append(end, attrFirstMessage.Float64(e.FirstMessage.Seconds()))
	}
	if e.ExitCode >= 0 {
		end = append(end, attrExitCode.Int(e.ExitCode))
	}
	if errType != "" {
		end = append(end, semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, statusOf(e.Err, errType))
	}
	span.SetAttributes(end...)
	span.End(trace.WithTimestamp(e.At))
}

// statusOf is a failed span's status description: the API's message for
// an API error, else its error.type. Never the CLI's stderr, which a
// *ProcessError's text includes.
func statusOf(err error, errType string) string {
	var api *agent.APIError
	if errors.As(err, &api) && api.Message != "" {
		return api.Message
	}
	if errType == "" {
		return spanStatusUnknown
	}
	return errType
}

func (a *adapter) breakerChanged(e agent.BreakerChangedEvent) {
	from, to := attrFrom.String(e.From.String()), attrTo.String(e.To.String())
	a.transitions.Add(context.Background(), 1, metric.WithAttributes(from, to))
	a.spans.each(func(span trace.Span) {
		span.AddEvent(eventBreaker, trace.WithTimestamp(e.At), trace.WithAttributes(from, to, attrReason.String(e.Reason)))
	})
}

func (a *adapter) paused(e agent.PausedEvent) {
	a.pauses.Add(context.Background(), 1)
	a.spans.each(func(span trace.Span) {
		span.AddEvent(eventPaused, trace.WithTimestamp(e.At), trace.WithAttributes(
			attrUntil.String(e.Until.UTC().Format("2006-01-02T15:04:05.000Z07:00")), attrSignal.String(e.Signal)))
	})
}

// spanContext is the context a measurement of span's query is recorded
// in, for exemplars to point at its trace. The events arrive on the
// observer's goroutine, with no caller's context to derive from: it
// carries the span and nothing else.
func spanContext(span trace.Span) context.Context {
	ctx := context.Background()
	if span != nil {
		ctx = trace.ContextWithSpan(ctx, span)
	}
	return ctx
}
