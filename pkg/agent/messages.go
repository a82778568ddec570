package agent

import "github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"

// Message is one line of the CLI's stream-json output, decoded. Its dynamic
// type is one of *SystemMessage, *AssistantMessage, *UserMessage,
// *ResultMessage, *RateLimitEvent, *StreamEvent or *UnknownMessage; a type
// this SDK does not know yet arrives as *UnknownMessage and never breaks a
// stream. Every message keeps its raw JSON line (Raw).
type Message = protocol.Message

// The message types of the stream.
type (
	SystemMessage    = protocol.SystemMessage
	InitData         = protocol.InitData
	APIRetry         = protocol.APIRetry
	AssistantMessage = protocol.AssistantMessage
	UserMessage      = protocol.UserMessage
	ResultMessage    = protocol.ResultMessage
	Usage            = protocol.Usage
	RateLimitEvent   = protocol.RateLimitEvent
	StreamEvent      = protocol.StreamEvent
	UnknownMessage   = protocol.UnknownMessage
)

// ContentBlock is one block of an assistant or user message: *TextBlock,
// *ThinkingBlock, *ToolUseBlock, *ToolResultBlock or *UnknownBlock.
type ContentBlock = protocol.ContentBlock

// The content block types.
type (
	TextBlock       = protocol.TextBlock
	ThinkingBlock   = protocol.ThinkingBlock
	ToolUseBlock    = protocol.ToolUseBlock
	ToolResultBlock = protocol.ToolResultBlock
	UnknownBlock    = protocol.UnknownBlock
)
