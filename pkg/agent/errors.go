package agent

import (
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Refusals: a query refused before any CLI process started yields an error
// that matches one of these with errors.Is and is a *RejectedError for
// errors.As (with RetryAfter when known).
var (
	// ErrRateLimited: a query window, the concurrency cap or an API-signalled
	// pause would keep the query waiting longer than RateLimit.MaxWait.
	ErrRateLimited = orchestrator.ErrRateLimited
	// ErrBudgetExhausted: the hourly cost budget is spent and would not roll
	// off within RateLimit.MaxWait (a *RejectedError), or a running query
	// was stopped at its cap (a *BudgetError).
	ErrBudgetExhausted = orchestrator.ErrBudgetExhausted
	// ErrCircuitOpen: the circuit breaker refuses queries for now.
	ErrCircuitOpen = orchestrator.ErrCircuitOpen
	// ErrQueueFull: MaxQueued callers are already waiting.
	ErrQueueFull = orchestrator.ErrQueueFull
	// ErrClosed: the client is closed (or closed during the query).
	ErrClosed = orchestrator.ErrClosed
)

// RejectedError carries a refusal's sentinel, the limit that refused and
// RetryAfter (zero when unknown).
type RejectedError = orchestrator.RejectedError

// BudgetError is the error of a query the client stopped while it ran,
// because its estimated spend passed its cap (its reservation of the
// hourly budget, or WithMaxBudgetUSD). It matches ErrBudgetExhausted; it
// is not a *RejectedError (the query ran). The CLI is killed at once; the
// query is charged SpentUSD (the estimate when the client stopped it) plus
// what the CLI had received by then, and counts neither way for the
// breaker.
type BudgetError = orchestrator.BudgetError

// Errors of the caller's own making: they never count against the circuit
// breaker.
var (
	// ErrInvalidRequest: the prompt or a per-query option is invalid (an
	// empty prompt, WithMaxTurns(-1), WithEnv("", v), NUL bytes, a missing
	// WithWorkingDir...). The error names the option. It is returned before
	// admission: no rate token is taken and no process starts. A model the
	// API does not know (404) matches it too, naming WithModel.
	ErrInvalidRequest = orchestrator.ErrInvalidRequest
	// ErrAuthentication: the CLI has no usable credentials: no
	// ANTHROPIC_API_KEY and no login ("Not logged in"), or the API
	// rejected the key (401) or refused it (403). The query is stopped at
	// the first sign of it, without the CLI's retries; the error says
	// what to set.
	ErrAuthentication = orchestrator.ErrAuthentication
)

// ErrQueryTimeout: the query ran past Config.QueryTimeout and was stopped.
var ErrQueryTimeout = orchestrator.ErrQueryTimeout

// Errors of the CLI run itself.
var (
	// ErrCLINotFound: no claude executable was found; the error text says
	// how to install it.
	ErrCLINotFound = protocol.ErrCLINotFound
	// ErrIdleTimeout: the CLI printed nothing for Config.IdleTimeout.
	ErrIdleTimeout = protocol.ErrIdleTimeout
)

type (
	// ProcessError: the CLI exited non-zero (or died by a signal) without a
	// result message. It carries the exit code and the tail of stderr.
	ProcessError = protocol.ProcessError
	// APIError: the CLI's result reported is_error (an API error, the max
	// turns or the budget reached). Status is the API's HTTP status, 0 when
	// there was none.
	APIError = protocol.APIError
	// DecodeError: a stdout line looked like JSON but did not decode.
	DecodeError = protocol.DecodeError
	// LineTooLongError: a stdout line exceeded Config.MaxLineBytes; the
	// process was stopped.
	LineTooLongError = protocol.LineTooLongError
)
