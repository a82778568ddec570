package protocol

import (
	"errors"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, l := range realLines(f) {
		f.Add(l)
	}
	for _, l := range []string{
		lineAssistantToolUse, lineAssistantThinking, lineUserToolResult, lineUserToolResultList,
		lineUserText, lineResultSuccess, lineResult529, lineAPIRetry, lineAPIRetryConn,
		lineRateLimit, lineStreamEvent, lineUnknown, `{"typ\u0065":"user"}`, `{"type":"a\"b"}`, `{`, ``,
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		in := string(line)
		m, err := Decode(line)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || m != nil {
				t.Fatalf("Decode(%q) = %v, %v: want nil, *DecodeError", line, m, err)
			}
			return
		}
		if string(m.Raw()) != in {
			t.Fatalf("Raw() = %q, want %q", m.Raw(), in)
		}
		_ = m.Type()
	})
}
