package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// controlScript reads the user turn, runs steps between the init line and
// a result, then waits for stdin to close, as the CLI does.
func controlScript(t *testing.T, steps ...fakecli.Step) fakecli.Script {
	s := fakecli.Script{fakecli.Record(filepath.Join(t.TempDir(), "rec.json")), fakecli.Line(fakecli.InitLine())}
	s = append(s, steps...)
	return append(s, fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.AwaitStdinEOF())
}

// The CLI's control requests go to their handlers, each answered once, off
// the reading path and never yielded: 1,000 round trips in one turn leave
// no goroutine behind.
func TestControlRoundTrips(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sum := filepath.Join(t.TempDir(), "sum.json")
	var calls atomic.Int64
	req := request(controlScript(t, fakecli.Control(1000, "hook_callback", sum)))
	req.Handlers = map[string]ControlHandler{
		protocol.ControlHookCallback: func(_ context.Context, r *protocol.ControlRequest) (any, error) {
			calls.Add(1)
			var body struct{ N int }
			if err := json.Unmarshal(r.Request, &body); err != nil {
				return nil, err
			}
			return map[string]int{"n": body.N}, nil
		},
	}
	msgs, errs := collect(t, testContext(t), req, fake(t))
	require.Empty(t, errs)
	assert.Equal(t, "system/init result", types(msgs), "control lines are never yielded")
	s, err := fakecli.ReadControlSummary(sum)
	require.NoError(t, err)
	assert.Equal(t, 1000, s.Answered)
	assert.Empty(t, s.Errors)
	assert.EqualValues(t, 1000, calls.Load())
}

// A request of a subtype without a handler, and one whose handler fails
// or panics, is answered with an error; the stream goes on.
func TestControlErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler ControlHandler
		want    string
	}{
		{"no handler", nil, `unsupported control request subtype "can_use_tool"`},
		{"handler fails", func(context.Context, *protocol.ControlRequest) (any, error) { return nil, errors.New("no way") }, "no way"},
		{"handler panics", func(context.Context, *protocol.ControlRequest) (any, error) { panic("handler bug") }, "handler bug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := filepath.Join(t.TempDir(), "sum.json")
			req := request(controlScript(t, fakecli.Control(1, "can_use_tool", sum)))
			if tc.handler != nil {
				req.Handlers = map[string]ControlHandler{protocol.ControlCanUseTool: tc.handler}
			}
			msgs, errs := collect(t, testContext(t), req, fake(t))
			require.Empty(t, errs)
			assert.Equal(t, "system/init result", types(msgs))
			s, err := fakecli.ReadControlSummary(sum)
			require.NoError(t, err)
			require.Equal(t, 1, s.Answered)
			assert.Contains(t, s.Errors["cli_1"], tc.want)
		})
	}
}

// A control response to nothing the host asked is dropped; the stream goes on.
func TestControlResponseToNothing(t *testing.T) {
	req := request(controlScript(t, fakecli.ControlRaw(`{"type":"control_response","response":{"subtype":"success","request_id":"req_999","response":{}}}`)))
	msgs, errs := collect(t, testContext(t), req, fake(t))
	require.Empty(t, errs)
	assert.Equal(t, "system/init result", types(msgs))
}

// A request the CLI withdraws ends its handler's context, and is never
// answered.
func TestControlCancel(t *testing.T) {
	sum := filepath.Join(t.TempDir(), "sum.json")
	cancelled := make(chan struct{})
	req := request(controlScript(t, fakecli.ControlCancel("can_use_tool"), fakecli.Control(1, "hook_callback", sum)))
	req.Handlers = map[string]ControlHandler{
		protocol.ControlCanUseTool: func(ctx context.Context, _ *protocol.ControlRequest) (any, error) {
			<-ctx.Done()
			close(cancelled)
			return map[string]string{"behavior": "allow"}, nil
		},
		protocol.ControlHookCallback: func(context.Context, *protocol.ControlRequest) (any, error) {
			<-cancelled // answered only once the withdrawn request's handler has returned
			return nil, nil
		},
	}
	_, errs := collect(t, testContext(t), req, fake(t))
	require.Empty(t, errs)
	s, err := fakecli.ReadControlSummary(sum)
	require.NoError(t, err)
	for _, line := range s.Stdin {
		assert.NotContains(t, line, "cli_cancel", "a withdrawn request was answered")
	}
}

// The host's control requests wait for their answers; when the CLI dies
// with one pending, it fails at once (here the controller's timeout is an
// hour), not when a timeout ends it.
func TestControlRequestPendingWhenTheCLIDies(t *testing.T) {
	got := make(chan error, 1)
	req := request(fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.AwaitControlRequest(), // past the user turn: the host's request has arrived, never answered
		fakecli.Exit(3),
	})
	req.OnStart = func(k *Controller) {
		go func() { got <- k.Interrupt(context.Background()) }()
	}
	opt := fake(t)
	opt.ControlTimeout = time.Hour
	_, errs := collect(t, testContext(t), req, opt)
	require.NotEmpty(t, errs)
	select {
	case err := <-got:
		assert.ErrorIs(t, err, ErrCLIEnded)
	case <-time.After(safetyNet):
		t.Fatal("the host's control request still waits for a CLI that is gone")
	}
}

// An initialize goes first; the user turn is written only once it is
// answered. A refused initialize stops the CLI and ends the stream with
// its error.
func TestInitializeBeforeTheTurn(t *testing.T) {
	dir := t.TempDir()
	init, rec := filepath.Join(dir, "init.json"), filepath.Join(dir, "rec.json")
	hooks := map[string]any{"PreToolUse": []any{map[string]any{"matcher": "Bash", "hookCallbackIds": []string{"hook_0"}}}}
	req := request(fakecli.Script{
		fakecli.Initialize("success", init), fakecli.Record(rec),
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.AwaitStdinEOF(),
	})
	req.Initialize = map[string]any{"hooks": hooks}
	msgs, errs := collect(t, testContext(t), req, fake(t))
	require.Empty(t, errs)
	assert.Equal(t, "system/init result", types(msgs))
	body, err := os.ReadFile(init)
	require.NoError(t, err)
	assert.JSONEq(t, `{"subtype":"initialize","hooks":{"PreToolUse":[{"matcher":"Bash","hookCallbackIds":["hook_0"]}]}}`, string(body))
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, "hi", r.Stdin, "the turn came after the initialize")

	req = request(fakecli.Script{fakecli.Initialize("error", init), fakecli.Hang()})
	req.Initialize = map[string]any{"hooks": hooks}
	_, errs = collect(t, testContext(t), req, fake(t))
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "initialize")
	assert.ErrorContains(t, errs[0], "bad hooks")
}

// A session's CLI that dies between turns, before its owner closed the
// input, ends the stream with its exit, not as a success; a turn or a
// request sent to it then is an error at once, not a hang or a SIGPIPE.
func TestSessionCLIDiesBetweenTurns(t *testing.T) {
	req := request(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.Exit(1)})
	req.Session = true
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	msgs, errs := collect(t, testContext(t), req, fake(t))
	assert.Equal(t, "system/init result", types(msgs))
	require.Len(t, errs, 1)
	var perr *protocol.ProcessError
	require.ErrorAs(t, errs[0], &perr)
	assert.Equal(t, 1, perr.ExitCode)
	require.NotNil(t, k)
	assert.ErrorIs(t, k.SendTurn(testContext(t), "anyone there?"), ErrStdinClosed)
	assert.ErrorIs(t, k.Interrupt(context.Background()), ErrCLIEnded)
}

// SendTurn belongs to sessions: a one-shot stream ends at its first result.
func TestSendTurnNeedsASession(t *testing.T) {
	req := request(fakecli.Success("ok", 0))
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	_, errs := collect(t, testContext(t), req, fake(t))
	require.Empty(t, errs)
	assert.ErrorIs(t, k.SendTurn(testContext(t), "more"), errNotSession)
}

// Breaking out of a session in the middle of a turn stops its CLI at once
// (stdin is open and it would go on working): it is not given the grace
// period a one-shot CLI gets after its result.
func TestBreakMidSessionStopsTheCLI(t *testing.T) {
	dir := t.TempDir()
	req := request(fakecli.Script{
		fakecli.Record(filepath.Join(dir, "one.json")), fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("one", 0)),
		fakecli.Record(filepath.Join(dir, "two.json")), fakecli.Line(fakecli.AssistantLine("working on two")), fakecli.Hang(),
	})
	req.Session = true
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	waitReaped := untilReaped(t, &req)
	opt := fake(t)
	opt.GracePeriod = time.Hour // only an immediate stop lets the test end
	for m, err := range Stream(testContext(t), req, opt) {
		require.NoError(t, err)
		if _, ok := m.(*protocol.ResultMessage); ok {
			require.NoError(t, k.SendTurn(testContext(t), "two"))
		}
		if _, ok := m.(*protocol.AssistantMessage); ok {
			break
		}
	}
	waitReaped()
}
