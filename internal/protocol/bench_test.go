package protocol

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecode decodes a realistic mix of stream-json lines (init,
// assistant with text and tool_use, user tool_result, result) into typed
// messages, and the same lines with plain json.Unmarshal into map[string]any.
func BenchmarkDecode(b *testing.B) {
	mix := [][]byte{
		realLines(b)[0],
		[]byte(lineAssistantToolUse),
		[]byte(lineUserToolResult),
		[]byte(lineResultSuccess),
	}
	var size int64
	for _, l := range mix {
		size += int64(len(l))
	}
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			for _, l := range mix {
				if _, err := Decode(l); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			for _, l := range mix {
				var m map[string]any
				if err := json.Unmarshal(l, &m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
