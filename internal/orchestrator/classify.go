package orchestrator

import (
	"errors"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Classifier decides what a finished query tells the circuit breaker. It
// gets the result message (nil when none arrived) and the error the run
// ended with (Ending.Err: nil on a clean run, and nil too when the caller
// stopped ranging right at an error result, before its *APIError). It is not
// consulted for queries the caller cancelled, or abandoned before their
// result: those are always breaker.Ignored.
type Classifier func(result *protocol.ResultMessage, err error) breaker.Outcome

// Classify is the default Classifier:
//   - Failure: the process crashed or exited non-zero without a result, a line
//     was too large or undecodable, the idle or query timeout fired, or the
//     result carries api_error_status >= 500 (529 overloaded included), or an
//     error without any status (a connection cut, an execution error);
//   - Ignored: errors matching ErrAuthentication or ErrInvalidRequest (and
//     the CLI's "Not logged in" result), results with a 4xx status (429
//     included: it is a rate signal, handled by the limiter),
//     error_max_turns and error_max_budget_usd;
//   - Success: a result without is_error.
func Classify(result *protocol.ResultMessage, err error) breaker.Outcome {
	if errors.Is(err, ErrAuthentication) || errors.Is(err, ErrInvalidRequest) {
		return breaker.Ignored // the caller's configuration
	}
	if err == nil && result != nil && result.IsError && authSignal(result) != nil {
		return breaker.Ignored // the caller stopped at an authentication result
	}
	var apiErr *protocol.APIError
	if err == nil && result != nil && result.IsError {
		apiErr = protocol.ResultError(result) // the caller stopped at the result
	}
	switch {
	case apiErr != nil, errors.As(err, &apiErr):
		switch {
		case apiErr.Status >= 500:
			return breaker.Failure
		case apiErr.Status >= 400:
			return breaker.Ignored
		case apiErr.Subtype == "error_max_turns", apiErr.Subtype == "error_max_budget_usd":
			return breaker.Ignored
		}
		return breaker.Failure
	case err != nil, result == nil:
		return breaker.Failure
	}
	return breaker.Success
}
