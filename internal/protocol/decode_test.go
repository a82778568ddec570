package protocol

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRealRun(t *testing.T) {
	lines := realLines(t)

	m, err := Decode(lines[0])
	require.NoError(t, err)
	sys, ok := m.(*SystemMessage)
	require.True(t, ok, "%T", m)
	assert.Equal(t, "system", sys.Type())
	assert.Equal(t, "init", sys.Subtype)
	assert.Equal(t, "7571408c-a1a5-4702-97a2-1992ea759e16", sys.SessionID)
	require.NotNil(t, sys.Init)
	assert.Nil(t, sys.APIRetry)
	assert.Nil(t, sys.Data)
	assert.Equal(t, "/tmp", sys.Init.CWD)
	assert.Equal(t, "2.1.197", sys.Init.ClaudeCodeVersion)
	assert.Equal(t, "default", sys.Init.PermissionMode)
	assert.Equal(t, "ANTHROPIC_API_KEY", sys.Init.APIKeySource)
	assert.Contains(t, sys.Init.Tools, "Bash")
	assert.NotEmpty(t, sys.Init.Model)
	assert.Contains(t, sys.Init.Agents, "Explore")

	m, err = Decode(lines[1])
	require.NoError(t, err)
	sys, ok = m.(*SystemMessage)
	require.True(t, ok, "%T", m)
	assert.Equal(t, "status", sys.Subtype)
	assert.Nil(t, sys.Init)
	assert.Equal(t, "requesting", sys.Data["status"])

	m, err = Decode(lines[2])
	require.NoError(t, err)
	as, ok := m.(*AssistantMessage)
	require.True(t, ok, "%T", m)
	assert.Equal(t, "<synthetic>", as.Model)
	assert.Equal(t, "server_error", as.Error)
	assert.Equal(t, "stop_sequence", as.StopReason)
	assert.Equal(t, []ContentBlock{&TextBlock{Text: "API Error: Unable to connect to API (ConnectionRefused)"}}, as.Content)

	m, err = Decode(lines[3])
	require.NoError(t, err)
	res, ok := m.(*ResultMessage)
	require.True(t, ok, "%T", m)
	assert.Equal(t, "success", res.Subtype)
	assert.True(t, res.IsError)
	assert.Equal(t, 0, res.APIErrorStatus)
	assert.Equal(t, int64(105), res.DurationMS)
	assert.Equal(t, 1, res.NumTurns)
	assert.Equal(t, "completed", res.TerminalReason)
	assert.Equal(t, "standard", res.Usage.ServiceTier)
	assert.Empty(t, res.ModelUsage)
}

func TestDecodeKinds(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Message
	}{
		{"assistant text and tool_use", lineAssistantToolUse, &AssistantMessage{
			ID: "msg_01", Model: "claude-sonnet-4-5", StopReason: "tool_use",
			Content: []ContentBlock{
				&TextBlock{Text: "Let me list the files."},
				&ToolUseBlock{ID: "toolu_01", Name: "Bash", Input: json.RawMessage(`{"command":"ls -la","description":"List files"}`)},
			},
			Usage:     Usage{InputTokens: 12, CacheReadInputTokens: 2048, OutputTokens: 61, ServiceTier: "standard"},
			SessionID: "7571408c-a1a5-4702-97a2-1992ea759e16", UUID: "a1",
		}},
		{"assistant thinking and unknown block", lineAssistantThinking, &AssistantMessage{
			ID: "msg_02", Model: "claude-sonnet-4-5",
			Content: []ContentBlock{
				&ThinkingBlock{Thinking: "The user wants a list.", Signature: "sig=="},
				&UnknownBlock{TypeName: "server_tool_use", Raw: json.RawMessage(`{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"go"}}`)},
			},
			Usage:     Usage{InputTokens: 3, OutputTokens: 9},
			SessionID: "s1", UUID: "a2", ParentToolUseID: "toolu_00",
		}},
		{"user tool_result string", lineUserToolResult, &UserMessage{
			Content:   []ContentBlock{&ToolResultBlock{ToolUseID: "toolu_01", Content: json.RawMessage(`"total 8\ndrwxr-xr-x 2 root root 4096 .\n"`)}},
			SessionID: "7571408c-a1a5-4702-97a2-1992ea759e16", UUID: "u1",
			ToolUseResult: json.RawMessage(`{"stdout":"total 8\n","stderr":"","interrupted":false,"isImage":false}`),
		}},
		{"user tool_result list", lineUserToolResultList, &UserMessage{
			Content:   []ContentBlock{&ToolResultBlock{ToolUseID: "toolu_02", Content: json.RawMessage(`[{"type":"text","text":"no such file"}]`), IsError: true}},
			SessionID: "s1",
		}},
		{"user plain text", lineUserText, &UserMessage{
			Content: []ContentBlock{&TextBlock{Text: "hi"}}, SessionID: "s1",
		}},
		{"result success", lineResultSuccess, &ResultMessage{
			Subtype: "success", DurationMS: 2312, DurationAPIMS: 2101, NumTurns: 2,
			Result: "Here are the files.", StopReason: "end_turn", TerminalReason: "completed",
			SessionID: "7571408c-a1a5-4702-97a2-1992ea759e16", UUID: "r1", TotalCostUSD: 0.00021, CostKnown: true,
			Usage: Usage{InputTokens: 15, CacheReadInputTokens: 2048, OutputTokens: 70, ServiceTier: "standard"},
			ModelUsage: map[string]ModelUsage{"claude-sonnet-4-5": {
				InputTokens: 15, OutputTokens: 70, CacheReadInputTokens: 2048, CostUSD: 0.00021, ContextWindow: 200000, MaxOutputTokens: 32000,
			}},
		}},
		{"result API error 529", lineResult529, &ResultMessage{
			Subtype: "success", IsError: true, APIErrorStatus: 529, DurationMS: 31000, DurationAPIMS: 30500,
			NumTurns: 1, Result: "API Error: 529 Overloaded", SessionID: "s1", TerminalReason: "completed", CostKnown: true,
		}},
		{"result with structured_output", `{"type":"result","subtype":"success","result":"{}","structured_output":{"answer":42}}`, &ResultMessage{
			Subtype: "success", Result: "{}", StructuredOutput: json.RawMessage(`{"answer":42}`),
		}},
		{"api_retry 429", lineAPIRetry, &SystemMessage{
			Subtype: "api_retry", SessionID: "s1", UUID: "x1",
			APIRetry: &APIRetry{Attempt: 1, MaxRetries: 10, RetryDelayMS: 7000, ErrorStatus: 429, Error: "rate_limit"},
		}},
		{"api_retry without status, fractional delay", lineAPIRetryConn, &SystemMessage{
			Subtype: "api_retry", SessionID: "s1",
			APIRetry: &APIRetry{Attempt: 2, MaxRetries: 10, RetryDelayMS: 1234, Error: "unknown"},
		}},
		{"rate_limit_event", lineRateLimit, &RateLimitEvent{
			Status: "rejected", ResetsAt: time.Unix(1771390800, 0), RateLimitType: "five_hour", Utilization: 0.97,
			OverageStatus: "rejected", OverageDisabledReason: "org_level_disabled", SessionID: "1ae0af5b", UUID: "76258cfb",
		}},
		{"stream_event", lineStreamEvent, &StreamEvent{
			Event:     json.RawMessage(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`),
			SessionID: "s1", UUID: "e1",
		}},
		{"unknown type", lineUnknown, &UnknownMessage{TypeName: "future_thing"}},
		{"no type", `{"hello":"world"}`, &UnknownMessage{}},
		{"escaped type key", `{"typ\u0065":"result","subtype":"success","num_turns":3}`, &ResultMessage{Subtype: "success", NumTurns: 3}},
		{"type not first", `{"session_id":"s9","nested":{"type":"user"},"type":"stream_event","event":{}}`, &StreamEvent{Event: json.RawMessage(`{}`), SessionID: "s9"}},
		{"system subtype with foreign field types", `{"type":"system","subtype":"hook_started","model":{"a":1},"error":[1],"session_id":"s1"}`, &SystemMessage{
			Subtype: "hook_started", SessionID: "s1",
			Data: map[string]any{"type": "system", "subtype": "hook_started", "model": map[string]any{"a": 1.0}, "error": []any{1.0}, "session_id": "s1"},
		}},
		{"unknown type with foreign field types", `{"type":"x","message":"str","usage":7}`, &UnknownMessage{TypeName: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(tt.line)
			got, err := Decode(line)
			require.NoError(t, err)
			assert.Equal(t, tt.line, string(got.Raw()))
			setRaw(tt.want, got.Raw())
			assert.Equal(t, tt.want, got)
		})
	}
}

// setRaw gives want the raw line of got, to compare the rest.
func setRaw(m Message, line []byte) {
	switch m := m.(type) {
	case *SystemMessage:
		m.line = line
	case *AssistantMessage:
		m.line = line
	case *UserMessage:
		m.line = line
	case *ResultMessage:
		m.line = line
	case *RateLimitEvent:
		m.line = line
	case *StreamEvent:
		m.line = line
	case *UnknownMessage:
		m.line = line
	}
}

func TestDecodeOwnsRaw(t *testing.T) {
	line := []byte(lineAssistantThinking)
	m, err := Decode(line)
	require.NoError(t, err)
	for i := range line {
		line[i] = 'X'
	}
	assert.Equal(t, lineAssistantThinking, string(m.Raw()))
	unknown := m.(*AssistantMessage).Content[1].(*UnknownBlock)
	assert.Equal(t, "server_tool_use", unknown.BlockType())
	assert.Contains(t, string(unknown.Raw), `"srvtoolu_01"`)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"truncated object", `{"type":"assistant","message":{"content":[`},
		{"garbage after type", `{"type":"future", oops}`},
		{"not an object", `[1,2]`},
		{"empty", ``},
		{"known type, wrong field type", `{"type":"result","is_error":"yes"}`},
		{"init with wrong field type", `{"type":"system","subtype":"init","tools":"Bash"}`},
		{"block with wrong field type", `{"type":"assistant","message":{"content":[{"type":"text","text":5}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.line))
			assert.Nil(t, m)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.line, de.Excerpt)
			assert.True(t, strings.HasPrefix(err.Error(), "agent: malformed message line"), err.Error())
			assert.NotNil(t, errors.Unwrap(err))
		})
	}
}

func TestDecodeErrorExcerptIsShort(t *testing.T) {
	line := `{"type":"assistant","message":` + strings.Repeat("é", 1000)
	_, err := Decode([]byte(line))
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.LessOrEqual(t, len(de.Excerpt), excerptLen+3)
	assert.True(t, strings.HasSuffix(de.Excerpt, "..."))
	assert.True(t, strings.HasPrefix(line, strings.TrimSuffix(de.Excerpt, "...")), "cut on a rune boundary")
}

func TestTopLevelType(t *testing.T) {
	tests := []struct {
		line string
		typ  string
		ok   bool
	}{
		{`{"type":"user"}`, "user", true},
		{` { "a" : "type" , "type" : "x" }`, "x", true},
		{`{"a":{"type":"inner"},"b":["type",{"type":1}],"type":"outer"}`, "outer", true},
		{`{"a":"q\"type\":\"no","type":"yes"}`, "yes", true},
		{`{"type":"a\"b"}`, "", false},
		{`{"type":5}`, "", false},
		{`{"a":1}`, "", false},
		{`{"type":"unterminated`, "", false},
		{`}{"type":"x"}`, "", false},
	}
	for _, tt := range tests {
		typ, ok := topLevelType([]byte(tt.line))
		assert.Equal(t, tt.ok, ok, tt.line)
		assert.Equal(t, tt.typ, typ, tt.line)
	}
}

func TestErrorTexts(t *testing.T) {
	assert.Contains(t, ErrCLINotFound.Error(), "npm install -g @anthropic-ai/claude-code")
	assert.Equal(t, "agent: claude CLI exited with code 1: boom",
		(&ProcessError{ExitCode: 1, Stderr: "warming up\nboom\n\n"}).Error())
	assert.Equal(t, "agent: claude CLI killed by signal: killed",
		(&ProcessError{ExitCode: -1, Signal: "killed"}).Error())
	assert.Equal(t, "agent: claude CLI exited with code 0 without a result",
		(&ProcessError{}).Error())
	assert.Equal(t, "agent: claude run failed with API status 529: API Error: 529 Overloaded",
		(&APIError{Status: 529, Subtype: "success", Message: "API Error: 529 Overloaded"}).Error())
	assert.Equal(t, "agent: claude run failed: API Error: Unable to connect to API (ECONNRESET)",
		(&APIError{Subtype: "success", Message: "API Error: Unable to connect to API (ECONNRESET)"}).Error(),
		"the CLI's subtype success (sic) is not shown")
	assert.Equal(t, "agent: claude run failed (error_max_budget_usd)",
		(&APIError{Subtype: "error_max_budget_usd"}).Error())
	assert.Equal(t, "agent: claude CLI output line longer than 10 bytes", (&LineTooLongError{Limit: 10}).Error())
}

func TestRetryDelay(t *testing.T) {
	assert.Equal(t, 7*time.Second, (&APIRetry{RetryDelayMS: 7000}).RetryDelay())
	assert.Equal(t, time.Duration(math.MaxInt64), (&APIRetry{RetryDelayMS: 1e17}).RetryDelay(), "saturates, never overflows")
}

// retry_delay_ms converts to int64 without overflow: beyond int64 it is
// the maximum, not above zero it is 0.
func TestRetryDelayDecodesSaturated(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"573.64", 573},
		{"1e17", 1e17},
		{"1e300", math.MaxInt64},
		{"-5", 0},
		{"0", 0},
	} {
		m, err := Decode([]byte(`{"type":"system","subtype":"api_retry","retry_delay_ms":` + tc.in + `,"error_status":429}`))
		require.NoError(t, err)
		assert.Equal(t, tc.want, m.(*SystemMessage).APIRetry.RetryDelayMS, tc.in)
	}
}

// A result keeps its outcome whatever its numbers look like; only a finite
// total_cost_usd >= 0 is a known cost.
func TestResultWithBadNumbersDecodes(t *testing.T) {
	for _, tc := range []struct {
		cost  string
		want  float64
		known bool
	}{
		{`0.00021`, 0.00021, true},
		{`0`, 0, true},
		{`"abc"`, 0, false},
		{`"0.5"`, 0, false},
		{`1e999`, 0, false},
		{`-0.5`, 0, false},
		{`null`, 0, false},
		{`{"usd":1}`, 0, false},
		{``, 0, false}, // no total_cost_usd at all
	} {
		t.Run(tc.cost, func(t *testing.T) {
			field := `,"total_cost_usd":` + tc.cost
			if tc.cost == "" {
				field = ""
			}
			line := `{"type":"result","subtype":"success","is_error":false,"num_turns":"two","duration_ms":1e999,"result":"done","session_id":"s"` + field + `,"usage":{"input_tokens":"x","output_tokens":6}}`
			m, err := Decode([]byte(line))
			require.NoError(t, err)
			r, ok := m.(*ResultMessage)
			require.True(t, ok)
			assert.Equal(t, "done", r.Result)
			assert.False(t, r.IsError)
			assert.Equal(t, "s", r.SessionID)
			assert.Equal(t, tc.want, r.TotalCostUSD)
			assert.Equal(t, tc.known, r.CostKnown)
			assert.Zero(t, r.NumTurns, "a field of the wrong type is left zero")
			assert.EqualValues(t, 6, r.Usage.OutputTokens, "the fields after a bad one are kept")
		})
	}
}

// A result that is not JSON is still a DecodeError.
func TestResultSyntaxErrorIsDecodeError(t *testing.T) {
	_, err := Decode([]byte(`{"type":"result","subtype":"success","total_cost_usd":0.1`))
	var de *DecodeError
	assert.ErrorAs(t, err, &de)
}
