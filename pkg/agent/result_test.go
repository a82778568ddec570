package agent_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// A result whose cost is not a usable number is still the run's result:
// yielded, a success for the breaker, with CostKnown false.
func TestResultWithUnusableCostIsKept(t *testing.T) {
	for _, cost := range []string{`"abc"`, `1e999`, `-0.5`, `null`} {
		t.Run(cost, func(t *testing.T) {
			c, _ := newClient(t, nil)
			line := strings.Replace(fakecli.ResultLine("the answer", 0), `"total_cost_usd":0`, `"total_cost_usd":`+cost, 1)
			require.Contains(t, line, cost)
			res, err := c.Run(t.Context(), "prompt", play(fakecli.Script{
				fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.AssistantLine("the answer")), fakecli.Line(line), fakecli.Exit(0),
			}))
			require.NoError(t, err)
			require.NotNil(t, res)
			assert.Equal(t, "the answer", res.Result)
			assert.False(t, res.CostKnown)
			assert.Zero(t, res.TotalCostUSD)
			s := c.Stats().Breaker
			assert.EqualValues(t, 1, s.Counts.Successes)
			assert.Zero(t, s.Counts.Failures)
		})
	}
}

// An unknown cost, with no usage in the stream to estimate from, is
// charged as the query's reservation (its cap), not as zero.
func TestUnknownCostIsChargedTheReservation(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.RateLimit.QueryBudget = 0.75 })
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("priced", 0.5)))
	require.NoError(t, err)
	line := strings.Replace(fakecli.ResultLine("unpriced", 0), `"total_cost_usd":0`, `"total_cost_usd":"abc"`, 1)
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Line(line), fakecli.Exit(0)}))
	require.NoError(t, err)
	assert.InDelta(t, 0.5+0.75, c.Stats().Limiter.SpentUSD, 1e-9)
}
