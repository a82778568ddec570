package agent_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

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

// A panic inside the limiter actor (here from the user's Logger, called in
// its loop when a CLI reports a nonsense cost) is recovered: the caller being
// served gets an error instead of hanging, and the client keeps working.
func TestActorPanicIsRecovered(t *testing.T) {
	h := panickyHandler{trigger: "invalid cost", panics: new(atomic.Int32), records: new(atomic.Int32)}
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Logger = slog.New(h) })

	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("odd", -1)))
	require.NoError(t, err)

	// The settle of the odd cost is applied when the next request arrives.
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.Error(t, err, "the request served during the panic")
	assert.Contains(t, err.Error(), "panic")
	assert.EqualValues(t, 1, h.panics.Load())
	assert.Positive(t, h.records.Load(), "the recovery was not logged")

	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.NoError(t, err, "the limiter did not resume after the panic")
	assert.Zero(t, c.Stats().InFlight)
}

// A logger that panics on every limiter record, the recovery's own included,
// still cannot kill the limiter: the second panic is dropped.
func TestActorSurvivesALoggerPanickingTwice(t *testing.T) {
	h := panickyHandler{trigger: "limiter:", panics: new(atomic.Int32), records: new(atomic.Int32)}
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Logger = slog.New(h) })

	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("odd", -1)))
	require.NoError(t, err)
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.Error(t, err, "the request served during the panic")
	assert.EqualValues(t, 2, h.panics.Load(), "the settle's warning and the recovery's record")

	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.1)))
	require.NoError(t, err, "the limiter did not resume")
}
