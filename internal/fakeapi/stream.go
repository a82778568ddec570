package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// stream writes one scripted answer to one POST /v1/messages request.
type stream struct {
	w      http.ResponseWriter
	r      *http.Request
	a      Answer
	done   <-chan struct{}
	model  string
	toolID string
	sse    bool // the request asked for "stream": true
	sent   int  // SSE events written
	// onEvent, when set, is told the count after each event written.
	onEvent func(sent int)
}

// event is one Server-Sent Event of the Messages API stream.
type event struct {
	name string
	data any
}

// serve writes the answer and reports whether all of it was written.
func (st *stream) serve() (complete bool) {
	for k, v := range st.a.headers {
		st.w.Header().Set(k, v)
	}
	switch st.a.kind {
	case kindDrop:
		st.hangUp()
		return false
	case kindError:
		st.w.Header().Set("Content-Type", "application/json")
		st.w.WriteHeader(st.a.status)
		st.w.Write(errorBody(st.a.errType, st.a.text))
		return true
	}
	if !st.sse {
		return st.serveJSON()
	}
	st.w.Header().Set("Content-Type", "text/event-stream")
	st.w.Header().Set("Cache-Control", "no-cache")
	st.w.WriteHeader(http.StatusOK)
	events := st.events()
	for i, ev := range events {
		if i > 0 && !st.pause() {
			return false
		}
		if err := st.write(ev); err != nil {
			return false
		}
		if st.a.cutAfter > 0 && st.sent >= st.a.cutAfter {
			st.hangUp()
			return st.sent == len(events)
		}
	}
	return true
}

// serveJSON answers a request without "stream": true, such as the CLI's
// fallback after a broken stream, with the whole message as one JSON object.
// Gate and delay hold the answer back once; a cut sends half of the body.
func (st *stream) serveJSON() (complete bool) {
	body, _ := json.Marshal(st.message())
	st.w.Header().Set("Content-Type", "application/json")
	if !st.pause() {
		return false
	}
	if st.a.cutAfter > 0 {
		st.w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		st.w.WriteHeader(http.StatusOK)
		st.w.Write(body[:len(body)/2])
		st.hangUp()
		return false
	}
	_, err := st.w.Write(body)
	return err == nil
}

// message is the whole answer as a non-streaming Messages API response.
func (st *stream) message() map[string]any {
	a := st.a
	in, out := st.usage()
	var block map[string]any
	stop := "end_turn"
	if a.kind == kindToolUse {
		stop = "tool_use"
		name, input := a.toolUse()
		block = map[string]any{"type": "tool_use", "id": st.toolID, "name": name, "input": input}
	} else {
		block = map[string]any{"type": "text", "text": a.text}
	}
	return map[string]any{
		"id": st.messageID(), "type": "message", "role": "assistant", "model": st.modelName(),
		"content": []any{block}, "stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": out},
	}
}

func (st *stream) usage() (in, out int) {
	if st.a.usageSet {
		return st.a.inTokens, st.a.outTokens
	}
	return DefaultInputTokens, DefaultOutputTokens
}

func (st *stream) modelName() string {
	if st.model == "" {
		return "claude-fake"
	}
	return st.model
}

func (st *stream) messageID() string {
	return "msg_fake_" + st.toolID[len("toolu_fake"):]
}

// pause waits, before an event after message_start, for the gate and the
// delay; false means the server is closing or the client left.
func (st *stream) pause() bool {
	if st.a.gate != nil {
		select {
		case <-st.a.gate:
		case <-st.done:
			return false
		case <-st.r.Context().Done():
			return false
		}
	}
	if st.a.delay > 0 {
		t := time.NewTimer(st.a.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-st.done:
			return false
		case <-st.r.Context().Done():
			return false
		}
	}
	return true
}

func (st *stream) write(ev event) error {
	data, err := json.Marshal(ev.data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(st.w, "event: %s\ndata: %s\n\n", ev.name, data); err != nil {
		return err
	}
	st.sent++
	if st.onEvent != nil {
		st.onEvent(st.sent)
	}
	return http.NewResponseController(st.w).Flush()
}

// hangUp closes the connection under the response: what was flushed stays
// sent, the rest (the end of the chunked body, or the whole response) never
// comes.
func (st *stream) hangUp() {
	conn, _, err := http.NewResponseController(st.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection too, without a log line
	}
	conn.Close()
}

// events lists the SSE events of a text or tool_use answer.
func (st *stream) events() []event {
	a := st.a
	in, out := st.usage()
	evs := []event{{"message_start", map[string]any{
		"type": "message_start",
		"message": map[string]any{
			"id": st.messageID(), "type": "message", "role": "assistant",
			"model": st.modelName(), "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": 1},
		},
	}}}
	stop := "end_turn"
	if a.kind == kindToolUse {
		stop = "tool_use"
		name, input := a.toolUse()
		evs = append(evs, event{"content_block_start", map[string]any{
			"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "tool_use", "id": st.toolID, "name": name, "input": map[string]any{}},
		}})
		for _, part := range chunks(string(input), a.chunkBytes) {
			evs = append(evs, event{"content_block_delta", map[string]any{
				"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": part},
			}})
		}
	} else {
		evs = append(evs, event{"content_block_start", map[string]any{
			"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""},
		}})
		for _, part := range chunks(a.text, a.chunkBytes) {
			evs = append(evs, event{"content_block_delta", map[string]any{
				"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "text_delta", "text": part},
			}})
		}
	}
	return append(evs,
		event{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		event{"message_delta", map[string]any{
			"type":  "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": out},
		}},
		event{"message_stop", map[string]any{"type": "message_stop"}},
	)
}

// chunks splits s into pieces of at most n bytes (defaultChunkBytes when
// n <= 0) without splitting a UTF-8 sequence. An empty s gives no pieces.
func chunks(s string, n int) []string {
	if n <= 0 {
		n = defaultChunkBytes
	}
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end > 0 && end < len(s) && !utf8.RuneStart(s[end]) {
			end--
		}
		if end == 0 { // n is smaller than the first rune: send it whole
			_, end = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}
