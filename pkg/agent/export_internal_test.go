package agent

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// An internal error wrapped deeper becomes a wrapper with the same text
// that errors.As finds the agent form in, first, and errors.Is still finds
// every sentinel of the original chain in.
func TestExportErrorWrappedDeeper(t *testing.T) {
	inner := &protocol.ProcessError{ExitCode: -1, Signal: "terminated"}
	orig := fmt.Errorf("%w after %v: %w", orchestrator.ErrQueryTimeout, time.Second, fmt.Errorf("ctx: %w", inner))
	err := exportError(orig)
	assert.Equal(t, orig.Error(), err.Error())
	assert.IsType(t, &wrappedError{}, err)
	var pe *ProcessError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, ProcessError{ExitCode: -1, Signal: "terminated"}, *pe)
	assert.ErrorIs(t, err, ErrQueryTimeout)
	u := err.(interface{ Unwrap() []error }).Unwrap()
	require.Len(t, u, 2)
	assert.Same(t, pe, u[0], "the agent form first")
	assert.Same(t, orig, u[1], "the original second")
}

// Errors without internal types are returned as they are; an internal
// type without an agent form is still wrapped, with the same text.
func TestExportErrorLeavesOthers(t *testing.T) {
	assert.Nil(t, exportError(nil))
	for _, err := range []error{errors.New("x"), fmt.Errorf("%w: bad", ErrInvalidRequest), ErrClosed} {
		assert.Same(t, err, exportError(err))
	}
	orig := &limiter.PanicError{Value: "boom"}
	err := exportError(orig)
	assert.IsType(t, &wrappedError{}, err)
	assert.Equal(t, orig.Error(), err.Error())
	assert.ErrorIs(t, err, orig)
}

// Each agent error has its internal twin's text and chain.
func TestExportedErrorTexts(t *testing.T) {
	for _, orig := range []error{
		&orchestrator.RejectedError{Err: orchestrator.ErrRateLimited, Limit: "hour", RetryAfter: time.Second},
		&orchestrator.RejectedError{Err: orchestrator.ErrCircuitOpen, Limit: "circuit"},
		&orchestrator.BudgetError{CapUSD: 0.5, SpentUSD: 0.75},
		&protocol.ProcessError{ExitCode: 2, Stderr: "a\nlast words\n"},
		&protocol.APIError{Status: 400, Subtype: "success", Message: "API Error: 400 bad"},
		&protocol.DecodeError{Excerpt: "{x", Err: errors.New("bad json")},
		&protocol.LineTooLongError{Limit: 10},
	} {
		err := exportError(orig)
		assert.Equal(t, orig.Error(), err.Error(), "%T", orig)
		assert.NotSame(t, orig, err)
	}
	got := exportOne(&orchestrator.RejectedError{Err: ErrRateLimited, Limit: "hour", RetryAfter: time.Second})
	assert.Equal(t, &RejectedError{Err: ErrRateLimited, Limit: LimitHour, RetryAfter: time.Second}, got)
}

// Every limit the orchestrator names has its Limit, whose String is that
// name.
func TestLimitNames(t *testing.T) {
	names := []string{"circuit", "queue", "closed"}
	for r := limiter.ReasonMinute; r <= limiter.ReasonPaused; r++ {
		names = append(names, r.String())
	}
	for _, name := range names {
		l := limitNamed(name)
		assert.NotEqual(t, LimitNone, l, name)
		assert.Equal(t, name, l.String())
	}
	assert.Equal(t, "none", LimitNone.String())
	assert.Equal(t, "Limit(99)", Limit(99).String())
}

// The breaker's states and outcomes map onto the agent's, by meaning and
// by name.
func TestStatesAndOutcomes(t *testing.T) {
	for _, s := range []breaker.State{breaker.StateClosed, breaker.StateOpen, breaker.StateHalfOpen} {
		assert.Equal(t, s.String(), exportState(s).String())
	}
	for _, o := range []breaker.Outcome{breaker.Success, breaker.Failure, breaker.Ignored} {
		assert.Equal(t, o.String(), exportOutcome(o).String())
		assert.Equal(t, o, importOutcome(exportOutcome(o)))
	}
}

// DefaultClassify reads the agent forms: a 529 the caller built is a
// failure, a 429 is ignored, a clean result a success.
func TestDefaultClassifyOnAgentTypes(t *testing.T) {
	assert.Equal(t, OutcomeFailure, DefaultClassify(nil, &APIError{Status: 529}))
	assert.Equal(t, OutcomeIgnored, DefaultClassify(nil, fmt.Errorf("x: %w", &APIError{Status: 429})))
	assert.Equal(t, OutcomeSuccess, DefaultClassify(&ResultMessage{Subtype: "success"}, nil))
	assert.Equal(t, OutcomeIgnored, DefaultClassify(&ResultMessage{IsError: true, APIErrorStatus: 429}, nil))
}

// BenchmarkExportMessage is the boundary's cost per message, beside
// decoding it: an assistant message of two blocks, and a result.
func BenchmarkExportMessage(b *testing.B) {
	lines := map[string]string{
		"assistant": `{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"tu1","name":"Bash","input":{"command":"ls"}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}},"session_id":"s1","uuid":"a1"}`,
		"result":    `{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"done","session_id":"s1","total_cost_usd":0.25,"usage":{"output_tokens":9},"modelUsage":{"claude-sonnet-4-5":{"outputTokens":9,"costUSD":0.25}}}`,
	}
	for name, line := range lines {
		msg, err := protocol.Decode([]byte(line))
		require.NoError(b, err)
		b.Run(name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := protocol.Decode([]byte(line)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/export", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if exportMessage(msg) == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}
