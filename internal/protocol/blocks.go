package protocol

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
	Text string
}

// ThinkingBlock is the model's extended thinking.
type ThinkingBlock struct {
	Thinking  string
	Signature string
}

// ToolUseBlock is a tool call by the model.
type ToolUseBlock struct {
	ID   string
	Name string
	// Input is the tool's arguments as a raw JSON object.
	Input json.RawMessage
}

// ToolResultBlock is the result of a tool call, sent back to the model.
type ToolResultBlock struct {
	ToolUseID string
	// Content is raw JSON: a string, or a list of content blocks; nil when
	// absent.
	Content json.RawMessage
	IsError bool
}

// UnknownBlock is a block whose type this package does not know (yet), e.g.
// "server_tool_use" or "image". It never makes decoding fail.
type UnknownBlock struct {
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

// wireBlock is the union of the known blocks' fields, decoded in one pass.
type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

// knownBlocks reports whether every block has a known type.
func knownBlocks(ws []wireBlock) bool {
	for i := range ws {
		switch ws[i].Type {
		case "text", "thinking", "tool_use", "tool_result":
		default:
			return false
		}
	}
	return true
}

// toBlocks converts blocks of known types.
func toBlocks(ws []wireBlock) []ContentBlock {
	if ws == nil {
		return nil
	}
	out := make([]ContentBlock, len(ws))
	for i := range ws {
		out[i] = ws[i].block()
	}
	return out
}

// block returns the typed block, nil for an unknown type.
func (w *wireBlock) block() ContentBlock {
	switch w.Type {
	case "text":
		return &TextBlock{Text: w.Text}
	case "thinking":
		return &ThinkingBlock{Thinking: w.Thinking, Signature: w.Signature}
	case "tool_use":
		return &ToolUseBlock{ID: w.ID, Name: w.Name, Input: w.Input}
	case "tool_result":
		return &ToolResultBlock{ToolUseID: w.ToolUseID, Content: w.Content, IsError: w.IsError}
	}
	return nil
}

// blockList decodes a message's "content": a list of blocks, or a plain
// string (which becomes one TextBlock).
type blockList []ContentBlock

func (l *blockList) UnmarshalJSON(data []byte) error {
	switch firstByte(data) {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*l = blockList{&TextBlock{Text: s}}
		return nil
	case '[':
	default: // null or a type the CLI does not write: no blocks
		*l = nil
		return nil
	}
	var elems []blockElem
	if err := json.Unmarshal(data, &elems); err != nil {
		return err
	}
	out := make(blockList, len(elems))
	for i, e := range elems {
		out[i] = e.b
	}
	*l = out
	return nil
}

// blockElem decodes one element of a block list.
type blockElem struct{ b ContentBlock }

func (e *blockElem) UnmarshalJSON(data []byte) error {
	b, err := decodeBlock(data)
	e.b = b
	return err
}

// decodeBlock decodes one block. Known types with fields of unexpected JSON
// types fail; unknown types never do.
// data may be a decoder's buffer: an UnknownBlock keeps a copy.
func decodeBlock(data []byte) (ContentBlock, error) {
	if firstByte(data) != '{' {
		return &UnknownBlock{Raw: clone(data)}, nil
	}
	var w wireBlock
	err := json.Unmarshal(data, &w)
	if b := w.block(); b != nil {
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	// Unknown type: the union's field types may not fit, which is no error.
	return &UnknownBlock{TypeName: w.Type, Raw: clone(data)}, nil
}

// firstByte returns the first non-space byte of data, 0 if none.
func firstByte(data []byte) byte {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
