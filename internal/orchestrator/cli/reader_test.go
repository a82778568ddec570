package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// A control request made from inside the stream's loop body gets its
// answer there: the reader of stdout routes it while the body runs (with
// the answer read by the consumer's own goroutine, it would wait for an
// hour).
func TestControlRequestFromTheLoopBody(t *testing.T) {
	req := request(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.AssistantLine("working")),
		fakecli.AnswerControlRequest(),
		fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.AwaitStdinEOF(),
	})
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	opt := fake(t)
	opt.ControlTimeout = time.Hour
	var msgs []protocol.Message
	for m, err := range Stream(testContext(t), req, opt) {
		require.NoError(t, err)
		msgs = append(msgs, m)
		if _, ok := m.(*protocol.AssistantMessage); ok {
			require.NoError(t, k.Interrupt(testContext(t)), "answered while the body runs")
		}
	}
	assert.Equal(t, "system/init assistant result", types(msgs))
}

// An answer the CLI writes just before it exits reaches the request: the
// host's requests fail only once every line of the CLI's has been read.
func TestControlAnswerJustBeforeExit(t *testing.T) {
	got := make(chan error, 1)
	req := request(fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.AnswerControlRequest(),
		fakecli.Exit(0),
	})
	req.OnStart = func(k *Controller) {
		go func() { got <- k.Interrupt(context.Background()) }()
	}
	opt := fake(t)
	opt.ControlTimeout = time.Hour
	_, errs := collect(t, testContext(t), req, opt)
	require.Len(t, errs, 1, "no result: the exit is the error")
	select {
	case err := <-got:
		assert.NoError(t, err)
	case <-time.After(safetyNet):
		t.Fatal("the request still waits")
	}
}

// The host's request is bounded by its context even when stdin is stuck
// behind a long turn that a CLI does not read: the writer owns stdin, and
// a request waits for it no longer than its context allows.
func TestControlRequestNotStuckBehindAWrite(t *testing.T) {
	if !fakecli.StdinBytesSupported {
		t.Skip("AwaitStdinBytes needs linux")
	}
	req := request(fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.AwaitStdinBytes(32 << 10), // the pipe fills: the turn's write blocks
		fakecli.Line(fakecli.AssistantLine("stdin is full")),
		fakecli.Hang(),
	})
	req.Prompt = strings.Repeat("x", 4<<20)
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	opt := fake(t)
	opt.ControlTimeout = time.Hour
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	for m, err := range Stream(ctx, req, opt) {
		require.NoError(t, err)
		if _, ok := m.(*protocol.AssistantMessage); !ok {
			continue
		}
		rctx, rcancel := context.WithCancel(testContext(t))
		done := make(chan error, 1)
		go func() { done <- k.Interrupt(rctx) }()
		rcancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(safetyNet):
			t.Fatal("the request waits for the stuck write, not for its context")
		}
		break
	}
}

// The idle timeout counts the CLI's silence only: not a session's wait
// between turns, nor the time a control handler takes.
func TestIdleTimeoutHolds(t *testing.T) {
	t.Run("a session between turns", func(t *testing.T) {
		mock := clock.NewMock()
		opt := fake(t)
		opt.Clock, opt.IdleTimeout = mock, time.Minute
		dir := t.TempDir()
		req := request(fakecli.Script{
			fakecli.Record(dir + "/one.json"), fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("one", 0)),
			fakecli.Record(dir + "/two.json"), fakecli.Line(fakecli.ResultLine("two", 0)), fakecli.AwaitStdinEOF(),
		})
		req.Session = true
		var k *Controller
		req.OnStart = func(c *Controller) { k = c }
		var results []string
		for m, err := range Stream(testContext(t), req, opt) {
			require.NoError(t, err)
			if r, ok := m.(*protocol.ResultMessage); ok {
				results = append(results, r.Result)
				if len(results) == 2 {
					k.CloseInput()
					continue
				}
				go func() { // after the body: the session then waits
					awaitHolds(t, k.c.idle, 1)
					mock.Add(time.Hour)
					assert.NoError(t, k.SendTurn(testContext(t), "two"))
				}()
			}
		}
		assert.Equal(t, []string{"one", "two"}, results)
	})
	t.Run("a control handler", func(t *testing.T) {
		mock := clock.NewMock()
		opt := fake(t)
		opt.Clock, opt.IdleTimeout = mock, time.Minute
		req := request(controlScript(t, fakecli.Control(1, protocol.ControlHookCallback, t.TempDir()+"/sum.json")))
		req.Handlers = map[string]ControlHandler{
			protocol.ControlHookCallback: func(context.Context, *protocol.ControlRequest) (any, error) {
				mock.Add(time.Hour) // a slow handler
				return nil, nil
			},
		}
		msgs, errs := collect(t, testContext(t), req, opt)
		assert.Empty(t, errs)
		assert.Equal(t, "system/init result", types(msgs))
	})
}

// awaitHolds waits until w has n holds (the consumer is out of its loop
// body and the reader waits for the CLI).
func awaitHolds(t *testing.T, w *watchdog, n int) {
	t.Helper()
	deadline := time.Now().Add(safetyNet)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		h := w.holds
		w.mu.Unlock()
		if h == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the watchdog never had %d holds", n)
}
