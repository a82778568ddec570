package agent_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// panickyHandler is a user's slog handler with a bug: it panics on every
// record.
type panickyHandler struct{ panics *atomic.Int32 }

func (h panickyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panickyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h panickyHandler) WithGroup(string) slog.Handler            { return h }
func (h panickyHandler) Handle(context.Context, slog.Record) error {
	h.panics.Add(1)
	panic("logger bug")
}

// A Logger whose handler panics on every record (state changes logged by
// the breaker's subscriber, refusals logged in the caller's goroutine) is
// recovered at the handler: the records are lost, nothing else is, and
// the client goes on.
func TestPanickingLoggerIsRecovered(t *testing.T) {
	h := panickyHandler{panics: new(atomic.Int32)}
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Logger = slog.New(h)
		cfg.CircuitBreaker.FailureThreshold = 1
	})
	_, err := c.Run(t.Context(), "prompt", play(fakecli.APIErrorResult(529)))
	require.Error(t, err)
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("never", 0)))
	require.ErrorIs(t, err, agent.ErrCircuitOpen, "a refusal, logged")
	require.Eventually(t, func() bool { return h.panics.Load() >= 2 }, 5*time.Second, time.Millisecond)

	mock.Add(time.Minute) // half-open
	require.Eventually(t, func() bool { return c.Stats().Breaker.State == agent.StateHalfOpen }, 5*time.Second, time.Millisecond)
	for range 2 {
		_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
		require.NoError(t, err)
	}
	assert.Equal(t, agent.StateClosed, c.Stats().Breaker.State)
}
