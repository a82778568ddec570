package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// After Close, Stats reports nothing in flight or waiting, although a query
// was running and another waiting when the client closed.
func TestStatsAfterCloseShowsNothingInFlight(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 1 })
	script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	running := start(t.Context(), c, play(script))
	require.Eventually(t, fileExists(record), 5*time.Second, time.Millisecond)
	waiting := start(t.Context(), c, play(fakecli.Success("ok", 0)))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)

	require.NoError(t, c.Close())
	assert.ErrorIs(t, <-running, agent.ErrClosed)
	assert.ErrorIs(t, <-waiting, agent.ErrClosed)
	s := c.Stats()
	assert.Zero(t, s.InFlight)
	assert.Zero(t, s.Queued)
	assert.Zero(t, s.Limiter.InFlight)
	assert.Zero(t, s.Limiter.Queued)
	assert.Zero(t, s.Limiter.ReservedUSD)
}
