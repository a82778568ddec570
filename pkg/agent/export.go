package agent

import (
	"iter"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// The orchestrator yields internal/protocol values; the client gives its
// caller this package's own types, converted here at the boundary. A
// message costs one allocation (its data shares the decoded line and
// slices), plus its content blocks and, for a result, its ModelUsage map.

// exportStream converts each item of an orchestrator stream.
func exportStream(seq iter.Seq2[protocol.Message, error]) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for msg, err := range seq {
			if !yield(exportMessage(msg), exportError(err)) {
				return
			}
		}
	}
}

// exportMessage converts a decoded message; nil stays nil.
func exportMessage(msg protocol.Message) Message {
	switch m := msg.(type) {
	case nil:
		return nil
	case *protocol.SystemMessage:
		return exportSystem(m)
	case *protocol.AssistantMessage:
		return &AssistantMessage{
			raw:             raw{m.Raw()},
			ID:              m.ID,
			Model:           m.Model,
			Content:         exportBlocks(m.Content),
			StopReason:      m.StopReason,
			Usage:           Usage(m.Usage),
			Error:           m.Error,
			SessionID:       m.SessionID,
			UUID:            m.UUID,
			ParentToolUseID: m.ParentToolUseID,
		}
	case *protocol.UserMessage:
		return &UserMessage{
			raw:             raw{m.Raw()},
			Content:         exportBlocks(m.Content),
			SessionID:       m.SessionID,
			UUID:            m.UUID,
			ParentToolUseID: m.ParentToolUseID,
			ToolUseResult:   m.ToolUseResult,
		}
	case *protocol.ResultMessage:
		return exportResult(m)
	case *protocol.RateLimitEvent:
		return &RateLimitEvent{
			raw:                   raw{m.Raw()},
			Status:                m.Status,
			ResetsAt:              m.ResetsAt,
			RateLimitType:         m.RateLimitType,
			Utilization:           m.Utilization,
			OverageStatus:         m.OverageStatus,
			OverageResetsAt:       m.OverageResetsAt,
			OverageDisabledReason: m.OverageDisabledReason,
			SessionID:             m.SessionID,
			UUID:                  m.UUID,
		}
	case *protocol.StreamEvent:
		return &StreamEvent{
			raw:             raw{m.Raw()},
			Event:           m.Event,
			SessionID:       m.SessionID,
			UUID:            m.UUID,
			ParentToolUseID: m.ParentToolUseID,
		}
	case *protocol.UnknownMessage:
		return &UnknownMessage{raw: raw{m.Raw()}, TypeName: m.TypeName}
	}
	// protocol's set is closed: a type added there and not here is a bug,
	// but it must not break a stream.
	return &UnknownMessage{raw: raw{msg.Raw()}, TypeName: msg.Type()}
}

// exportSystem converts a system message, its typed data in the same
// allocation.
func exportSystem(m *protocol.SystemMessage) *SystemMessage {
	base := SystemMessage{raw: raw{m.Raw()}, Subtype: m.Subtype, SessionID: m.SessionID, UUID: m.UUID, Data: m.Data}
	switch {
	case m.Init != nil:
		a := &struct {
			msg  SystemMessage
			init InitData
		}{msg: base}
		in := m.Init
		a.init = InitData{
			CWD:               in.CWD,
			Model:             in.Model,
			PermissionMode:    in.PermissionMode,
			APIKeySource:      in.APIKeySource,
			ClaudeCodeVersion: in.ClaudeCodeVersion,
			OutputStyle:       in.OutputStyle,
			Tools:             in.Tools,
			SlashCommands:     in.SlashCommands,
			Agents:            in.Agents,
			Skills:            in.Skills,
		}
		if in.MCPServers != nil {
			a.init.MCPServers = make([]MCPServer, len(in.MCPServers))
			for i, s := range in.MCPServers {
				a.init.MCPServers[i] = MCPServer(s)
			}
		}
		a.msg.Init = &a.init
		return &a.msg
	case m.APIRetry != nil:
		a := &struct {
			msg   SystemMessage
			retry APIRetry
		}{msg: base, retry: APIRetry(*m.APIRetry)}
		a.msg.APIRetry = &a.retry
		return &a.msg
	}
	return &base
}

// exportResult converts a result message.
func exportResult(m *protocol.ResultMessage) *ResultMessage {
	r := &ResultMessage{
		raw:              raw{m.Raw()},
		Subtype:          m.Subtype,
		IsError:          m.IsError,
		APIErrorStatus:   m.APIErrorStatus,
		DurationMS:       m.DurationMS,
		DurationAPIMS:    m.DurationAPIMS,
		NumTurns:         m.NumTurns,
		Result:           m.Result,
		SessionID:        m.SessionID,
		UUID:             m.UUID,
		TotalCostUSD:     m.TotalCostUSD,
		TurnCostUSD:      m.TurnCostUSD,
		CostKnown:        m.CostKnown,
		Usage:            Usage(m.Usage),
		StopReason:       m.StopReason,
		TerminalReason:   m.TerminalReason,
		StructuredOutput: m.StructuredOutput,
	}
	if m.ModelUsage != nil {
		r.ModelUsage = make(map[string]ModelUsage, len(m.ModelUsage))
		for name, u := range m.ModelUsage {
			r.ModelUsage[name] = ModelUsage(u)
		}
	}
	return r
}

// importResult is exportResult's inverse, for the orchestrator's default
// classifier (the raw line is not needed there).
func importResult(r *ResultMessage) *protocol.ResultMessage {
	if r == nil {
		return nil
	}
	m := &protocol.ResultMessage{
		Subtype:          r.Subtype,
		IsError:          r.IsError,
		APIErrorStatus:   r.APIErrorStatus,
		DurationMS:       r.DurationMS,
		DurationAPIMS:    r.DurationAPIMS,
		NumTurns:         r.NumTurns,
		Result:           r.Result,
		SessionID:        r.SessionID,
		UUID:             r.UUID,
		TotalCostUSD:     r.TotalCostUSD,
		TurnCostUSD:      r.TurnCostUSD,
		CostKnown:        r.CostKnown,
		Usage:            protocol.Usage(r.Usage),
		StopReason:       r.StopReason,
		TerminalReason:   r.TerminalReason,
		StructuredOutput: r.StructuredOutput,
	}
	if r.ModelUsage != nil {
		m.ModelUsage = make(map[string]protocol.ModelUsage, len(r.ModelUsage))
		for name, u := range r.ModelUsage {
			m.ModelUsage[name] = protocol.ModelUsage(u)
		}
	}
	return m
}

// exportBlocks converts content blocks; nil stays nil.
func exportBlocks(bs []protocol.ContentBlock) []ContentBlock {
	if bs == nil {
		return nil
	}
	out := make([]ContentBlock, len(bs))
	for i, b := range bs {
		out[i] = exportBlock(b)
	}
	return out
}

func exportBlock(b protocol.ContentBlock) ContentBlock {
	switch b := b.(type) {
	// Conversions, not field lists: a field added on one side only fails
	// to compile.
	case *protocol.TextBlock:
		out := TextBlock(*b)
		return &out
	case *protocol.ThinkingBlock:
		out := ThinkingBlock(*b)
		return &out
	case *protocol.ToolUseBlock:
		out := ToolUseBlock(*b)
		return &out
	case *protocol.ToolResultBlock:
		out := ToolResultBlock(*b)
		return &out
	case *protocol.UnknownBlock:
		out := UnknownBlock(*b)
		return &out
	case nil:
		return nil
	}
	return &UnknownBlock{TypeName: b.BlockType()}
}
