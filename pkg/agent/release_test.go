package agent_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// A query that passed the breaker's check, waited in the limiter and was
// then refused by the breaker (which opened meanwhile) gives its window
// tokens back and is not counted as admitted, like a cancelled waiter.
func TestBreakerRefusalAfterAdmissionGivesTokensBack(t *testing.T) {
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.CircuitBreaker.FailureThreshold = 1
		cfg.CircuitBreaker.Timeout = 10 * time.Minute // stays open while the clock moves
	})
	fifo := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, fifo)

	// The first query pauses the limiter for a minute, then fails with 529
	// when the test says so, which opens the breaker.
	failing := start(t.Context(), c, play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Retry429(60_000), fakecli.Cat(fifo),
	}))
	require.Eventually(t, func() bool { return !c.Stats().Limiter.PausedUntil.IsZero() }, 5*time.Second, time.Millisecond)

	// The second passes the (closed) breaker's check and waits out the pause.
	script, record := recorded(t, fakecli.Success("ok", 0))
	late := start(t.Context(), c, play(script))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)

	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = w.WriteString(fakecli.ErrorResultLine(529, "API Error: 529 Overloaded") + "\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.Error(t, <-failing)
	require.Equal(t, agent.StateOpen, c.Stats().Breaker.State)

	mock.Add(time.Minute) // the pause ends, the windows refill to their capacity
	err = <-late
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	assert.NoFileExists(t, record)
	s := c.Stats().Limiter
	assert.EqualValues(t, 1, s.Admitted, "the refused query still counts as admitted")
	assert.Equal(t, 60.0, s.MinuteTokens, "the refused query kept its minute token")
	assert.Equal(t, 1000.0, s.HourTokens, "the refused query kept its hour token")
	assert.Zero(t, s.InFlight)
}
