package limiter

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrQueueFull is returned by Acquire when MaxQueued callers are
	// already waiting. The caller was not queued.
	ErrQueueFull = errors.New("limiter: queue full")

	// ErrClosed is returned by Acquire to callers that were waiting when
	// the limiter closed, and to every call after that.
	ErrClosed = errors.New("limiter: closed")

	// ErrWaitTooLong is matched (errors.Is) by every *WaitError.
	ErrWaitTooLong = errors.New("limiter: wait too long")

	// ErrInvalidCap is returned by Acquire for a cap it cannot grant.
	ErrInvalidCap = errors.New("limiter: invalid query cap")
)

// Reason names the limit that holds a query back.
type Reason int

// The limits a query can wait for. The zero Reason means none.
const (
	ReasonMinute      Reason = iota + 1 // the per-minute window has no token
	ReasonHour                          // the per-hour window has no token
	ReasonBudget                        // spent plus reserved USD has reached the hourly budget
	ReasonConcurrency                   // MaxConcurrent queries are admitted and not settled
	ReasonPaused                        // Pause was called with a time still ahead
)

// String returns "minute", "hour", "budget", "concurrency", "paused", or
// "none" for the zero Reason.
func (r Reason) String() string {
	switch r {
	case ReasonMinute:
		return "minute"
	case ReasonHour:
		return "hour"
	case ReasonBudget:
		return "budget"
	case ReasonConcurrency:
		return "concurrency"
	case ReasonPaused:
		return "paused"
	case 0:
		return "none"
	default:
		return fmt.Sprintf("Reason(%d)", int(r))
	}
}

// WaitError is returned by Acquire, without queueing the caller, when
// Config.MaxWait is set and the caller could not be admitted within it.
// It matches ErrWaitTooLong with errors.Is.
//
// RetryAfter is how long from the refusal until the query could be
// admitted if nothing else changed. It is 0 when that time is unknown,
// which is the case whenever the blocking limit is ReasonConcurrency (a
// slot frees only when some query settles) or ReasonBudget held by the
// reservations of running queries.
type WaitError struct {
	Reason     Reason        // the limit that blocks the query
	RetryAfter time.Duration // 0: unknown
}

// Error describes the refusal.
func (e *WaitError) Error() string {
	if e.RetryAfter <= 0 {
		return fmt.Sprintf("limiter: %s limit: wait exceeds MaxWait, retry time unknown", e.Reason)
	}
	return fmt.Sprintf("limiter: %s limit: wait exceeds MaxWait, retry after %v", e.Reason, e.RetryAfter)
}

// Unwrap returns ErrWaitTooLong.
func (e *WaitError) Unwrap() error { return ErrWaitTooLong }

// ConfigError reports an invalid Config field. Its message starts with
// "limiter: " and the field name.
type ConfigError struct {
	Field   string // the Config field, e.g. "QueriesPerMinute"
	Problem string // what is wrong with it, e.g. "must be >= 0 or Unlimited (-1), got -5"
}

// Error returns "limiter: <Field> <Problem>".
func (e *ConfigError) Error() string { return "limiter: " + e.Field + " " + e.Problem }

// PanicError is returned by Acquire to callers that were waiting when the
// limiter's goroutine recovered from a panic. The limiter keeps running
// with its windows and counts intact; a caller may retry.
type PanicError struct {
	Value any // the value passed to panic
}

// Error describes the recovered panic.
func (e *PanicError) Error() string { return fmt.Sprintf("limiter: internal panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
