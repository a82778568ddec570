package agent_test

import (
	"path/filepath"
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
	assert.Zero(t, s.Limiter.InFlight)
	assert.Zero(t, s.Limiter.Queued)
	assert.Zero(t, s.Limiter.InFlight)
	assert.Zero(t, s.Limiter.Queued)
	assert.Zero(t, s.Limiter.ReservedUSD)
}

// Close called from inside a Query loop body of the same client returns
// (no deadlock), stops that query's CLI, and the loop then ends with
// ErrClosed; another query waiting outside its body is woken too.
func TestCloseFromALoopBody(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 1 })
	pidFile := filepath.Join(t.TempDir(), "pid")
	waiting := make(chan error, 1)
	closed := make(chan error, 1)
	var last error
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		script := fakecli.Script{fakecli.Spawn(pidFile, fakecli.Script{fakecli.Hang()}), fakecli.Line(fakecli.InitLine()), fakecli.Hang()}
		for msg, err := range c.Query(t.Context(), "prompt", play(script)) {
			if msg != nil && msg.Type() == "system" {
				go func() {
					_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
					waiting <- err
				}()
				assert.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond) // not require: not the test's goroutine
				closed <- c.Close()                                                 // from the loop body
			}
			if err != nil {
				last = err
			}
		}
	}()
	var err error
	require.Eventually(t, func() bool {
		select {
		case err = <-closed:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "Close called from a loop body did not return")
	require.NoError(t, err)
	assert.ErrorIs(t, <-waiting, agent.ErrClosed)
	<-loopDone
	assert.ErrorIs(t, last, agent.ErrClosed)
	assertDies(t, readPid(t, pidFile), "the CLI's child outlived Close")
	assert.Zero(t, c.Stats().Limiter.InFlight)
}

// Close returns only once the CLI of a query whose caller is busy in its
// loop body on another goroutine is stopped and reaped: Close does not
// wait for that caller, but no process outlives Close.
func TestCloseReapsTheCLIOfABusyCaller(t *testing.T) {
	c, _ := newClient(t, nil)
	script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	inBody, release := make(chan struct{}), make(chan struct{})
	loopErr := make(chan error, 1)
	go func() {
		var last error
		for msg, err := range c.Query(t.Context(), "prompt", play(script)) {
			if msg != nil && msg.Type() == "system" {
				close(inBody)
				<-release // busy elsewhere while the client closes
			}
			if err != nil {
				last = err
			}
		}
		loopErr <- last
	}()
	<-inBody
	require.Eventually(t, fileExists(record), 5*time.Second, time.Millisecond)
	pid := readRecord(t, record).Pid

	require.NoError(t, c.Close())
	assert.True(t, reaped(pid), "the CLI outlived Close (alive or a zombie not reaped)")
	close(release)
	assert.ErrorIs(t, <-loopErr, agent.ErrClosed)
}
