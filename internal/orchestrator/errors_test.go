package orchestrator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A refusal's text names its limit only when the sentinel does not: "agent:
// client closed", not "agent: client closed (closed)".
func TestRejectedErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *RejectedError
		want string
	}{
		{&RejectedError{Err: ErrClosed, Limit: "closed"}, "agent: client closed"},
		{&RejectedError{Err: ErrCircuitOpen, Limit: "circuit", RetryAfter: time.Minute}, "agent: circuit open: retry after 1m0s"},
		{&RejectedError{Err: ErrQueueFull, Limit: "queue"}, "agent: admission queue full"},
		{&RejectedError{Err: ErrBudgetExhausted, Limit: "budget"}, "agent: hourly cost budget exhausted"},
		{&RejectedError{Err: ErrRateLimited, Limit: "minute", RetryAfter: time.Second}, "agent: rate limited (minute): retry after 1s"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}
}
