package otel

import (
	"context"
	"errors"
	"strconv"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// sentinels name the errors a query can end with, most telling first: a
// refusal's, a budget stop's (both match their sentinel with errors.Is),
// then the caller's and the CLI's.
var sentinels = []struct {
	err  error
	name string
}{
	{agent.ErrCircuitOpen, "circuit_open"},
	{agent.ErrRateLimited, "rate_limited"},
	{agent.ErrBudgetExhausted, "budget_exhausted"},
	{agent.ErrQueueFull, "queue_full"},
	{agent.ErrClosed, "closed"},
	{agent.ErrFleetUnavailable, "fleet_unavailable"},
	{agent.ErrAuthentication, "authentication"},
	{agent.ErrInvalidRequest, "invalid_request"},
	{agent.ErrQueryTimeout, "timeout"},
	{agent.ErrIdleTimeout, "idle_timeout"},
	{agent.ErrCLINotFound, "cli_not_found"},
	{context.Canceled, "canceled"},
	{context.DeadlineExceeded, "deadline_exceeded"},
}

// errorType is err's error.type: one of a few names, or the API's HTTP
// status ("529") as the conventions ask of HTTP errors; "" for nil and
// "_OTHER" for an error it does not know. Never the error's text.
func errorType(err error) string {
	if err == nil {
		return ""
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	var (
		api     *agent.APIError
		process *agent.ProcessError
		decode  *agent.DecodeError
		long    *agent.LineTooLongError
	)
	switch {
	case errors.As(err, &api):
		if api.Status > 0 {
			return strconv.Itoa(api.Status)
		}
		return "api_error"
	case errors.As(err, &process):
		return "process"
	case errors.As(err, &decode):
		return "decode"
	case errors.As(err, &long):
		return "line_too_long"
	}
	return "_OTHER"
}
