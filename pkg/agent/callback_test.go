package agent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// A panic in Config.Stderr is recovered: the query succeeds, the program
// lives on.
func TestPanickingStderrCallback(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.Stderr = func(string) { panic("user bug") }
	})
	script := append(fakecli.Script{fakecli.Stderr("a warning\n")}, fakecli.Success("ok", 0)...)
	res, err := c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	assert.Equal(t, "ok", res.Result)
	assert.Eventually(t, func() bool { return c.Stats().Callbacks.Panics == 1 }, 5*time.Second, time.Millisecond, "the panic is counted")
}

// A Stderr callback that never returns delays neither the query nor its
// timeout, and Close waits for it only StopGracePeriod (on the mock clock)
// before abandoning it.
func TestStuckStderrCallback(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	time.AfterFunc(30*time.Second, free) // the safety net of a regression, which would hang in Run
	entered := make(chan struct{}, 1)
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.StopGracePeriod = time.Second
		cfg.Stderr = func(string) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
	})
	script := append(fakecli.Script{fakecli.StderrBytes(1 << 20)}, fakecli.Success("ok", 0)...)
	res, err := c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	assert.Equal(t, "ok", res.Result)
	<-entered

	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	assert.Eventually(t, func() bool {
		mock.Add(time.Second) // Close's wait for the callback runs on the client's clock
		select {
		case <-closed:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "Close waits for a stuck callback forever")
	st := c.Stats().Callbacks
	assert.EqualValues(t, 1, st.Abandoned, "the stuck callback is counted as abandoned")
	assert.Positive(t, st.StderrDropped, "10,000 lines behind a stuck callback: the undelivered ones are counted")
}

// A Classify that never returns does not hang the query: after
// ClassifyTimeout the query counts as a failure.
func TestStuckClassifier(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Classify = func(*agent.ResultMessage, error) agent.Outcome {
			close(entered)
			<-release
			return agent.OutcomeSuccess
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "prompt", play(fakecli.Success("ok", 0)))
		done <- err
	}()
	<-entered
	mock.Add(time.Second) // orchestrator.ClassifyTimeout
	select {
	case err := <-done:
		assert.NoError(t, err, "the query itself succeeded")
	case <-time.After(10 * time.Second):
		t.Fatal("Run waits for a stuck classifier")
	}
	assert.EqualValues(t, 1, c.Stats().Breaker.Counts.Failures, "counted as a failure")
	assert.EqualValues(t, 1, c.Stats().Callbacks.TimedOut)
}
