package fakeapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// answerKind says what a scripted Answer sends.
type answerKind int

const (
	kindText answerKind = iota
	kindToolUse
	kindError
	kindDrop
)

// Default token counts reported in the usage of a successful answer when
// WithUsage is not used.
const (
	DefaultInputTokens  = 12
	DefaultOutputTokens = 6
)

// DefaultText is the text of the answer given when the queue is empty and no
// default was set with Server.SetDefault.
const DefaultText = "fake answer"

// Answer is one scripted response to a POST /v1/messages request. Build it
// with Text, ToolUse, Error, Drop or Usage and refine it with the With* and
// CutAfter methods, which return a modified copy.
//
// The zero Answer is a text answer with empty text. An Answer is a value:
// copies are independent, and it is safe to share one between goroutines.
type Answer struct {
	kind       answerKind
	text       string // kindText: the text; kindToolUse: the Bash command (with tool "")
	tool       string // kindToolUse: the tool's name, "" for Bash
	input      string // kindToolUse with a tool: its input, as JSON
	status     int    // kindError
	errType    string // kindError
	headers    map[string]string
	inTokens   int
	outTokens  int
	usageSet   bool
	gate       <-chan struct{}
	delay      time.Duration
	cutAfter   int // 0: no cut; n: close the connection after n SSE events
	chunkBytes int // 0: defaultChunkBytes
}

// defaultChunkBytes is the largest text carried by one content_block_delta.
const defaultChunkBytes = 16 << 10

// Text answers with one text block holding s, sent in deltas of at most
// 16 KiB each (split on UTF-8 boundaries), and stop_reason end_turn.
func Text(s string) Answer {
	return Answer{kind: kindText, text: s}
}

// ToolUse answers with one tool_use block that asks the CLI to run command
// with its Bash tool (input {"command": command}), with stop_reason tool_use.
// Run the CLI with --allowedTools Bash: it runs the command and sends a second
// request carrying the tool_result, answered by the next answer in the queue.
func ToolUse(command string) Answer {
	return Answer{kind: kindToolUse, text: command}
}

// ToolCall answers with one tool_use block that asks the CLI to call the
// tool name with input (marshalled to JSON; it panics if that fails), with
// stop_reason tool_use: e.g. ToolCall("StructuredOutput", v), the tool the
// CLI offers the model under --json-schema.
func ToolCall(name string, input any) Answer {
	b, err := json.Marshal(input)
	if err != nil {
		panic("fakeapi: ToolCall input: " + err.Error())
	}
	return Answer{kind: kindToolUse, tool: name, input: string(b)}
}

// toolUse is the name and the JSON input of a tool_use answer.
func (a Answer) toolUse() (name string, input json.RawMessage) {
	if a.tool == "" {
		b, _ := json.Marshal(map[string]string{"command": a.text})
		return "Bash", b
	}
	return a.tool, json.RawMessage(a.input)
}

// Error answers with the HTTP status and the Messages API error body
// {"type":"error","error":{"type":errType,"message":message}}, for example
// Error(429, "rate_limit_error", "slow down").WithRetryAfter(1) or
// Error(529, "overloaded_error", "Overloaded").
func Error(status int, errType, message string) Answer {
	return Answer{kind: kindError, status: status, errType: errType, text: message}
}

// Drop answers by closing the connection without writing a response, as a
// dying proxy would. The CLI sees a connection error.
func Drop() Answer {
	return Answer{kind: kindDrop}
}

// Usage is a short text answer that reports the given token usage. The CLI
// prices it with its own price table, so Usage(0, 800_000) costs it 20 USD on
// its default model (see the package doc).
func Usage(inputTokens, outputTokens int) Answer {
	return Text("usage").WithUsage(inputTokens, outputTokens)
}

// WithUsage returns a copy of a that reports inputTokens in message_start and
// outputTokens in message_delta. It has no effect on Error and Drop answers.
func (a Answer) WithUsage(inputTokens, outputTokens int) Answer {
	a.inTokens, a.outTokens, a.usageSet = inputTokens, outputTokens, true
	return a
}

// WithRetryAfter returns a copy of a that sends the header
// "retry-after: seconds". The CLI waits that long, for real, before retrying.
func (a Answer) WithRetryAfter(seconds int) Answer {
	return a.WithHeader("retry-after", fmt.Sprint(seconds))
}

// WithHeader returns a copy of a that sends the response header key: value.
func (a Answer) WithHeader(key, value string) Answer {
	h := make(map[string]string, len(a.headers)+1)
	for k, v := range a.headers {
		h[k] = v
	}
	h[key] = value
	a.headers = h
	return a
}

// WithGate returns a copy of a whose stream, after message_start, waits to
// receive from gate before each further event: send one value per event to
// step through the stream, or close gate to let the rest through at once. A
// non-streaming request waits for one value before its answer. A request
// held by a gate counts as in flight. Closing the Server, or the
// client going away, also ends the wait.
func (a Answer) WithGate(gate <-chan struct{}) Answer {
	a.gate = gate
	return a
}

// WithDelay returns a copy of a that pauses d, in real time, between SSE
// events. Prefer WithGate in tests; WithDelay is for demos of a slow API.
func (a Answer) WithDelay(d time.Duration) Answer {
	a.delay = d
	return a
}

// CutAfter returns a copy of a whose stream closes the connection after n
// SSE events (n >= 1; message_start is the first), without message_stop and
// without ending the chunked body. A non-streaming request (the CLI's
// fallback after a broken stream) gets half of its JSON body instead.
func (a Answer) CutAfter(n int) Answer {
	a.cutAfter = n
	return a
}

// WithChunkBytes returns a copy of a that sends its text, or its tool input
// JSON, in deltas of at most n bytes (default 16 KiB).
func (a Answer) WithChunkBytes(n int) Answer {
	a.chunkBytes = n
	return a
}

// String names the answer for logs, such as "text(11 B)" or "error(429)".
func (a Answer) String() string {
	var s string
	switch a.kind {
	case kindToolUse:
		if a.tool != "" {
			s = fmt.Sprintf("tool_use(%s %s)", a.tool, a.input)
			break
		}
		s = fmt.Sprintf("tool_use(%q)", a.text)
	case kindError:
		s = fmt.Sprintf("error(%d)", a.status)
	case kindDrop:
		s = "drop"
	default:
		s = fmt.Sprintf("text(%d B)", len(a.text))
	}
	if a.cutAfter > 0 {
		s += fmt.Sprintf(" cut after %d events", a.cutAfter)
	}
	return s
}

// Filler returns n bytes of deterministic ASCII text made of numbered lines,
// so that a truncated or reordered copy is easy to spot. It ends with "." and
// not with white space, which the CLI might trim.
func Filler(n int) string {
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(n + 64)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %07d the quick brown fox jumps over the lazy dog\n", i)
	}
	s := b.String()[:n-1]
	return s + "."
}
