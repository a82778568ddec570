package agent

import (
	"encoding/json"
	"math"
	"time"
)

// Message is one line of the CLI's stream-json output, decoded. Its dynamic
// type is one of *SystemMessage, *AssistantMessage, *UserMessage,
// *ResultMessage, *RateLimitEvent, *StreamEvent or *UnknownMessage; switch
// on it with a type switch. A type this SDK does not know yet arrives as
// *UnknownMessage and never breaks a stream. The set is closed: only this
// package implements Message.
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
	// Subtype is the line's "subtype", e.g. "init", "api_retry" or "status".
	Subtype string
	// SessionID is the CLI session the line belongs to.
	SessionID string
	// UUID identifies the line within the session; empty when absent.
	UUID string
	// Init is set for subtype "init", nil otherwise.
	Init *InitData
	// APIRetry is set for subtype "api_retry", nil otherwise.
	APIRetry *APIRetry
	// Data holds all fields of the line for subtypes without typed data,
	// nil for "init" and "api_retry" (Raw always has the whole line).
	Data map[string]any
}

// InitData is what the CLI reports about the session it has just set up
// (the "init" system line). A field the CLI did not write is empty.
type InitData struct {
	// CWD is the CLI's working directory.
	CWD string
	// Model is the model the session uses, e.g. "claude-sonnet-4-5".
	Model string
	// PermissionMode is the CLI's permission mode, e.g. "default".
	PermissionMode string
	// APIKeySource says where the CLI found its credentials, e.g.
	// "ANTHROPIC_API_KEY" or "none".
	APIKeySource string
	// ClaudeCodeVersion is the CLI's version, e.g. "2.1.197".
	ClaudeCodeVersion string
	// OutputStyle is the CLI's output style, e.g. "default".
	OutputStyle string
	// Tools lists the tools the model may call.
	Tools []string
	// SlashCommands lists the slash commands available.
	SlashCommands []string
	// Agents lists the sub-agents available.
	Agents []string
	// Skills lists the skills available.
	Skills []string
	// MCPServers lists the session's MCP servers and their status.
	MCPServers []MCPServer
}

// MCPServer is one MCP server of the session and its connection status.
type MCPServer struct {
	// Name is the server's name in the MCP configuration.
	Name string
	// Status is its connection status, e.g. "connected" or "failed".
	Status string
}

// APIRetry describes a failed API call that the CLI is about to retry by
// itself, e.g. after HTTP 429 or 529.
type APIRetry struct {
	// Attempt is the number of this retry, from 1.
	Attempt int
	// MaxRetries is how many retries the CLI makes at most.
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
	// ID is the API's message id, e.g. "msg_01...".
	ID string
	// Model is the model that wrote the message, "<synthetic>" for one the
	// CLI wrote itself.
	Model string
	// Content is the message's blocks, in order.
	Content []ContentBlock
	// StopReason is the API's stop_reason, e.g. "end_turn" or "tool_use";
	// empty while the message is not finished.
	StopReason string
	// Usage counts the message's tokens.
	Usage Usage
	// Error is the CLI's error kind for a synthetic message (e.g. "unknown",
	// "server_error"), empty for a message the model wrote.
	Error string
	// SessionID is the CLI session the message belongs to.
	SessionID string
	// UUID identifies the line within the session.
	UUID string
	// ParentToolUseID is set when a sub-agent started by that tool call wrote
	// the message; empty for the main conversation.
	ParentToolUseID string
}

// UserMessage is a message on the user side of the conversation, typically
// carrying the results of tool calls (ToolResultBlock). A plain-text user
// message has a single TextBlock.
type UserMessage struct {
	raw
	// Content is the message's blocks, in order.
	Content []ContentBlock
	// SessionID is the CLI session the message belongs to.
	SessionID string
	// UUID identifies the line within the session.
	UUID string
	// ParentToolUseID is set when the message belongs to a sub-agent
	// started by that tool call; empty for the main conversation.
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
	// IsError reports that the run failed; see the type's doc.
	IsError bool
	// APIErrorStatus is the HTTP status of the API error that ended the
	// run, 0 when there was none.
	APIErrorStatus int
	// DurationMS is the run's wall time in milliseconds.
	DurationMS int64
	// DurationAPIMS is the time spent waiting for the API, in milliseconds.
	DurationAPIMS int64
	// NumTurns is the number of model turns the run took (a tool call
	// and its answer make two).
	NumTurns int
	// Result is the final text, or the error text when IsError.
	Result string
	// SessionID is the CLI session the run belongs to (give it to a later
	// run to resume the conversation).
	SessionID string
	// UUID identifies the line within the session.
	UUID string
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
	// Usage counts the run's tokens, all models together.
	Usage Usage
	// ModelUsage is usage and cost per model name; nil when not reported.
	ModelUsage map[string]ModelUsage
	// StopReason is the last API stop_reason, e.g. "end_turn".
	StopReason string
	// TerminalReason is why the CLI ended the run, e.g. "completed".
	TerminalReason string
	// StructuredOutput is the run's structured_output as raw JSON (the
	// answer in the shape of the JSON schema the run was given); nil when
	// absent.
	StructuredOutput json.RawMessage
}

// Usage counts the tokens of a message or a run. The zero value counts
// none (or none reported).
type Usage struct {
	// InputTokens counts input tokens not read from or written to the cache.
	InputTokens int64
	// OutputTokens counts output tokens.
	OutputTokens int64
	// CacheCreationInputTokens counts input tokens written to the prompt cache.
	CacheCreationInputTokens int64
	// CacheReadInputTokens counts input tokens read from the prompt cache.
	CacheReadInputTokens int64
	// ServiceTier is the API's service tier, e.g. "standard"; empty when
	// not reported.
	ServiceTier string
}

// ModelUsage is the usage and cost of one model in a run.
type ModelUsage struct {
	// InputTokens counts input tokens not read from or written to the cache.
	InputTokens int64
	// OutputTokens counts output tokens.
	OutputTokens int64
	// CacheReadInputTokens counts input tokens read from the prompt cache.
	CacheReadInputTokens int64
	// CacheCreationInputTokens counts input tokens written to the prompt cache.
	CacheCreationInputTokens int64
	// WebSearchRequests counts the model's web searches.
	WebSearchRequests int64
	// CostUSD is what the CLI says this model's part of the run cost.
	CostUSD float64
	// ContextWindow is the model's context window in tokens.
	ContextWindow int64
	// MaxOutputTokens is the model's output limit in tokens.
	MaxOutputTokens int64
}

// RateLimitEvent reports the state of a subscription's usage limit
// ("rate_limit_event" lines, written on subscription logins). A rejected
// one pauses the client's later queries until ResetsAt (at most
// RateLimitConfig.MaxPause).
type RateLimitEvent struct {
	raw
	// Status is "allowed", "allowed_warning" or "rejected".
	Status string
	// ResetsAt is when the limit resets; zero when not reported.
	ResetsAt time.Time
	// RateLimitType names the window, e.g. "five_hour" or "seven_day".
	RateLimitType string
	// Utilization is the used fraction of the limit, 0 when not reported.
	Utilization float64
	// OverageStatus is the status of usage beyond the limit (the same
	// values as Status); empty when not reported.
	OverageStatus string
	// OverageResetsAt is when the overage limit resets; zero when not reported.
	OverageResetsAt time.Time
	// OverageDisabledReason says why overage is off, e.g.
	// "org_level_disabled"; empty when not reported.
	OverageDisabledReason string
	// SessionID is the CLI session the line belongs to.
	SessionID string
	// UUID identifies the line within the session.
	UUID string
}

// StreamEvent is a raw event of the Messages API streaming format
// (message_start, content_block_delta...), given to the caller only with
// WithPartialMessages.
type StreamEvent struct {
	raw
	// Event is the API event as raw JSON.
	Event json.RawMessage
	// SessionID is the CLI session the event belongs to.
	SessionID string
	// UUID identifies the line within the session.
	UUID string
	// ParentToolUseID is set when a sub-agent started by that tool call
	// streamed the event; empty for the main conversation.
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
func (*SystemMessage) Type() string { return "system" }

// Type returns "assistant".
func (*AssistantMessage) Type() string { return "assistant" }

// Type returns "user".
func (*UserMessage) Type() string { return "user" }

// Type returns "result".
func (*ResultMessage) Type() string { return "result" }

// Type returns "rate_limit_event".
func (*RateLimitEvent) Type() string { return "rate_limit_event" }

// Type returns "stream_event".
func (*StreamEvent) Type() string { return "stream_event" }

// Type returns the line's type name.
func (m *UnknownMessage) Type() string { return m.TypeName }

func (*SystemMessage) isMessage()    {}
func (*AssistantMessage) isMessage() {}
func (*UserMessage) isMessage()      {}
func (*ResultMessage) isMessage()    {}
func (*RateLimitEvent) isMessage()   {}
func (*StreamEvent) isMessage()      {}
func (*UnknownMessage) isMessage()   {}
