package orchestrator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func TestClassify(t *testing.T) {
	ok := &protocol.ResultMessage{Subtype: "success"}
	bad := &protocol.ResultMessage{Subtype: "success", IsError: true}
	apiErr := func(status int, subtype string) error {
		return &protocol.APIError{Status: status, Subtype: subtype, Message: "x"}
	}
	for _, tc := range []struct {
		name   string
		result *protocol.ResultMessage
		err    error
		want   breaker.Outcome
	}{
		{"clean result", ok, nil, breaker.Success},
		{"529 overloaded", bad, apiErr(529, "success"), breaker.Failure},
		{"500", bad, apiErr(500, "success"), breaker.Failure},
		{"400 is the caller's", bad, apiErr(400, "success"), breaker.Ignored},
		{"429 is a rate signal", bad, apiErr(429, "success"), breaker.Ignored},
		{"max turns", bad, apiErr(0, "error_max_turns"), breaker.Ignored},
		{"max budget", bad, apiErr(0, "error_max_budget_usd"), breaker.Ignored},
		{"connection error, no status", bad, apiErr(0, "success"), breaker.Failure},
		{"crash", nil, &protocol.ProcessError{ExitCode: 1}, breaker.Failure},
		{"idle timeout", nil, protocol.ErrIdleTimeout, breaker.Failure},
		{"query timeout", nil, fmt.Errorf("%w: %w", ErrQueryTimeout, context.DeadlineExceeded), breaker.Failure},
		{"malformed output, no result", nil, &protocol.DecodeError{Excerpt: "{"}, breaker.Failure},
		{"stopped at a 529 result", &protocol.ResultMessage{IsError: true, APIErrorStatus: 529}, nil, breaker.Failure},
		{"stopped at a 400 result", &protocol.ResultMessage{IsError: true, APIErrorStatus: 400}, nil, breaker.Ignored},
		{"no result, no error", nil, nil, breaker.Failure},
		{"authentication", nil, authError(401, "", nil), breaker.Ignored},
		{"invalid request", nil, invalid("WithMaxTurns", "bad"), breaker.Ignored},
		{"stopped at a not-logged-in result", &protocol.ResultMessage{IsError: true, Result: "Not logged in · Please run /login"}, nil, breaker.Ignored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Classify(tc.result, tc.err))
		})
	}
}
func TestRejectionNamesTheLimit(t *testing.T) {
	for _, tc := range []struct {
		in         error
		sentinel   error
		limit      string
		retryAfter time.Duration
	}{
		{&limiter.WaitError{Reason: limiter.ReasonMinute, RetryAfter: time.Second}, ErrRateLimited, "minute", time.Second},
		{&limiter.WaitError{Reason: limiter.ReasonConcurrency}, ErrRateLimited, "concurrency", 0},
		{&limiter.WaitError{Reason: limiter.ReasonBudget, RetryAfter: time.Hour}, ErrBudgetExhausted, "budget", time.Hour},
		{&breaker.OpenError{State: breaker.StateOpen, RetryAfter: time.Minute}, ErrCircuitOpen, "circuit", time.Minute},
		{limiter.ErrQueueFull, ErrQueueFull, "queue", 0},
		{limiter.ErrClosed, ErrClosed, "closed", 0},
		{breaker.ErrClosed, ErrClosed, "closed", 0},
	} {
		err := rejection(tc.in)
		var rejected *RejectedError
		if assert.ErrorAs(t, err, &rejected, "%v", tc.in) {
			assert.ErrorIs(t, err, tc.sentinel)
			assert.ErrorIs(t, err, tc.in, "the guard's own error is lost")
			assert.Equal(t, tc.limit, rejected.Limit)
			assert.Equal(t, tc.retryAfter, rejected.RetryAfter)
		}
	}
	assert.Equal(t, context.Canceled, rejection(context.Canceled), "a context error became a refusal")
}

func TestEndingErr(t *testing.T) {
	ok := &protocol.ResultMessage{Subtype: "success"}
	badLine := &protocol.DecodeError{Excerpt: "{"}
	apiErr := &protocol.APIError{Status: 529}
	for _, tc := range []struct {
		name  string
		items []any // protocol.Message or error, in stream order
		want  error
	}{
		{"clean", []any{ok}, nil},
		{"a malformed line, then a clean result", []any{badLine, ok}, nil},
		{"a malformed line and no result", []any{badLine, &protocol.ProcessError{ExitCode: 1}}, &protocol.ProcessError{ExitCode: 1}},
		{"only a malformed line", []any{badLine}, badLine},
		{"an error result", []any{badLine, ok, apiErr}, apiErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var end Ending
			for _, item := range tc.items {
				switch v := item.(type) {
				case protocol.Message:
					end.Observe(v, nil)
				case error:
					end.Observe(nil, v)
				}
			}
			assert.Equal(t, tc.want, end.Err())
		})
	}
}
