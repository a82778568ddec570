package orchestrator

import (
	"errors"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Ending gathers how a stream of messages ended: its result message and its
// errors. A malformed line does not end a run (the stream goes on), so it
// decides nothing when a result arrived. The zero value is ready to use.
type Ending struct {
	// Result is the stream's result message, nil when none arrived.
	Result  *protocol.ResultMessage
	final   error // the last error other than a malformed line
	badLine error // the first malformed line
}

// Observe records one item of the stream.
func (e *Ending) Observe(msg protocol.Message, err error) {
	if r, ok := msg.(*protocol.ResultMessage); ok {
		e.Result = r
	}
	var decodeErr *protocol.DecodeError
	switch {
	case err == nil:
	case errors.As(err, &decodeErr):
		if e.badLine == nil {
			e.badLine = err
		}
	default:
		e.final = err
	}
}

// Err is the run's error: how it ended when that was not a clean result
// (an *APIError, a *ProcessError, a timeout, a refusal...), or, when no
// result arrived, a malformed line that may explain why.
func (e *Ending) Err() error {
	if e.final == nil && e.Result == nil {
		return e.badLine
	}
	return e.final
}
