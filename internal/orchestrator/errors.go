package orchestrator

import (
	"errors"
	"fmt"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// Refusal sentinels: a query refused before any CLI process started matches
// exactly one of them with errors.Is, and is an *RejectedError for errors.As.
var (
	// ErrRateLimited: a query window (per minute, per hour), the concurrency
	// cap or a server-signalled pause kept the query waiting longer than
	// MaxWait allowed.
	ErrRateLimited = errors.New("agent: rate limited")
	// ErrBudgetExhausted: the hourly cost budget is spent, and waiting for it
	// to roll off would take longer than MaxWait allowed; or, as a
	// *BudgetError, a running query was stopped at its cap.
	ErrBudgetExhausted = errors.New("agent: hourly cost budget exhausted")
	// ErrCircuitOpen: the circuit breaker is open (or its half-open probes
	// are all taken); no process was started.
	ErrCircuitOpen = errors.New("agent: circuit open")
	// ErrQueueFull: MaxQueued callers are already waiting for admission.
	ErrQueueFull = errors.New("agent: admission queue full")
	// ErrClosed: the client is closed, or closed while the query waited or ran.
	ErrClosed = errors.New("agent: client closed")
	// ErrFleetUnavailable: the fleet's shared state (Redis) cannot be
	// reached and Config.Fleet.OnRedisDown is fail-closed.
	ErrFleetUnavailable = errors.New("agent: fleet's shared state unavailable")
)

// RejectedError is the error of a query that was refused before its CLI
// process started. Err is one of ErrRateLimited, ErrBudgetExhausted,
// ErrCircuitOpen, ErrQueueFull, ErrClosed or ErrFleetUnavailable; errors.Is
// matches it.
type RejectedError struct {
	// Err is the refusal sentinel.
	Err error
	// Limit names what refused the query: "minute", "hour", "budget",
	// "concurrency", "paused", "circuit", "queue", "closed" or "fleet".
	Limit string
	// RetryAfter is how long until the query could be admitted, zero when
	// unknown (a concurrency slot or budget frees only when a query settles).
	RetryAfter time.Duration
	cause      error
}

func (e *RejectedError) Error() string {
	msg := e.Err.Error()
	if e.Err == ErrRateLimited && e.Limit != "" {
		msg += " (" + e.Limit + ")" // which of its limits; the others' sentinels name theirs
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(": retry after %v", e.RetryAfter)
	}
	return msg
}

// Unwrap returns the sentinel and the guard's own error.
func (e *RejectedError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.cause}
}

// rejection translates a guard's refusal into a *RejectedError; any other
// error (a context's, say) is returned as is.
func rejection(err error) error {
	var wait *limiter.WaitError
	var open *breaker.OpenError
	switch {
	case errors.As(err, &wait):
		sentinel := ErrRateLimited
		if wait.Reason == limiter.ReasonBudget {
			sentinel = ErrBudgetExhausted
		}
		return &RejectedError{Err: sentinel, Limit: wait.Reason.String(), RetryAfter: wait.RetryAfter, cause: err}
	case errors.As(err, &open):
		return &RejectedError{Err: ErrCircuitOpen, Limit: "circuit", RetryAfter: open.RetryAfter, cause: err}
	case errors.As(err, new(*limiter.StoreError)):
		return &RejectedError{Err: ErrFleetUnavailable, Limit: "fleet", cause: err}
	case errors.Is(err, limiter.ErrQueueFull):
		return &RejectedError{Err: ErrQueueFull, Limit: "queue", cause: err}
	case errors.Is(err, limiter.ErrClosed), errors.Is(err, breaker.ErrClosed), errors.Is(err, ErrClosed):
		return &RejectedError{Err: ErrClosed, Limit: "closed", cause: err}
	}
	return err
}

// BudgetError is the error of a query the client stopped while it ran,
// because its estimated spend passed its cap (its reservation of the
// hourly budget, or WithMaxBudgetUSD). It matches ErrBudgetExhausted. The
// CLI is killed at once; the query is charged SpentUSD plus what the CLI
// had received by then (its output still unread is priced too); it counts
// neither way for the breaker.
type BudgetError struct {
	CapUSD   float64 // the query's cap
	SpentUSD float64 // the estimated spend when the client stopped it
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("agent: query stopped at its cap of %.6f USD (estimated spend %.6f USD)", e.CapUSD, e.SpentUSD)
}

// Unwrap returns ErrBudgetExhausted.
func (e *BudgetError) Unwrap() error { return ErrBudgetExhausted }

// Errors of the caller's own making. Neither counts against the circuit
// breaker, whatever Classify says: they say nothing of the backend's health.
var (
	// ErrInvalidRequest: a per-query input (the prompt or an option) is
	// invalid. The error names the option; the query was refused before
	// admission: no rate token was taken and no process started.
	ErrInvalidRequest = errors.New("agent: invalid request")
	// ErrAuthentication: the CLI has no usable credentials (no API key and
	// no login, or the API rejected the key with 401 or 403). The query was
	// stopped at the first sign of it, before any retry.
	ErrAuthentication = errors.New("agent: authentication failed")
)
