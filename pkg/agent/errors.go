package agent

import (
	"reflect"
	"strconv"
	"strings"
	"time"

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
	// ErrFleetUnavailable: Config.Fleet's Redis cannot be reached and
	// Config.Fleet.OnRedisDown is FleetFailClosed.
	ErrFleetUnavailable = orchestrator.ErrFleetUnavailable
)

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

// RejectedError is the error of a query refused before any CLI process
// started. errors.Is matches its Err.
type RejectedError struct {
	// Err is the refusal's sentinel: ErrRateLimited, ErrBudgetExhausted,
	// ErrCircuitOpen, ErrQueueFull, ErrClosed or ErrFleetUnavailable.
	Err error
	// Limit names what refused the query; the zero Limit (LimitNone)
	// when unknown.
	Limit Limit
	// RetryAfter is how long until the query could be admitted, zero when
	// unknown (a concurrency slot or budget frees only when a query settles).
	RetryAfter time.Duration
	cause      error // the guard's own error, nil when none
}

func (e *RejectedError) Error() string {
	in := orchestrator.RejectedError{Err: e.Err, RetryAfter: e.RetryAfter}
	if e.Limit != LimitNone {
		in.Limit = e.Limit.String()
	}
	return in.Error()
}

// Unwrap returns Err (and the guard's own error, when there is one).
func (e *RejectedError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.cause}
}

// Limit names the limit that refused a query (RejectedError.Limit). The
// zero value, LimitNone, means unknown.
type Limit int

// The limits that refuse queries.
const (
	LimitNone        Limit = iota // unknown
	LimitMinute                   // the per-minute window (ErrRateLimited)
	LimitHour                     // the per-hour window (ErrRateLimited)
	LimitBudget                   // the hourly cost budget (ErrBudgetExhausted)
	LimitConcurrency              // MaxConcurrent queries are running (ErrRateLimited)
	LimitPaused                   // a pause the API signalled (ErrRateLimited)
	LimitCircuit                  // the circuit breaker (ErrCircuitOpen)
	LimitQueue                    // MaxQueued callers are waiting (ErrQueueFull)
	LimitClosed                   // the client is closed (ErrClosed)
	LimitFleet                    // the fleet's Redis is unreachable (ErrFleetUnavailable)
)

// limitNames are the Limits' String values, as the orchestrator names them.
var limitNames = [...]string{
	LimitNone:        "none",
	LimitMinute:      "minute",
	LimitHour:        "hour",
	LimitBudget:      "budget",
	LimitConcurrency: "concurrency",
	LimitPaused:      "paused",
	LimitCircuit:     "circuit",
	LimitQueue:       "queue",
	LimitClosed:      "closed",
	LimitFleet:       "fleet",
}

// String returns "minute", "hour", "budget", "concurrency", "paused",
// "circuit", "queue", "closed", "fleet", or "none" for LimitNone.
func (l Limit) String() string {
	if l >= 0 && int(l) < len(limitNames) {
		return limitNames[l]
	}
	return "Limit(" + strconv.Itoa(int(l)) + ")"
}

// limitNamed is the Limit whose String is name, LimitNone if none.
func limitNamed(name string) Limit {
	for l, n := range limitNames {
		if n == name {
			return Limit(l)
		}
	}
	return LimitNone
}

// BudgetError is the error of a query the client stopped while it ran,
// because its estimated spend passed its cap (its reservation of the
// hourly budget, or WithMaxBudgetUSD). It matches ErrBudgetExhausted; it
// is not a *RejectedError (the query ran). The CLI is killed at once; the
// query is charged SpentUSD (the estimate when the client stopped it) plus
// what the CLI had received by then, and counts neither way for the
// breaker.
type BudgetError struct {
	// CapUSD is the query's cap.
	CapUSD float64
	// SpentUSD is the estimated spend when the client stopped the query.
	SpentUSD float64
}

func (e *BudgetError) Error() string {
	return (&orchestrator.BudgetError{CapUSD: e.CapUSD, SpentUSD: e.SpentUSD}).Error()
}

// Unwrap returns ErrBudgetExhausted.
func (e *BudgetError) Unwrap() error { return ErrBudgetExhausted }

// ProcessError means the CLI ended without a result message: a non-zero
// exit code, death by a signal, or exit 0 without a result.
type ProcessError struct {
	// ExitCode is the exit code, -1 when a signal ended the process.
	ExitCode int
	// Signal names the signal that ended the process ("killed",
	// "terminated"...), empty when it exited by itself.
	Signal string
	// Stderr is the tail of what the CLI wrote to stderr.
	Stderr string
}

func (e *ProcessError) Error() string {
	return (&protocol.ProcessError{ExitCode: e.ExitCode, Signal: e.Signal, Stderr: e.Stderr}).Error()
}

// APIError means the run ended with an error result (is_error true): an API
// error the CLI gave up on (429, 529, 400...), the max turns or the budget
// reached. The *ResultMessage itself is yielded just before it.
type APIError struct {
	// Status is the HTTP status of the API error, 0 when the result
	// carries none (e.g. a connection error, or a run stopped by the
	// budget or turn limit).
	Status int
	// Subtype is the result's subtype, e.g. "success" (sic) for API
	// errors or "error_max_budget_usd".
	Subtype string
	// Message is the result text, e.g. "API Error: 529 Overloaded".
	Message string
}

func (e *APIError) Error() string { return e.internal().Error() }

func (e *APIError) internal() *protocol.APIError {
	return &protocol.APIError{Status: e.Status, Subtype: e.Subtype, Message: e.Message}
}

// DecodeError means a stdout line that looked like a JSON object did not
// decode. The stream goes on after it.
type DecodeError struct {
	// Excerpt is the start of the line.
	Excerpt string
	// Err is the decoder's error.
	Err error
}

func (e *DecodeError) Error() string {
	return (&protocol.DecodeError{Excerpt: e.Excerpt, Err: e.Err}).Error()
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// LineTooLongError means a stdout line exceeded Config.MaxLineBytes; the
// CLI was stopped.
type LineTooLongError struct {
	// Limit is the maximum line length in bytes.
	Limit int
}

func (e *LineTooLongError) Error() string {
	return (&protocol.LineTooLongError{Limit: e.Limit}).Error()
}

// exportError converts an error of the orchestrator into what the caller
// gets: an error of an internal type becomes this package's; one that
// wraps such errors deeper (fmt.Errorf's %w) becomes a *wrappedError with
// the same text, which unwraps to their agent forms first and to the
// original second. Any other error (a context's, one built of sentinels
// only) is returned as it is.
func exportError(err error) error {
	if err == nil {
		return nil
	}
	if e := exportOne(err); e != nil {
		return e
	}
	found := exportAll(err, nil)
	if found == nil && !internalType(err) {
		return err
	}
	return &wrappedError{err: err, exported: found}
}

// exportOne converts err itself, nil when it is of no internal error type.
func exportOne(err error) error {
	switch e := err.(type) {
	case *orchestrator.RejectedError:
		return &RejectedError{Err: e.Err, Limit: limitNamed(e.Limit), RetryAfter: e.RetryAfter, cause: rejectionCause(e)}
	case *orchestrator.BudgetError:
		return &BudgetError{CapUSD: e.CapUSD, SpentUSD: e.SpentUSD}
	case *protocol.ProcessError:
		return &ProcessError{ExitCode: e.ExitCode, Signal: e.Signal, Stderr: e.Stderr}
	case *protocol.APIError:
		return &APIError{Status: e.Status, Subtype: e.Subtype, Message: e.Message}
	case *protocol.DecodeError:
		return &DecodeError{Excerpt: e.Excerpt, Err: e.Err}
	case *protocol.LineTooLongError:
		return &LineTooLongError{Limit: e.Limit}
	}
	return nil
}

// rejectionCause is the guard's own error under a refusal, nil when none.
func rejectionCause(e *orchestrator.RejectedError) error {
	if u := e.Unwrap(); len(u) > 1 {
		return u[1]
	}
	return nil
}

// exportAll appends to found the agent form of every error of an internal
// type in err's tree, in the order errors.As visits them.
func exportAll(err error, found []error) []error {
	if e := exportOne(err); e != nil {
		return append(found, e)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return exportAll(next, found)
		}
	case interface{ Unwrap() []error }:
		for _, next := range u.Unwrap() {
			if next != nil {
				found = exportAll(next, found)
			}
		}
	}
	return found
}

// internalPrefix is the import path prefix of this module's internal
// packages.
const internalPrefix = "github.com/c0c8c5bf/claude-agent-sdk-go/internal/"

// internalType reports whether err's dynamic type is defined in an internal
// package (an unexported error type of the orchestrator, say).
func internalType(err error) bool {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath(), internalPrefix)
}

// wrappedError is an error of the orchestrator that wraps errors of
// internal types (or is of one without an agent form): its text is the
// original's, and it unwraps to the agent forms first, so that errors.As
// finds them, then to the original, so that errors.Is finds every
// sentinel it wraps.
type wrappedError struct {
	err      error
	exported []error
}

func (e *wrappedError) Error() string { return e.err.Error() }

func (e *wrappedError) Unwrap() []error {
	return append(e.exported[:len(e.exported):len(e.exported)], e.err)
}
