package agent_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// On the real CLI the observer sees a query's events with the CLI's own
// figures: the model its init line names, the result's tokens and cost.
func TestObserverOnTheRealCLI(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("hello").WithUsage(1000, 6))
	var rec recorder
	opts := apiOpts(t, srv, 0)
	c := realClient(t, func(cfg *agent.Config) { cfg.Observer = rec.observer() })

	res, err := c.Run(queryCtx(t), "hello", opts...)
	require.NoError(t, err)
	require.NoError(t, c.Close())

	assert.Equal(t, []string{"admitted 1", "started 1", "finished 1 success"}, rec.kinds())
	e := finished(t, &rec, 1)
	assert.NotEmpty(t, e.Model)
	assert.Equal(t, res.TotalCostUSD, e.CostUSD)
	assert.False(t, e.Estimated)
	assert.True(t, e.Counted)
	assert.Equal(t, int64(6), e.Usage.OutputTokens)
	assert.Positive(t, e.FirstMessage)
	assert.GreaterOrEqual(t, e.Duration, e.FirstMessage)
}
