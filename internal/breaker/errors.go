package breaker

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrCircuitOpen matches every refusal: the circuit is open, or it is
	// half-open and all probe slots are taken. The error is an [*OpenError].
	ErrCircuitOpen = errors.New("breaker: circuit open")
	// ErrClosed is returned by Allow and Check after Close.
	ErrClosed = errors.New("breaker: closed")
)

// OpenError is the refusal of a call; errors.Is(err, ErrCircuitOpen) holds.
// Refusals may share one OpenError value: treat it as read-only.
type OpenError struct {
	// State is StateOpen, or StateHalfOpen when all probe slots are taken.
	State State
	// RetryAfter is the time until the circuit turns half-open, rounded up
	// to a whole millisecond. It is 0 when that time is not known: the
	// circuit is half-open.
	RetryAfter time.Duration
}

// Error describes the refusal.
func (e *OpenError) Error() string {
	switch {
	case e.State == StateHalfOpen:
		return "breaker: circuit half-open, all probe slots taken"
	case e.RetryAfter > 0:
		return fmt.Sprintf("breaker: circuit open, retry after %v", e.RetryAfter)
	}
	return "breaker: circuit open"
}

// Is reports whether target is ErrCircuitOpen.
func (e *OpenError) Is(target error) bool { return target == ErrCircuitOpen }

// retryAfter rounds d up to a whole millisecond, so that refusals within the
// same millisecond can share one *OpenError and a caller waiting RetryAfter
// never comes back early.
func retryAfter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

// ConfigError reports an invalid Config field. Its message starts with
// "breaker: " and the field name.
type ConfigError struct {
	Field   string // the Config field, e.g. "FailureThreshold"
	Problem string // what is wrong with it, e.g. "must be >= 0 (0 means 5), got -1"
}

// Error returns "breaker: <Field> <Problem>".
func (e *ConfigError) Error() string { return "breaker: " + e.Field + " " + e.Problem }

// PanicError is returned by Allow and Check to callers whose request was
// being handled, or waited for the fleet, when the breaker's goroutine
// recovered from a panic. The breaker keeps running, reset to closed; a
// caller may retry.
type PanicError struct {
	Value any // the value passed to panic
}

// Error describes the recovered panic.
func (e *PanicError) Error() string { return fmt.Sprintf("breaker: internal panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
