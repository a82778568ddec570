package orchestrator

import (
	"encoding/json"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// meter follows what one query spends, from its stream: the usage of each
// API message as it streams (message_start carries the input tokens, the
// deltas the output so far, message_delta the final output tokens) and as
// the assistant lines report it, priced per model. While a message
// streams, its output tokens are counted as one per byte of its deltas'
// text, JSON and thinking (a token is at least a byte), so the estimate
// errs high; message_delta replaces that count with the real one.
//
// A meter is used by the goroutine ranging over one query's stream.
type meter struct {
	prices  *prices
	msgs    []apiMessage
	byID    map[string]int // message id -> index in msgs
	current map[string]int // parent tool use id ("" for the main agent) -> the message streaming there
	total   float64        // sum of the messages' costs
	sawInit bool           // the CLI printed its init line
	sawAPI  bool           // some usage was seen: the estimate means something
}

// apiMessage is one answer of the Messages API.
type apiMessage struct {
	price      price
	usage      protocol.Usage
	outFinal   bool  // usage.OutputTokens is the final count
	deltaBytes int64 // bytes of the deltas streamed so far
	cost       float64
}

func newMeter(p *prices) *meter {
	return &meter{prices: p, byID: make(map[string]int), current: make(map[string]int)}
}

// spent returns the estimated USD spent so far.
func (m *meter) spent() float64 { return m.total }

// observe takes one message of the stream into account.
func (m *meter) observe(msg protocol.Message) {
	switch msg := msg.(type) {
	case *protocol.SystemMessage:
		if msg.Subtype == protocol.SubtypeInit {
			m.sawInit = true
		}
	case *protocol.AssistantMessage:
		if msg.ID == "" || msg.Model == "<synthetic>" {
			return
		}
		i := m.message(msg.ID, msg.Model)
		m.update(i, msg.Usage, false)
	case *protocol.StreamEvent:
		m.event(msg)
	}
}

// streamEvent is what the meter reads of a raw Messages API event.
type streamEvent struct {
	Type    string `json:"type"`
	Message struct {
		ID    string         `json:"id"`
		Model string         `json:"model"`
		Usage protocol.Usage `json:"usage"`
	} `json:"message"`
	Delta struct {
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		Thinking    string `json:"thinking"`
	} `json:"delta"`
	Usage *protocol.Usage `json:"usage"`
}

func (m *meter) event(se *protocol.StreamEvent) {
	var ev streamEvent
	err := json.Unmarshal(se.Event, &ev)
	cur, streaming := m.current[se.ParentToolUseID]
	switch {
	case err != nil:
		if streaming { // unreadable: count all of it as output
			m.grow(cur, int64(len(se.Event)))
		}
	case ev.Type == "message_start":
		i := m.message(ev.Message.ID, ev.Message.Model)
		m.current[se.ParentToolUseID] = i
		m.update(i, ev.Message.Usage, false)
	case ev.Type == "content_block_delta" && streaming:
		m.grow(cur, int64(len(ev.Delta.Text)+len(ev.Delta.PartialJSON)+len(ev.Delta.Thinking)))
	case ev.Type == "message_delta" && streaming && ev.Usage != nil:
		m.update(cur, *ev.Usage, true)
	case ev.Type == "message_stop":
		delete(m.current, se.ParentToolUseID)
	}
}

// message returns the index of the message of id, new if unseen.
func (m *meter) message(id, model string) int {
	if i, ok := m.byID[id]; ok && id != "" {
		return i
	}
	m.msgs = append(m.msgs, apiMessage{price: m.prices.of(model)})
	i := len(m.msgs) - 1
	if id != "" {
		m.byID[id] = i
	}
	return i
}

// update merges a usage report into message i: counts only grow, and a
// final output count replaces the delta estimate.
func (m *meter) update(i int, u protocol.Usage, final bool) {
	msg := &m.msgs[i]
	msg.usage.InputTokens = max(msg.usage.InputTokens, u.InputTokens)
	msg.usage.CacheCreationInputTokens = max(msg.usage.CacheCreationInputTokens, u.CacheCreationInputTokens)
	msg.usage.CacheReadInputTokens = max(msg.usage.CacheReadInputTokens, u.CacheReadInputTokens)
	if final {
		msg.usage.OutputTokens, msg.outFinal = u.OutputTokens, true
	} else if !msg.outFinal {
		msg.usage.OutputTokens = max(msg.usage.OutputTokens, u.OutputTokens)
	}
	m.sawAPI = true
	m.reprice(i)
}

// grow adds n bytes of deltas to message i.
func (m *meter) grow(i int, n int64) {
	m.msgs[i].deltaBytes += n
	m.reprice(i)
}

func (m *meter) reprice(i int) {
	msg := &m.msgs[i]
	out := msg.usage.OutputTokens
	if !msg.outFinal {
		out = max(out, msg.deltaBytes)
	}
	p := msg.price
	cost := p.input*float64(msg.usage.InputTokens) +
		p.cacheWrite*float64(msg.usage.CacheCreationInputTokens) +
		p.cacheRead*float64(msg.usage.CacheReadInputTokens) +
		p.output*float64(out)
	m.total += cost - msg.cost
	msg.cost = cost
}
