package agent_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/thejerf/suture/v4"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Under a real suture supervisor the client serves queries, and stopping the
// supervisor closes it: the running query ends with ErrClosed, its process
// is reaped, later queries are refused.
func TestServeUnderSuture(t *testing.T) {
	c, _ := newClient(t, nil)
	sup := suture.NewSimple("sdk")
	sup.Add(c)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stopped := sup.ServeBackground(ctx)

	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
	require.NoError(t, err)

	script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	running := start(t.Context(), c, play(script))
	require.Eventually(t, fileExists(record), 5*time.Second, time.Millisecond)

	cancel()
	assert.ErrorIs(t, <-stopped, context.Canceled)
	assert.ErrorIs(t, <-running, agent.ErrClosed)
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("late", 0)))
	assert.ErrorIs(t, err, agent.ErrClosed)
}

// Serve returns when the client is closed by someone else, and returns at
// once when called on a closed client.
func TestServeReturnsOnClose(t *testing.T) {
	c, _ := newClient(t, nil)
	served := make(chan error, 1)
	go func() { served <- c.Serve(t.Context()) }()
	require.NoError(t, c.Close())
	assert.ErrorIs(t, <-served, agent.ErrClosed)
	assert.ErrorIs(t, c.Serve(t.Context()), agent.ErrClosed)
}

// A client closed by someone else tells a suture supervisor not to restart
// it: the supervisor removes it after one Serve, instead of restarting it
// with backoff forever.
func TestServeOnClosedClientIsNotRestarted(t *testing.T) {
	c, _ := newClient(t, nil)
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Serve(t.Context()), suture.ErrDoNotRestart)

	var serves atomic.Int32
	sup := suture.New("sdk", suture.Spec{
		EventHook: func(ev suture.Event) {
			if _, ok := ev.(suture.EventServiceTerminate); ok {
				serves.Add(1)
			}
		},
	})
	sup.Add(c)
	ctx, cancel := context.WithCancel(t.Context())
	stopped := sup.ServeBackground(ctx)
	require.Eventually(t, func() bool {
		return len(sup.Services()) == 0 // the supervisor runs: nil only when empty
	}, 5*time.Second, time.Millisecond, "the supervisor keeps the closed client")
	cancel()
	assert.ErrorIs(t, <-stopped, context.Canceled)
	assert.Zero(t, serves.Load(), "the supervisor treated the closed client's end as a failure")
}
