package agent_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// panickyHandler is a user's slog handler with a bug: it panics on records
// whose message contains trigger. Everything else it counts.
type panickyHandler struct {
	trigger string
	panics  *atomic.Int32
	records *atomic.Int32
}

func (h panickyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panickyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h panickyHandler) WithGroup(string) slog.Handler            { return h }
func (h panickyHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.trigger) {
		h.panics.Add(1)
		panic("logger bug")
	}
	h.records.Add(1)
	return nil
}

// A Logger whose handler panics (here on the limiter's warning about a
// nonsense cost, logged inside its actor) is recovered at the handler: the
// record is lost, the actor never sees the panic, and every query goes on.
// (The actors' own recovery is tested in their packages.)
func TestPanickingLoggerIsRecovered(t *testing.T) {
	h := panickyHandler{trigger: "invalid cost", panics: new(atomic.Int32), records: new(atomic.Int32)}
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Logger = slog.New(h) })

	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("odd", -1)))
	require.NoError(t, err)
	// The settle of the odd cost is applied when the next request arrives.
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.NoError(t, err, "the request served while the logger panicked")
	assert.EqualValues(t, 1, h.panics.Load())

	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.NoError(t, err)
	assert.Eventually(t, inFlight(c, 0), 5*time.Second, time.Millisecond)
}

// A logger that panics on every limiter record cannot hurt the limiter
// either.
func TestLoggerPanickingOnEveryRecord(t *testing.T) {
	h := panickyHandler{trigger: "limiter:", panics: new(atomic.Int32), records: new(atomic.Int32)}
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Logger = slog.New(h) })

	for _, cost := range []float64{-1, 0.1, 0.1} {
		_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", cost)))
		require.NoError(t, err)
	}
	assert.Positive(t, h.panics.Load())
}
