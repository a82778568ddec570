package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The first api_retry for a 401 ends the query with ErrAuthentication: the
// CLI is stopped there (the success it would print after its retries never
// arrives), the error says what to set, and any number of such queries
// leave the breaker closed and uncounted.
func TestAuthRetryStopsTheQuery(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = 2 })
	script := fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.RetryAuth(),
		fakecli.Sleep(10 * time.Second), // the CLI's retries; never reached when stopped
		fakecli.Line(fakecli.ResultLine("retried and succeeded", 0)),
	}
	for range 3 {
		var sawRetry bool
		var errs []error
		for msg, err := range c.Query(t.Context(), "prompt", play(script)) {
			if sys, ok := msg.(*agent.SystemMessage); ok && sys.APIRetry != nil {
				sawRetry = true
			}
			assert.NotEqual(t, "result", typeOf(msg), "the CLI was not stopped at the 401")
			if err != nil {
				errs = append(errs, err)
			}
		}
		assert.True(t, sawRetry, "the api_retry line is yielded")
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], agent.ErrAuthentication)
		assert.Contains(t, errs[0].Error(), "ANTHROPIC_API_KEY")
		assert.NotContains(t, errs[0].Error(), "context canceled")
	}
	s := c.Stats()
	assert.Equal(t, agent.StateClosed, s.Breaker.State)
	assert.Zero(t, s.Breaker.Counts.Failures)
	settled(t, c) // the stopped CLIs are reaped in the background
	assert.Zero(t, c.Stats().Limiter.SpentUSD, "stopped at a 401: the API billed nothing")
}

// A CLI with neither API key nor login ends with ErrAuthentication (and
// the *APIError of its result), and never counts as a failure, even when
// the caller stops at the result or counts with its own Classify.
func TestNotLoggedInIsNotABreakerFailure(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.CircuitBreaker.FailureThreshold = 1
		cfg.Classify = func(*agent.ResultMessage, error) agent.Outcome { return agent.OutcomeFailure }
	})
	res, err := c.Run(t.Context(), "prompt", play(fakecli.NotLoggedIn()))
	require.ErrorIs(t, err, agent.ErrAuthentication)
	require.NotNil(t, res, "the result is kept")
	var apiErr *agent.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Contains(t, err.Error(), "set ANTHROPIC_API_KEY")
	assert.Contains(t, err.Error(), "Not logged in · Please run /login")

	for msg := range c.Query(t.Context(), "prompt", play(fakecli.NotLoggedIn())) {
		if _, ok := msg.(*agent.ResultMessage); ok {
			break
		}
	}
	s := c.Stats().Breaker
	assert.Equal(t, agent.StateClosed, s.State)
	assert.Zero(t, s.Counts.Failures)
}

// DefaultClassify ignores a "Not logged in" result the caller stopped at.
func TestDefaultClassifyIgnoresNotLoggedIn(t *testing.T) {
	res := &agent.ResultMessage{IsError: true, Subtype: "success", Result: "Not logged in · Please run /login"}
	assert.Equal(t, agent.OutcomeIgnored, agent.DefaultClassify(res, nil))
}

func typeOf(m agent.Message) string {
	if m == nil {
		return ""
	}
	return m.Type()
}
