package orchestrator

import (
	"fmt"
	"strings"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Texts of the CLI's results (2.1.197) that say it cannot authenticate,
// whatever api_error_status says (none for "Not logged in").
var authResultPrefixes = []string{
	"Not logged in",           // no ANTHROPIC_API_KEY and no login
	"Invalid API key",         // the API answered 401
	"Failed to authenticate.", // the API answered 403
}

// callerError is an error of the caller's configuration found in the
// stream: it matches its sentinel (ErrAuthentication or ErrInvalidRequest)
// and the CLI's own error, when there is one (an *protocol.APIError).
type callerError struct {
	sentinel error
	msg      string
	cause    error // nil when the CLI gave no error of its own yet
}

func (e *callerError) Error() string { return e.msg }

func (e *callerError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

// callerFault returns the error a query must end with when msg shows that
// the caller's configuration is at fault, nil otherwise: an authentication
// failure (authSignal), or a model the API does not know. The orchestrator
// stops the CLI at once on it (a 401 would otherwise be retried for over a
// minute), and the query never counts for the breaker. A query stopped at
// such a signal made no billable API request: the API refused it.
func callerFault(msg protocol.Message, req *cli.Request) error {
	if err := authSignal(msg); err != nil {
		return err
	}
	return modelSignal(msg, req.Model)
}

// authSignal returns an error matching ErrAuthentication, whose text says
// what to set, when msg shows that the CLI cannot authenticate: an
// api_retry line for a 401 or 403 (or the CLI's "authentication_failed"),
// or an error result for them or for a CLI with neither key nor login.
// It returns nil for any other message.
func authSignal(msg protocol.Message) error {
	switch m := msg.(type) {
	case *protocol.SystemMessage:
		r := m.APIRetry
		if r == nil || (r.ErrorStatus != 401 && r.ErrorStatus != 403 && r.Error != "authentication_failed") {
			return nil
		}
		return authError(r.ErrorStatus, "", nil)
	case *protocol.ResultMessage:
		if !m.IsError {
			return nil
		}
		if m.APIErrorStatus == 401 || m.APIErrorStatus == 403 || hasAuthPrefix(m.Result) {
			return authError(m.APIErrorStatus, m.Result, protocol.ResultError(m))
		}
	}
	return nil
}

func hasAuthPrefix(text string) bool {
	for _, p := range authResultPrefixes {
		if strings.HasPrefix(text, p) {
			return true
		}
	}
	return false
}

// authError builds the ErrAuthentication error for status (0: none, as
// when the CLI is not logged in) and the CLI's text.
func authError(status int, text string, cause error) error {
	var advice string
	switch status {
	case 401:
		advice = "the API rejected the API key (401): set a valid ANTHROPIC_API_KEY, or log in with `claude /login`"
	case 403:
		advice = "the API refused the credentials (403): check that ANTHROPIC_API_KEY (or the login) has access to this model and organisation"
	default:
		advice = "the claude CLI has no credentials: set ANTHROPIC_API_KEY (in the environment or with WithEnv), or log in with `claude /login`"
	}
	msg := ErrAuthentication.Error() + ": " + advice
	if text != "" {
		msg += ": " + text
	}
	return &callerError{sentinel: ErrAuthentication, msg: msg, cause: cause}
}

// modelSignal returns an error matching ErrInvalidRequest, naming
// WithModel, when msg is an error result for a 404 from the API: the CLI
// reports an unknown or inaccessible model so ("There's an issue with the
// selected model (x). It may not exist or you may not have access to it.").
// A 404 is the caller's option, not the backend's health, and like every
// invalid option it is fixed by changing the query.
func modelSignal(msg protocol.Message, model string) error {
	m, ok := msg.(*protocol.ResultMessage)
	if !ok || !m.IsError || m.APIErrorStatus != 404 {
		return nil
	}
	which := fmt.Sprintf("model %q", model)
	if model == "" {
		which = "the CLI's default model"
	}
	return &callerError{
		sentinel: ErrInvalidRequest,
		msg:      fmt.Sprintf("%v: WithModel: the API does not know %s, or gives no access to it (404): %s", ErrInvalidRequest, which, m.Result),
		cause:    protocol.ResultError(m),
	}
}
