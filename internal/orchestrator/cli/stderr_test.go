package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// An OnStderr that blocks delays neither the CLI nor the stream: stderr is
// still drained (the error's tail has every byte), lines it cannot take
// are dropped and counted, and its goroutine is left to the guard.
func TestStreamBlockedOnStderrDelaysNothing(t *testing.T) {
	opt := fake(t)
	opt.GracePeriod = time.Hour // a wait on the callback would show
	opt.Callbacks = callback.New(nil, nil)
	opt.Counters = new(Counters)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	opt.OnStderr = func(string) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	script := fakecli.Script{fakecli.StderrBytes(StderrQueue * 300), fakecli.Stderr("last words\n"), fakecli.Exit(2)}
	returned := make(chan struct{})
	go func() { // the safety net of a regression
		select {
		case <-returned:
		case <-time.After(safetyNet):
			close(release)
		}
	}()
	_, errs := collect(t, testContext(t), request(script), opt)
	close(returned)
	require.Len(t, errs, 1)
	var pe *protocol.ProcessError
	require.ErrorAs(t, errs[0], &pe)
	assert.Equal(t, 2, pe.ExitCode)
	assert.Contains(t, pe.Stderr, "last words", "stderr was drained to its end")
	<-entered
	assert.EqualValues(t, 1, opt.Callbacks.Stats().Running, "the callback is still stuck")
	assert.Positive(t, opt.Counters.StderrDropped.Load())

	close(release)
	assert.Zero(t, opt.Callbacks.Wait(safetyNet))
}

// A panic in OnStderr is recovered and counted; delivery goes on.
func TestStreamPanickingOnStderr(t *testing.T) {
	opt := fake(t)
	opt.Callbacks = callback.New(nil, nil)
	var seen []string
	opt.OnStderr = func(line string) {
		seen = append(seen, line)
		if line == "one" {
			panic("user bug")
		}
	}
	script := append(fakecli.Script{fakecli.Stderr("one\ntwo\n")}, fakecli.Success("ok", 0)...)
	msgs, errs := collect(t, testContext(t), request(script), opt)
	assert.Empty(t, errs)
	assert.Equal(t, "system/init assistant result", types(msgs))
	require.Zero(t, opt.Callbacks.Wait(safetyNet))
	assert.Equal(t, []string{"one", "two"}, seen)
	assert.EqualValues(t, 1, opt.Callbacks.Stats().Panics)
}
