// Package protocol defines the messages the Claude Code CLI writes in its
// stream-json output format (`claude -p --output-format stream-json --verbose`),
// the decoder that turns one output line into one typed message, and the
// errors a query can end with.
//
// Package agent re-exports these types as aliases, so the doc comments are
// written for users of agent.
package protocol

import (
	"encoding/json"
	"math"
	"time"
)

// Message is one line of the CLI's output. The concrete type is one of
// *SystemMessage, *AssistantMessage, *UserMessage, *ResultMessage,
// *RateLimitEvent, *StreamEvent or *UnknownMessage; switch on it with a type
// switch. The set is closed: only this package implements Message.
//
// Messages are plain values: safe to read from several goroutines once
// received, not safe to modify concurrently.
type Message interface {
	// Type is the line's "type" field, e.g. "assistant" or "result".
	Type() string
	// Raw is the whole JSON line as the CLI wrote it, without the line
	// ending. The slice belongs to the message, not to any reader buffer;
	// callers must not modify it.
	Raw() []byte
	isMessage()
}

// Type names of the messages this package decodes into their own structs.
const (
	TypeSystem         = "system"
	TypeAssistant      = "assistant"
	TypeUser           = "user"
	TypeResult         = "result"
	TypeRateLimitEvent = "rate_limit_event"
	TypeStreamEvent    = "stream_event"
)

// Subtypes of SystemMessage that carry typed data.
const (
	SubtypeInit     = "init"
	SubtypeAPIRetry = "api_retry"
)

// raw holds a message's JSON line; embedded by every message type.
type raw struct{ line []byte }

// Raw returns the message's JSON line. See Message.
func (r *raw) Raw() []byte { return r.line }

// SystemMessage is a "system" line: session set-up and status reports.
// Subtype "init" comes first in every run and fills Init; "api_retry" is
// written before the CLI retries a failed API call by itself and fills
// APIRetry. Other subtypes ("status", "compact_boundary", hook events...)
// leave both nil and put every field of the line in Data.
type SystemMessage struct {
	raw
	Subtype   string
	SessionID string
	UUID      string
	// Init is set for subtype "init", nil otherwise.
	Init *InitData
	// APIRetry is set for subtype "api_retry", nil otherwise.
	APIRetry *APIRetry
	// Data holds all fields of the line for subtypes without typed data,
	// nil for "init" and "api_retry" (Raw always has the whole line).
	Data map[string]any
}

// InitData is what the CLI reports about the session it has just set up.
type InitData struct {
	CWD               string      `json:"cwd"`
	Model             string      `json:"model"`
	PermissionMode    string      `json:"permissionMode"`
	APIKeySource      string      `json:"apiKeySource"`
	ClaudeCodeVersion string      `json:"claude_code_version"`
	OutputStyle       string      `json:"output_style"`
	Tools             []string    `json:"tools"`
	SlashCommands     []string    `json:"slash_commands"`
	Agents            []string    `json:"agents"`
	Skills            []string    `json:"skills"`
	MCPServers        []MCPServer `json:"mcp_servers"`
}

// MCPServer is one MCP server of the session and its connection status.
type MCPServer struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// APIRetry describes a failed API call that the CLI is about to retry by
// itself, e.g. after HTTP 429 or 529.
type APIRetry struct {
	Attempt    int
	MaxRetries int
	// RetryDelayMS is the CLI's retry_delay_ms, rounded down; 0 when it
	// is not above zero, math.MaxInt64 when it is beyond int64.
	RetryDelayMS int64
	// ErrorStatus is the HTTP status of the failed call, 0 when the CLI
	// reports none (e.g. a connection error).
	ErrorStatus int
	// Error is the CLI's short error kind, e.g. "rate_limit" or "overloaded".
	Error string
}

// RetryDelay is RetryDelayMS as a time.Duration, saturated at the longest
// Duration (about 292 years) rather than overflowing.
func (r *APIRetry) RetryDelay() time.Duration {
	if r.RetryDelayMS > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(r.RetryDelayMS) * time.Millisecond
}

// AssistantMessage is one message of the model: text, thinking and tool
// calls. On an API error the CLI writes a synthetic one (Model "<synthetic>",
// the error text as a TextBlock, Error set).
type AssistantMessage struct {
	raw
	ID         string
	Model      string
	Content    []ContentBlock
	StopReason string
	Usage      Usage
	// Error is the CLI's error kind for a synthetic message (e.g. "unknown",
	// "server_error"), empty for a message the model wrote.
	Error     string
	SessionID string
	UUID      string
	// ParentToolUseID is set when a sub-agent started by that tool call wrote
	// the message.
	ParentToolUseID string
}

// UserMessage is a message on the user side of the conversation, typically
// carrying the results of tool calls (ToolResultBlock). A plain-text user
// message has a single TextBlock.
type UserMessage struct {
	raw
	Content         []ContentBlock
	SessionID       string
	UUID            string
	ParentToolUseID string
	// ToolUseResult is the CLI's own structured record of the tool result,
	// as raw JSON; nil when absent.
	ToolUseResult json.RawMessage
}

// ResultMessage is the last message of a run: outcome, cost and usage.
// A field of the wrong JSON type or out of range is left zero rather than
// losing the result; only subtype and is_error must have their types.
//
// IsError true means the run failed even if Subtype is "success" (the CLI
// reports API errors that way); the stream then also ends with an *APIError.
type ResultMessage struct {
	raw
	// Subtype is "success", "error_max_turns", "error_during_execution" or
	// "error_max_budget_usd".
	Subtype string
	IsError bool
	// APIErrorStatus is the HTTP status of the API error that ended the
	// run, 0 when there was none.
	APIErrorStatus int
	DurationMS     int64
	DurationAPIMS  int64
	NumTurns       int
	// Result is the final text, or the error text when IsError.
	Result    string
	SessionID string
	UUID      string
	// TotalCostUSD is what the CLI says the run cost, when CostKnown.
	TotalCostUSD float64
	// TurnCostUSD is what this turn cost: TotalCostUSD is cumulative over
	// the turns of one CLI process, so this is its growth since the
	// process's previous result (the whole of it for a one-shot query); 0
	// when the cost is unknown or did not grow (an interrupted turn).
	TurnCostUSD float64
	// CostKnown is true when total_cost_usd was a finite JSON number >= 0.
	// When false (missing, null, a string, out of range, negative),
	// TotalCostUSD is 0 and means nothing: the run's cost is unknown and
	// the client charges it as a run without a result.
	CostKnown bool
	Usage     Usage
	// ModelUsage is usage and cost per model name.
	ModelUsage     map[string]ModelUsage
	StopReason     string
	TerminalReason string
	// StructuredOutput is the run's structured_output as raw JSON (written
	// when the CLI was given a JSON schema for its answer); nil when absent.
	StructuredOutput json.RawMessage
}

// Usage counts the tokens of a message or a run.
type Usage struct {
	InputTokens              int64  `json:"input_tokens"`
	OutputTokens             int64  `json:"output_tokens"`
	CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
	ServiceTier              string `json:"service_tier"`
}

// ModelUsage is the usage and cost of one model in a run.
type ModelUsage struct {
	InputTokens              int64   `json:"inputTokens"`
	OutputTokens             int64   `json:"outputTokens"`
	CacheReadInputTokens     int64   `json:"cacheReadInputTokens"`
	CacheCreationInputTokens int64   `json:"cacheCreationInputTokens"`
	WebSearchRequests        int64   `json:"webSearchRequests"`
	CostUSD                  float64 `json:"costUSD"`
	ContextWindow            int64   `json:"contextWindow"`
	MaxOutputTokens          int64   `json:"maxOutputTokens"`
}

// Rate limit statuses of RateLimitEvent.
const (
	RateLimitAllowed        = "allowed"
	RateLimitAllowedWarning = "allowed_warning"
	RateLimitRejected       = "rejected"
)

// RateLimitEvent reports the state of a subscription's usage limit
// ("rate_limit_event" lines, written on subscription logins).
type RateLimitEvent struct {
	raw
	// Status is "allowed", "allowed_warning" or "rejected".
	Status string
	// ResetsAt is when the limit resets; zero when not reported.
	ResetsAt time.Time
	// RateLimitType names the window, e.g. "five_hour" or "seven_day".
	RateLimitType string
	// Utilization is the used fraction of the limit, 0 when not reported.
	Utilization           float64
	OverageStatus         string
	OverageResetsAt       time.Time
	OverageDisabledReason string
	SessionID             string
	UUID                  string
}

// StreamEvent is a raw event of the Messages API streaming format
// (message_start, content_block_delta...), written only when partial
// messages are requested.
type StreamEvent struct {
	raw
	// Event is the API event as raw JSON.
	Event           json.RawMessage
	SessionID       string
	UUID            string
	ParentToolUseID string
}

// UnknownMessage is a line whose type this package does not know (yet).
// Newer CLI versions add message types; they arrive as UnknownMessage and
// never break a stream. Raw has the whole line.
type UnknownMessage struct {
	raw
	// TypeName is the line's "type" field, empty when it had none.
	TypeName string
}

// Type returns "system".
func (*SystemMessage) Type() string { return TypeSystem }

// Type returns "assistant".
func (*AssistantMessage) Type() string { return TypeAssistant }

// Type returns "user".
func (*UserMessage) Type() string { return TypeUser }

// Type returns "result".
func (*ResultMessage) Type() string { return TypeResult }

// Type returns "rate_limit_event".
func (*RateLimitEvent) Type() string { return TypeRateLimitEvent }

// Type returns "stream_event".
func (*StreamEvent) Type() string { return TypeStreamEvent }

// Type returns the line's type name.
func (m *UnknownMessage) Type() string { return m.TypeName }

func (*SystemMessage) isMessage()    {}
func (*AssistantMessage) isMessage() {}
func (*UserMessage) isMessage()      {}
func (*ResultMessage) isMessage()    {}
func (*RateLimitEvent) isMessage()   {}
func (*StreamEvent) isMessage()      {}
func (*UnknownMessage) isMessage()   {}
