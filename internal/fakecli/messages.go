package fakecli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SessionID is the session id in every ready-made line.
const SessionID = "f4ce0000-0000-4000-8000-000000000001"

// Model is the model name in the ready-made lines.
const Model = "claude-sonnet-4-5"

// InitLine is a system/init line like the CLI's first one.
func InitLine() string {
	return fmt.Sprintf(`{"type":"system","subtype":"init","cwd":"/tmp","session_id":%q,"tools":["Task","Bash","Glob","Grep","Read","Edit","Write"],"mcp_servers":[],"model":%q,"permissionMode":"default","slash_commands":["compact","context","cost"],"apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.197","output_style":"default","agents":["general-purpose"],"skills":[],"plugins":[],"uuid":"00000000-0000-4000-8000-000000000010"}`,
		SessionID, Model)
}

// AssistantLine is an assistant message with one text block.
func AssistantLine(text string) string {
	return fmt.Sprintf(`{"type":"assistant","message":{"id":"msg_fake01","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":%s}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6,"service_tier":"standard"}},"parent_tool_use_id":null,"session_id":%q,"uuid":"00000000-0000-4000-8000-000000000011"}`,
		Model, quote(text), SessionID)
}

// ResultLine is a successful result line with text and cost.
func ResultLine(text string, costUSD float64) string {
	return fmt.Sprintf(`{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":712,"duration_api_ms":650,"num_turns":1,"result":%s,"stop_reason":"end_turn","session_id":%q,"total_cost_usd":%s,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6,"service_tier":"standard"},"modelUsage":{},"permission_denials":[],"terminal_reason":"completed","uuid":"00000000-0000-4000-8000-000000000012"}`,
		quote(text), SessionID, quote(costUSD))
}

// ErrorResultLine is the result line the CLI writes after an API error:
// subtype "success" but is_error true, with the HTTP status.
func ErrorResultLine(status int, message string) string {
	return fmt.Sprintf(`{"type":"result","subtype":"success","is_error":true,"api_error_status":%d,"duration_ms":1204,"duration_api_ms":0,"num_turns":1,"result":%s,"stop_reason":"stop_sequence","session_id":%q,"total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"permission_denials":[],"terminal_reason":"completed","uuid":"00000000-0000-4000-8000-000000000013"}`,
		status, quote(message), SessionID)
}

// syntheticAssistantLine is the assistant message the CLI makes up to carry
// an API error.
func syntheticAssistantLine(message string) string {
	return fmt.Sprintf(`{"type":"assistant","message":{"id":"00000000-0000-4000-8000-000000000014","model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"content":[{"type":"text","text":%s}]},"parent_tool_use_id":null,"session_id":%q,"uuid":"00000000-0000-4000-8000-000000000015","error":"unknown"}`,
		quote(message), SessionID)
}

// Success is a whole successful run: init, an assistant message with text,
// a result costing costUSD, exit 0.
func Success(text string, costUSD float64) Script {
	return Script{Line(InitLine()), Line(AssistantLine(text)), Line(ResultLine(text, costUSD)), Exit(0)}
}

// APIErrorResult is a run that ends with an API error the way the CLI
// reports it: init, a synthetic assistant message, a result with is_error
// true and api_error_status status, exit 1. The message defaults to
// "API Error: <status> <status text>".
func APIErrorResult(status int, message ...string) Script {
	text := http.StatusText(status)
	if status == 529 {
		text = "Overloaded" // Anthropic's own status
	}
	msg := fmt.Sprintf("API Error: %d %s", status, text)
	if len(message) > 0 {
		msg = message[0]
	}
	return Script{Line(InitLine()), Line(syntheticAssistantLine(msg)), Line(ErrorResultLine(status, msg)), Exit(1)}
}

// Retry429 is the system/api_retry line the CLI writes before retrying a
// call the API refused with 429.
func Retry429(delayMS int) Step {
	return Line(fmt.Sprintf(`{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":%d,"error_status":429,"error":"rate_limit","session_id":%q,"uuid":"00000000-0000-4000-8000-000000000016"}`,
		delayMS, SessionID))
}

// RateLimitRejected is a rate_limit_event line saying the subscription's
// five-hour limit is used up until resetsAt.
func RateLimitRejected(resetsAt time.Time) Step {
	return Line(fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":%d,"rateLimitType":"five_hour","utilization":1,"isUsingOverage":false},"session_id":%q,"uuid":"00000000-0000-4000-8000-000000000017"}`,
		resetsAt.Unix(), SessionID))
}

func quote(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakecli: " + err.Error()) // strings and finite floats always marshal
	}
	return string(b)
}

// StreamEventLine is a stream_event line (written with
// --include-partial-messages) carrying the raw Messages API event, a JSON
// object.
func StreamEventLine(event string) string {
	return fmt.Sprintf(`{"type":"stream_event","event":%s,"session_id":%q,"parent_tool_use_id":null,"uuid":"00000000-0000-4000-8000-000000000014"}`, event, SessionID)
}

// MessageStartEvent is a message_start event of message id reporting
// inputTokens for model.
func MessageStartEvent(id, model string, inputTokens int) string {
	return fmt.Sprintf(`{"type":"message_start","message":{"id":%q,"type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"output_tokens":1}}}`, id, model, inputTokens)
}

// TextDeltaEvent is a content_block_delta event carrying text.
func TextDeltaEvent(text string) string {
	return fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%s}}`, quote(text))
}

// MessageDeltaEvent is the message_delta event that ends a message with
// its final output token count.
func MessageDeltaEvent(outputTokens int) string {
	return fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":%d}}`, outputTokens)
}

// UsageLine is an assistant message of message id and model with one
// text block and the given usage.
func UsageLine(id, model string, inputTokens, outputTokens int) string {
	return fmt.Sprintf(`{"type":"assistant","message":{"id":%q,"type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"partial"}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d}},"parent_tool_use_id":null,"session_id":%q,"uuid":"00000000-0000-4000-8000-000000000015"}`,
		id, model, inputTokens, outputTokens, SessionID)
}

// PricedResultLine is a successful result line costing costUSD whose
// modelUsage says model used inputTokens and outputTokens for it.
func PricedResultLine(model string, inputTokens, outputTokens int, costUSD float64) string {
	return fmt.Sprintf(`{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":712,"duration_api_ms":650,"num_turns":1,"result":"priced","stop_reason":"end_turn","session_id":%q,"total_cost_usd":%s,"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d,"service_tier":"standard"},"modelUsage":{%q:{"inputTokens":%d,"outputTokens":%d,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":%s,"contextWindow":200000,"maxOutputTokens":32000}},"permission_denials":[],"terminal_reason":"completed","uuid":"00000000-0000-4000-8000-000000000016"}`,
		SessionID, quote(costUSD), inputTokens, outputTokens, model, inputTokens, outputTokens, quote(costUSD))
}

// InterruptedResultLine is the result of an interrupted run as the CLI
// writes it: error_during_execution, and a total that leaves out the
// interrupted request (totalUSD, the spend before it).
func InterruptedResultLine(totalUSD float64) string {
	return fmt.Sprintf(`{"type":"result","subtype":"error_during_execution","is_error":true,"api_error_status":null,"duration_ms":300,"duration_api_ms":0,"num_turns":1,"result":"","stop_reason":null,"session_id":%q,"total_cost_usd":%s,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"permission_denials":[],"terminal_reason":"aborted_streaming","uuid":"00000000-0000-4000-8000-000000000017"}`,
		SessionID, quote(totalUSD))
}

// RetryAuth is the system/api_retry line the CLI writes before retrying a
// call the API refused with 401 (a rejected API key); it would retry it
// like a 429, ten times by default.
func RetryAuth() Step {
	return Line(fmt.Sprintf(`{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":573.6495469854345,"error_status":401,"error":"authentication_failed","session_id":%q,"uuid":"00000000-0000-4000-8000-000000000018"}`,
		SessionID))
}

// NotLoggedIn is the run of a CLI with no API key and no login: init, a
// synthetic assistant message and an error result without a status, exit 1.
func NotLoggedIn() Script {
	const msg = "Not logged in · Please run /login"
	result := fmt.Sprintf(`{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"duration_ms":99,"duration_api_ms":0,"num_turns":1,"result":%s,"stop_reason":"stop_sequence","session_id":%q,"total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0},"modelUsage":{},"permission_denials":[],"terminal_reason":"completed","uuid":"00000000-0000-4000-8000-000000000019"}`,
		quote(msg), SessionID)
	return Script{Line(InitLine()), Line(syntheticAssistantLine(msg)), Line(result), Exit(1)}
}
