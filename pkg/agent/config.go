package agent

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Config configures a Client. The zero value of every field means its
// default, so Config{} and DefaultConfig() behave the same.
type Config struct {
	// CLIPath is the claude executable. Empty: $CLAUDE_CLI_PATH, then claude
	// on PATH, then the usual npm, yarn and ~/.claude install places.
	CLIPath string

	RateLimit      RateLimitConfig
	CircuitBreaker CircuitBreakerConfig
	// Warm configures the processes started ahead of queries (on by
	// default: one spare per key, two in all; see WarmConfig).
	Warm WarmConfig
	// Fleet shares the rate limit, the budget and the breaker with other
	// processes through Redis (see FleetConfig; off by default).
	Fleet FleetConfig

	// MaxConcurrent caps the CLI processes running at once (default 4;
	// Unlimited: no cap).
	MaxConcurrent int
	// MaxQueued caps the callers waiting for admission (default 1000); the
	// next one gets ErrQueueFull at once.
	MaxQueued int

	// QueryTimeout stops a query's process after this long (0: none beyond
	// the caller's context). A timeout counts as a breaker failure.
	QueryTimeout time.Duration
	// IdleTimeout stops a query's process when it prints nothing for this
	// long (0: none). Counts as a breaker failure.
	IdleTimeout time.Duration
	// StopGracePeriod is how long a stopped CLI gets between SIGTERM and
	// SIGKILL (default 5 s).
	StopGracePeriod time.Duration
	// MaxLineBytes caps one stdout line (default 32 MiB).
	MaxLineBytes int
	// Stderr, when set, receives each line the CLI writes to stderr, in
	// order, from a goroutine of its own per query: never concurrently for
	// one query, concurrently across queries. It delays nothing: while it
	// runs, up to 1024 lines wait, and later ones are dropped and counted.
	// A panic in it is recovered and logged.
	Stderr func(line string)

	// Classify overrides how a finished query counts for the circuit breaker
	// (default DefaultClassify). It is not consulted for queries the caller
	// cancelled or broke out of, nor for those that ended with
	// ErrAuthentication or ErrInvalidRequest: those never count. It is
	// called once per query, concurrently for concurrent queries. A panic
	// in it, or no answer within a second, counts the query as a failure.
	Classify func(result *ResultMessage, err error) Outcome

	// Clock is the time source of the limiter, the breaker and the timeouts,
	// the wait for Classify and Close's wait for callbacks still running
	// included (default: real time). Tests inject *clock.Mock, and advance
	// it for those waits to end.
	Clock clock.Clock
	// Logger receives state changes, pauses and refusals (default: none).
	// Prompts and API keys are never logged. Its handler is called
	// concurrently, from the goroutine that logs; a panic in it is
	// recovered (the record is lost), but one that blocks blocks that
	// goroutine, so it should not.
	Logger *slog.Logger
	// Observer, when set, receives the client's events: admissions,
	// starts, refusals, settled queries, breaker changes, pauses (see
	// Observer). It delays nothing.
	Observer *Observer
}

// Unlimited, in a RateLimit count or budget field or MaxConcurrent, turns
// that one limit off; Stats reports an off limit as Unlimited too.
const Unlimited = -1

// RateLimitConfig configures admission. Queries per minute and per hour are
// token buckets that refill continuously, like the API's own limits.
//
// The cost budget: every query reserves its cap (QueryBudget, or its
// WithMaxBudgetUSD) out of what the last hour's spend and the running
// queries' reservations leave of CostBudgetHourly, or all that is left if
// less; it is passed to the CLI as --max-budget-usd, and the client stops
// the CLI when the query's estimated spend passes it. A query waits while
// less than MinQueryBudget is left. See the README for what this bounds.
type RateLimitConfig struct {
	QueriesPerMinute int     // default 60; Unlimited: no per-minute window
	QueriesPerHour   int     // default 1000; Unlimited: no per-hour window
	CostBudgetHourly float64 // USD over any rolling 60 minutes, default 10.00; Unlimited: no budget
	// QueryBudget is the cap, in USD, of a query without WithMaxBudgetUSD
	// (default CostBudgetHourly / MaxConcurrent, or / 4 when MaxConcurrent
	// is Unlimited). At most CostBudgetHourly.
	QueryBudget float64
	// MinQueryBudget is the least cap a query is admitted with (default
	// 0.01 USD, or the query's own cap if smaller).
	MinQueryBudget float64
	// MaxWait refuses at once a query whose wait would exceed it, with
	// ErrRateLimited or ErrBudgetExhausted (0: wait as long as ctx allows).
	MaxWait time.Duration
	// MaxPause bounds the pause the API can impose on later queries (an
	// api_retry for a 429, a rejected rate_limit_event): a longer one is
	// cut to it, and a malformed one (a delay not above zero, a reset time
	// not in the future) is ignored; both are logged once. Default 1 hour.
	// Client.ClearPause lifts a pause at once.
	MaxPause time.Duration
	// Disabled turns off both windows and the budget (set one field to
	// Unlimited to turn off only that limit). MaxConcurrent and MaxQueued
	// still apply.
	Disabled bool
}

// CircuitBreakerConfig configures the circuit breaker.
type CircuitBreakerConfig struct {
	FailureThreshold int           // consecutive failures that open it, default 5
	Timeout          time.Duration // open time before half-open, default 60 s
	MaxTimeout       time.Duration // cap of the doubling open time, default 10 × Timeout
	HalfOpenRequests int           // probes at once in half-open, default 2
	SuccessThreshold int           // successes in half-open that close it, default 2
	// Disabled turns the breaker off: every query is allowed.
	Disabled bool
}

// Outcome is what a finished query tells the circuit breaker. The zero
// value is OutcomeSuccess.
type Outcome int

// The three outcomes.
const (
	// OutcomeSuccess counts towards closing the circuit and resets the
	// run of consecutive failures.
	OutcomeSuccess Outcome = iota
	// OutcomeFailure counts towards opening the circuit.
	OutcomeFailure
	// OutcomeIgnored counts neither way: the query said nothing about the
	// backend's health.
	OutcomeIgnored
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	case OutcomeIgnored:
		return "ignored"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// DefaultClassify is the default Config.Classify: failures are crashes,
// timeouts, bad output and API statuses >= 500 (529 included); 4xx statuses
// (429 included), authentication failures ("Not logged in" included),
// invalid requests, error_max_turns and error_max_budget_usd are ignored; a
// result without is_error is a success.
func DefaultClassify(result *ResultMessage, err error) Outcome {
	return exportOutcome(orchestrator.Classify(importResult(result), importAPIError(err)))
}

// classifier adapts a user's Config.Classify to the orchestrator's
// types: it gets a copy of the result, and the error as a query returns it.
func classifier(classify func(*ResultMessage, error) Outcome) orchestrator.Classifier {
	return func(r *protocol.ResultMessage, err error) breaker.Outcome {
		var result *ResultMessage
		if r != nil {
			result = exportResult(r)
		}
		return importOutcome(classify(result, exportError(err)))
	}
}

// importAPIError makes an *APIError in err visible to the orchestrator's
// classifier, which looks for its internal form.
func importAPIError(err error) error {
	var a *APIError
	var in *protocol.APIError
	if errors.As(err, &a) && !errors.As(err, &in) {
		return errors.Join(err, a.internal())
	}
	return err
}

func exportOutcome(o breaker.Outcome) Outcome {
	switch o {
	case breaker.Success:
		return OutcomeSuccess
	case breaker.Failure:
		return OutcomeFailure
	}
	return OutcomeIgnored
}

// importOutcome is the breaker's outcome; one out of range counts as a
// failure.
func importOutcome(o Outcome) breaker.Outcome {
	switch o {
	case OutcomeSuccess:
		return breaker.Success
	case OutcomeIgnored:
		return breaker.Ignored
	}
	return breaker.Failure
}

// DefaultConfig returns the defaults spelled out: 60 queries a minute, 1000
// an hour, 10.00 USD an hour with at least 0.01 USD free to admit a query
// (QueryBudget stays 0: the budget over MaxConcurrent, 2.50 USD), pauses of
// at most an hour, 4 at once, 1000 waiting; the breaker opens after 5
// failures, stays open 60 s and lets 2 probes through; one warm spare per
// key, two in all, none older than 10 minutes, no reuse.
func DefaultConfig() Config {
	return Config{
		RateLimit: RateLimitConfig{
			QueriesPerMinute: 60,
			QueriesPerHour:   1000,
			CostBudgetHourly: 10.00,
			MinQueryBudget:   0.01,
			MaxPause:         orchestrator.DefaultMaxPause,
		},
		CircuitBreaker: CircuitBreakerConfig{
			FailureThreshold: 5,
			Timeout:          60 * time.Second,
			HalfOpenRequests: 2,
			SuccessThreshold: 2,
		},
		Warm: WarmConfig{
			Spares:    DefaultSpares,
			MaxParked: DefaultMaxParked,
			MaxAge:    DefaultMaxAge,
			MaxUses:   DefaultMaxUses,
		},
		MaxConcurrent:   4,
		MaxQueued:       1000,
		StopGracePeriod: 5 * time.Second,
		MaxLineBytes:    32 << 20,
	}
}

// orchestratorConfig maps the public config, checked by validate, onto
// the internal ones.
func (c Config) orchestratorConfig(cliPath string) orchestrator.Config {
	lim := c.limiterConfig()
	cb := c.CircuitBreaker
	var classify orchestrator.Classifier
	if c.Classify != nil {
		classify = classifier(c.Classify)
	}
	return orchestrator.Config{
		Limiter: lim,
		Breaker: breaker.Config{
			FailureThreshold: cb.FailureThreshold,
			Timeout:          cb.Timeout,
			MaxTimeout:       cb.MaxTimeout,
			HalfOpenRequests: cb.HalfOpenRequests,
			SuccessThreshold: cb.SuccessThreshold,
			Disabled:         cb.Disabled,
		},
		CLI: cli.Options{
			Path:         cliPath,
			MaxLineBytes: c.MaxLineBytes,
			OnStderr:     c.Stderr,
			GracePeriod:  c.StopGracePeriod,
			IdleTimeout:  c.IdleTimeout,
		},
		Pool:         c.Warm.poolConfig(),
		QueryTimeout: c.QueryTimeout,
		MaxPause:     c.RateLimit.MaxPause,
		Classify:     classify,
		Clock:        c.Clock,
		Logger:       c.Logger,
		Observe:      c.Observer.observe(),
		Trace:        c.Observer.trace(),
	}
}

// limiterConfig maps the rate limit, the budget and the concurrency cap
// onto the limiter's config.
func (c Config) limiterConfig() limiter.Config {
	lim := limiter.Config{
		QueriesPerMinute: c.RateLimit.QueriesPerMinute,
		QueriesPerHour:   c.RateLimit.QueriesPerHour,
		CostBudgetHourly: c.RateLimit.CostBudgetHourly,
		QueryBudget:      c.RateLimit.QueryBudget,
		MinQueryBudget:   c.RateLimit.MinQueryBudget,
		MaxConcurrent:    c.MaxConcurrent,
		MaxQueued:        c.MaxQueued,
		MaxWait:          c.RateLimit.MaxWait,
	}
	if c.RateLimit.Disabled {
		lim.QueriesPerMinute, lim.QueriesPerHour, lim.CostBudgetHourly = limiter.Unlimited, limiter.Unlimited, limiter.Unlimited
	}
	return lim
}
