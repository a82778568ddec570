package agent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// assertAgentType asserts that v's dynamic type is defined in package agent.
func assertAgentType(t *testing.T, v any) {
	t.Helper()
	name := fmt.Sprintf("%T", v)
	assert.True(t, strings.HasPrefix(name, "*agent.") || strings.HasPrefix(name, "agent."), "%s is not a type of package agent", name)
}

// Every message and content block a query yields is of a type of package
// agent, with its fields and its raw line.
func TestMessagesAreAgentTypes(t *testing.T) {
	c, _ := newClient(t, nil)
	const (
		system    = `{"type":"system","subtype":"status","status":"thinking","session_id":"s1"}`
		assistant = `{"type":"assistant","message":{"id":"msg_1","model":"m","content":[{"type":"text","text":"hi"},{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"tool_use","id":"tu1","name":"Bash","input":{"command":"ls"}},{"type":"image","source":{}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}},"session_id":"s1","uuid":"a1"}`
		user      = `{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"ok","is_error":true}]},"session_id":"s1","tool_use_result":{"stdout":"ok"}}`
		unknown   = `{"type":"future_thing","x":1}`
		result    = `{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"done","session_id":"s1","total_cost_usd":0.25,"usage":{"output_tokens":9},"modelUsage":{"m":{"outputTokens":9,"costUSD":0.25}},"terminal_reason":"completed","structured_output":{"answer":42}}`
	)
	stream := fakecli.StreamEventLine(fakecli.TextDeltaEvent("hi"))
	var msgs []agent.Message
	for msg, err := range c.Query(t.Context(), "prompt", agent.WithPartialMessages(), play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Retry429(1), fakecli.Line(system),
		fakecli.Line(stream), fakecli.Line(assistant), fakecli.Line(user),
		fakecli.RateLimitRejected(time.Unix(2e9, 0)), fakecli.Line(unknown), fakecli.Line(result), fakecli.Exit(0),
	})) {
		require.NoError(t, err)
		msgs = append(msgs, msg)
	}
	require.Len(t, msgs, 9)
	for _, m := range msgs {
		assertAgentType(t, m)
		assert.True(t, json.Valid(m.Raw()), "raw line of %T", m)
	}

	init := msgs[0].(*agent.SystemMessage)
	require.NotNil(t, init.Init)
	assert.Equal(t, fakecli.InitLine(), string(init.Raw()))
	assert.NotEmpty(t, init.Init.Model)
	retry := msgs[1].(*agent.SystemMessage).APIRetry
	require.NotNil(t, retry)
	assert.Equal(t, 429, retry.ErrorStatus)
	assert.Equal(t, time.Millisecond, retry.RetryDelay())
	assert.Equal(t, "thinking", msgs[2].(*agent.SystemMessage).Data["status"])
	assert.JSONEq(t, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`, string(msgs[3].(*agent.StreamEvent).Event))

	a := msgs[4].(*agent.AssistantMessage)
	assert.Equal(t, assistant, string(a.Raw()))
	assert.Equal(t, []agent.ContentBlock{
		&agent.TextBlock{Text: "hi"},
		&agent.ThinkingBlock{Thinking: "hm", Signature: "sig"},
		&agent.ToolUseBlock{ID: "tu1", Name: "Bash", Input: json.RawMessage(`{"command":"ls"}`)},
		&agent.UnknownBlock{TypeName: "image", Raw: json.RawMessage(`{"type":"image","source":{}}`)},
	}, a.Content)
	assert.Equal(t, agent.Usage{InputTokens: 3, OutputTokens: 4}, a.Usage)
	u := msgs[5].(*agent.UserMessage)
	assert.Equal(t, []agent.ContentBlock{&agent.ToolResultBlock{ToolUseID: "tu1", Content: json.RawMessage(`"ok"`), IsError: true}}, u.Content)
	assert.JSONEq(t, `{"stdout":"ok"}`, string(u.ToolUseResult))
	for _, b := range append(a.Content, u.Content...) {
		assertAgentType(t, b)
	}
	assert.Equal(t, "rejected", msgs[6].(*agent.RateLimitEvent).Status)
	assert.Equal(t, "future_thing", msgs[7].(*agent.UnknownMessage).Type())

	r := msgs[8].(*agent.ResultMessage)
	assert.Equal(t, "done", r.Result)
	assert.Equal(t, 2, r.NumTurns)
	assert.True(t, r.CostKnown)
	assert.InDelta(t, 0.25, r.TotalCostUSD, 1e-12)
	assert.InDelta(t, 0.25, r.TurnCostUSD, 1e-12)
	assert.Equal(t, map[string]agent.ModelUsage{"m": {OutputTokens: 9, CostUSD: 0.25}}, r.ModelUsage)
	assert.JSONEq(t, `{"answer":42}`, string(r.StructuredOutput))
}

// Every error type a query can end with is package agent's, found by
// errors.As, and matches its sentinels; so is Run's result.
func TestErrorsAreAgentTypes(t *testing.T) {
	tests := map[string]struct {
		edit   func(*agent.Config)
		script fakecli.Script
		first  fakecli.Script // run before, to set the guards up
		// queryOnly: Run returns another error (a malformed line explains
		// a run's end only when nothing else does)
		queryOnly bool
		check     func(t *testing.T, err error)
	}{
		"RejectedError": {
			edit:  func(c *agent.Config) { c.RateLimit.QueriesPerMinute, c.RateLimit.MaxWait = 1, time.Second },
			first: fakecli.Success("ok", 0),
			check: func(t *testing.T, err error) {
				var e *agent.RejectedError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, agent.LimitMinute, e.Limit)
				assert.Equal(t, "minute", e.Limit.String())
				assert.Equal(t, time.Minute, e.RetryAfter)
				assert.ErrorIs(t, err, agent.ErrRateLimited)
				assert.Equal(t, "agent: rate limited (minute): retry after 1m0s", err.Error())
			},
		},
		"BudgetError": {
			edit: func(c *agent.Config) { c.RateLimit.QueryBudget = 0.01 },
			script: fakecli.Script{
				fakecli.Line(fakecli.InitLine()),
				fakecli.Line(fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_1", "claude-sonnet-4-5", 1_000_000))),
				fakecli.Hang(),
			},
			check: func(t *testing.T, err error) {
				var e *agent.BudgetError
				require.ErrorAs(t, err, &e)
				assert.InDelta(t, 0.01, e.CapUSD, 1e-9)
				assert.Greater(t, e.SpentUSD, e.CapUSD)
				assert.ErrorIs(t, err, agent.ErrBudgetExhausted)
			},
		},
		"ProcessError": {
			script: fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Stderr("boom\n"), fakecli.Exit(3)},
			check: func(t *testing.T, err error) {
				var e *agent.ProcessError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, 3, e.ExitCode)
				assert.Equal(t, "agent: claude CLI exited with code 3: boom", err.Error())
			},
		},
		"APIError": {
			script: fakecli.APIErrorResult(529, "API Error: 529 Overloaded"),
			check: func(t *testing.T, err error) {
				var e *agent.APIError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, 529, e.Status)
				assert.Equal(t, "agent: claude run failed with API status 529: API Error: 529 Overloaded", err.Error())
			},
		},
		"DecodeError": {
			queryOnly: true,
			script:    fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Line(`{"type":"result",`), fakecli.Exit(0)},
			check: func(t *testing.T, err error) {
				var e *agent.DecodeError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, `{"type":"result",`, e.Excerpt)
				assert.Error(t, e.Err)
			},
		},
		"LineTooLongError": {
			edit:   func(c *agent.Config) { c.MaxLineBytes = 100 },
			script: fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Exit(0)},
			check: func(t *testing.T, err error) {
				var e *agent.LineTooLongError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, 100, e.Limit)
			},
		},
		"wrapped APIError": { // the orchestrator's authentication error wraps the CLI's
			script: fakecli.NotLoggedIn(),
			check: func(t *testing.T, err error) {
				var e *agent.APIError
				require.ErrorAs(t, err, &e)
				assert.Contains(t, e.Message, "Not logged in")
				assert.ErrorIs(t, err, agent.ErrAuthentication)
				assert.True(t, strings.HasPrefix(err.Error(), "agent: authentication failed"), err.Error())
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, tt.edit)
			if tt.first != nil {
				_, err := c.Run(t.Context(), "prompt", play(tt.first))
				require.NoError(t, err)
			}
			var errs []error
			for msg, err := range c.Query(t.Context(), "prompt", play(tt.script)) {
				if msg != nil {
					assertAgentType(t, msg)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			require.NotEmpty(t, errs)
			for _, err := range errs {
				assertAgentType(t, err)
			}
			tt.check(t, errs[0])

			if tt.first != nil || tt.queryOnly {
				return
			}
			_, err := c.Run(t.Context(), "prompt", play(tt.script))
			require.Error(t, err)
			assertAgentType(t, err)
			tt.check(t, err)
		})
	}
}

// Config.Classify gets the result and the error in package agent's types;
// Stats reports in them too.
func TestClassifyAndStatsAreAgentTypes(t *testing.T) {
	var got []any
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.Classify = func(r *agent.ResultMessage, err error) agent.Outcome {
			got = append(got, r, err) // Run returns only once Classify has answered
			return agent.DefaultClassify(r, err)
		}
	})
	_, err := c.Run(t.Context(), "prompt", play(fakecli.APIErrorResult(529, "API Error: 529 Overloaded")))
	require.Error(t, err)
	require.Len(t, got, 2)
	require.NotNil(t, got[0])
	assert.Equal(t, "API Error: 529 Overloaded", got[0].(*agent.ResultMessage).Result)
	var apiErr *agent.APIError
	require.ErrorAs(t, got[1].(error), &apiErr)
	assertAgentType(t, got[1])

	s := c.Stats()
	assert.Equal(t, agent.StateClosed, s.Breaker.State)
	assert.EqualValues(t, 1, s.Breaker.Counts.Failures, "DefaultClassify on the agent forms: a 529 is a failure")
	assert.EqualValues(t, 1, s.Limiter.Admitted)
}
