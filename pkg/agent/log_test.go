package agent_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// syncBuffer is a bytes.Buffer safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The client logs state changes, pauses and refusals, and never a prompt
// or an API key.
func TestLogsEventsButNoSecrets(t *testing.T) {
	var logs syncBuffer
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.CircuitBreaker.FailureThreshold = 1
	})
	const prompt, key = "the secret plan for world domination", "sk-ant-not-for-logs"
	secret := agent.WithEnv("ANTHROPIC_API_KEY", key)

	retry := append(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Retry429(10)}, fakecli.Success("ok", 0)[1:]...)
	_, err := c.Run(t.Context(), prompt, play(retry), secret)
	require.NoError(t, err)
	mock.Add(time.Second) // past the pause
	_, err = c.Run(t.Context(), prompt, play(fakecli.APIErrorResult(529)), secret)
	require.Error(t, err)
	_, err = c.Run(t.Context(), prompt, play(fakecli.Success("never", 0)), secret)
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	// The breaker delivers its events on a goroutine of its own, and
	// Close drops those not yet delivered: wait for this one first.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "from=closed to=open") }, 5*time.Second, time.Millisecond)
	require.NoError(t, c.Close())

	out := logs.String()
	assert.Contains(t, out, "paused")
	assert.Contains(t, out, "from=closed to=open")
	assert.Contains(t, out, "refused")
	assert.NotContains(t, out, prompt)
	assert.NotContains(t, out, key)
}
