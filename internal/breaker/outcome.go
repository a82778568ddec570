package breaker

import (
	"context"
	"errors"
	"strconv"
)

// Outcome is what a caller reports about a call it was permitted to make.
// The zero value is Success.
type Outcome int

// The outcomes of a call.
const (
	// Success counts towards closing the circuit and resets the run of
	// consecutive failures.
	Success Outcome = iota
	// Failure counts towards opening the circuit.
	Failure
	// Ignored counts neither way; it only gives back the permit (and so
	// frees a half-open probe slot). Use it when the call said nothing about
	// the backend's health, such as when the caller cancelled it.
	Ignored
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// OutcomeOf classifies the error of a call made under ctx: nil is Success; a
// call the caller cancelled itself (ctx was cancelled, or err is
// [context.Canceled]) is Ignored, never a failure; anything else, including
// the caller's own deadline running out while the backend was slow, is
// Failure.
func OutcomeOf(ctx context.Context, err error) Outcome {
	switch {
	case err == nil:
		return Success
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return Ignored
	}
	return Failure
}
