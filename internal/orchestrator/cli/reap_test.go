package cli

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
)

// An early break returns at once, even from a CLI that ignores SIGTERM:
// the CLI is stopped in the background, and Reaped comes once it is gone.
func TestStreamEarlyBreakReturnsBeforeTheCLIIsGone(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	opt := fake(t)
	opt.GracePeriod = time.Hour // SIGKILL comes from this test, not the grace period
	req := request(fakecli.Script{fakecli.IgnoreSIGTERM(), fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	reapedCh := make(chan struct{})
	req.Reaped = func() { close(reapedCh) }

	returned := make(chan struct{})
	go func() { // the safety net of a regression: the loop would block for an hour
		select {
		case <-returned:
		case <-time.After(safetyNet):
			if r, err := fakecli.ReadRecording(rec); err == nil {
				killPid(r.Pid) //nolint:errcheck // best effort
			}
		}
	}()
	for range Stream(testContext(t), req, opt) {
		break
	}
	close(returned)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.False(t, dead(r.Pid), "the loop returned while the CLI ignoring SIGTERM still runs")
	select {
	case <-reapedCh:
		t.Fatal("Reaped before the CLI is gone")
	default:
	}

	require.NoError(t, killPid(r.Pid))
	select {
	case <-reapedCh:
	case <-time.After(safetyNet):
		t.Fatal("Reaped never called")
	}
	assert.True(t, reaped(r.Pid), "Reaped comes after the CLI is reaped")
}

// Reaped is called exactly once however the stream ends; at its natural
// end, before the iterator returns.
func TestStreamReapedOnce(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		req     Request
		path    string
		body    func() bool // false: break
		natural bool        // Reaped before the iterator returns
	}{
		{name: "success", req: request(fakecli.Success("ok", 0)), natural: true},
		{name: "error result", req: request(fakecli.APIErrorResult(529)), natural: true},
		{name: "exit without result", req: request(fakecli.Script{fakecli.Exit(3)}), natural: true},
		{name: "invalid request", req: Request{MaxTurns: -1}, natural: true},
		{name: "no CLI", req: request(nil), path: "/nonexistent/claude", natural: true},
		{name: "ctx done before start", ctx: cancelled, req: request(nil), natural: true},
		{name: "early break", req: request(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()}), body: func() bool { return false }},
		{name: "break at the result", req: request(fakecli.Script{fakecli.Line(fakecli.ResultLine("x", 0)), fakecli.Hang()}), body: func() bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			done := make(chan struct{})
			tt.req.Reaped = func() {
				if calls.Add(1) == 1 {
					close(done)
				}
			}
			ctx := cmpCtx(tt.ctx, testContext(t))
			opt := fake(t)
			if tt.path != "" {
				opt.Path = tt.path
			}
			for range Stream(ctx, tt.req, opt) {
				if tt.body != nil && !tt.body() {
					break
				}
			}
			if tt.natural {
				assert.EqualValues(t, 1, calls.Load(), "Reaped before the iterator returned")
			}
			select {
			case <-done:
			case <-time.After(safetyNet):
				t.Fatal("Reaped never called")
			}
			assert.EqualValues(t, 1, calls.Load())
		})
	}
}

func cmpCtx(a, b context.Context) context.Context {
	if a != nil {
		return a
	}
	return b
}

// A panic in the loop body still stops and reaps the CLI.
func TestStreamPanicInLoopBodyReaps(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	req := request(fakecli.Script{fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	waitReaped := untilReaped(t, &req)
	assert.PanicsWithValue(t, "caller bug", func() {
		for range Stream(testContext(t), req, fake(t)) {
			panic("caller bug")
		}
	})
	waitReaped()
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}
