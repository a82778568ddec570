package agent

import "encoding/json"

// ContentBlock is one block of an assistant or user message: *TextBlock,
// *ThinkingBlock, *ToolUseBlock, *ToolResultBlock or *UnknownBlock. The set
// is closed: only this package implements ContentBlock.
type ContentBlock interface {
	// BlockType is the block's "type" field, e.g. "text" or "tool_use".
	BlockType() string
	isContentBlock()
}

// TextBlock is plain text.
type TextBlock struct {
	// Text is the text, as the model (or the user) wrote it.
	Text string
}

// ThinkingBlock is the model's extended thinking.
type ThinkingBlock struct {
	// Thinking is the model's reasoning text.
	Thinking string
	// Signature is the API's signature of the thinking, which the API
	// checks when the block is sent back to it.
	Signature string
}

// ToolUseBlock is a tool call by the model.
type ToolUseBlock struct {
	// ID identifies the call; the ToolResultBlock answering it has it as
	// ToolUseID.
	ID string
	// Name is the tool's name, e.g. "Bash".
	Name string
	// Input is the tool's arguments as a raw JSON object.
	Input json.RawMessage
}

// ToolResultBlock is the result of a tool call, sent back to the model.
type ToolResultBlock struct {
	// ToolUseID is the ID of the ToolUseBlock this answers.
	ToolUseID string
	// Content is raw JSON: a string, or a list of content blocks; nil when
	// absent.
	Content json.RawMessage
	// IsError reports that the tool failed; Content then says how.
	IsError bool
}

// UnknownBlock is a block whose type this package does not know (yet), e.g.
// "server_tool_use" or "image". It never makes decoding fail.
type UnknownBlock struct {
	// TypeName is the block's "type" field, empty when it had none.
	TypeName string
	// Raw is the whole block as JSON.
	Raw json.RawMessage
}

// BlockType returns "text".
func (*TextBlock) BlockType() string { return "text" }

// BlockType returns "thinking".
func (*ThinkingBlock) BlockType() string { return "thinking" }

// BlockType returns "tool_use".
func (*ToolUseBlock) BlockType() string { return "tool_use" }

// BlockType returns "tool_result".
func (*ToolResultBlock) BlockType() string { return "tool_result" }

// BlockType returns the block's type name.
func (b *UnknownBlock) BlockType() string { return b.TypeName }

func (*TextBlock) isContentBlock()       {}
func (*ThinkingBlock) isContentBlock()   {}
func (*ToolUseBlock) isContentBlock()    {}
func (*ToolResultBlock) isContentBlock() {}
func (*UnknownBlock) isContentBlock()    {}
