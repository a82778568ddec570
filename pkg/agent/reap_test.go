package agent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// An early break against a CLI that ignores SIGTERM returns at once; the
// process keeps its concurrency slot until it is gone, and Close waits for it.
func TestEarlyBreakHoldsTheSlotUntilTheCLIIsGone(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.MaxConcurrent = 1
		cfg.StopGracePeriod = time.Hour // SIGKILL comes from this test
	})
	script, record := recorded(t, fakecli.Script{fakecli.IgnoreSIGTERM(), fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	for range c.Query(t.Context(), "prompt", play(script)) {
		break
	}
	pid := readRecord(t, record).Pid
	t.Cleanup(func() { killPid(pid) }) //nolint:errcheck // a regression's leftover
	require.False(t, reaped(pid), "the loop returned while the CLI still runs")
	assert.Equal(t, 1, c.Stats().Limiter.InFlight, "the slot is held while the process lives")

	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	// Once Close has begun (new queries are refused), it waits: its
	// SIGTERM is ignored too.
	require.Eventually(t, func() bool {
		_, err := c.Run(t.Context(), "prompt")
		return errors.Is(err, agent.ErrClosed)
	}, 5*time.Second, time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned while the CLI still runs")
	default:
	}
	require.NoError(t, killPid(pid))
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close never returned")
	}
	assert.True(t, reaped(pid), "reaped before Close returned")
}
