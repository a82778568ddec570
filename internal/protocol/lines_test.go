package protocol

import (
	"bufio"
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Lines in the shapes the CLI 2.1.197 writes (see /work/shared/CLAUDE-CLI.md);
// testdata/cli-2.1.197-api-error.jsonl holds a run captured verbatim.
const (
	lineAssistantToolUse   = `{"type":"assistant","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Let me list the files."},{"type":"tool_use","id":"toolu_01","name":"Bash","input":{"command":"ls -la","description":"List files"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":61,"service_tier":"standard"}},"parent_tool_use_id":null,"session_id":"7571408c-a1a5-4702-97a2-1992ea759e16","uuid":"a1"}`
	lineAssistantThinking  = `{"type":"assistant","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"The user wants a list.","signature":"sig=="},{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"go"}}],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":9}},"parent_tool_use_id":"toolu_00","session_id":"s1","uuid":"a2"}`
	lineUserToolResult     = `{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_01","type":"tool_result","content":"total 8\ndrwxr-xr-x 2 root root 4096 .\n","is_error":false}]},"parent_tool_use_id":null,"session_id":"7571408c-a1a5-4702-97a2-1992ea759e16","uuid":"u1","tool_use_result":{"stdout":"total 8\n","stderr":"","interrupted":false,"isImage":false}}`
	lineUserToolResultList = `{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_02","type":"tool_result","content":[{"type":"text","text":"no such file"}],"is_error":true}]},"session_id":"s1"}`
	lineUserText           = `{"type":"user","message":{"role":"user","content":"hi"},"session_id":"s1"}`
	lineResultSuccess      = `{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":2312,"duration_api_ms":2101,"num_turns":2,"result":"Here are the files.","stop_reason":"end_turn","session_id":"7571408c-a1a5-4702-97a2-1992ea759e16","total_cost_usd":0.00021,"usage":{"input_tokens":15,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":70,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard"},"modelUsage":{"claude-sonnet-4-5":{"inputTokens":15,"outputTokens":70,"cacheReadInputTokens":2048,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.00021,"contextWindow":200000,"maxOutputTokens":32000}},"permission_denials":[],"terminal_reason":"completed","uuid":"r1"}`
	lineResult529          = `{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"duration_ms":31000,"duration_api_ms":30500,"num_turns":1,"result":"API Error: 529 Overloaded","session_id":"s1","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0},"permission_denials":[],"terminal_reason":"completed"}`
	lineAPIRetry           = `{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":7000,"error_status":429,"error":"rate_limit","session_id":"s1","uuid":"x1"}`
	lineAPIRetryConn       = `{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":1234.5,"error_status":null,"error":"unknown","session_id":"s1"}`
	lineRateLimit          = `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1771390800,"rateLimitType":"five_hour","utilization":0.97,"overageStatus":"rejected","overageDisabledReason":"org_level_disabled","isUsingOverage":false},"uuid":"76258cfb","session_id":"1ae0af5b"}`
	lineStreamEvent        = `{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}},"session_id":"s1","parent_tool_use_id":null,"uuid":"e1"}`
	lineUnknown            = `{"type":"future_thing","payload":{"type":"x","n":[1,2,{"a":"}"}]}}`
)

// realLines reads the verbatim CLI run: init, status, synthetic assistant,
// error result.
func realLines(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/cli-2.1.197-api-error.jsonl")
	require.NoError(tb, err)
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	require.NoError(tb, sc.Err())
	require.Len(tb, lines, 4)
	return lines
}
