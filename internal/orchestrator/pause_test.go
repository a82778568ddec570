package orchestrator

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pure rule of API pauses: cut to the maximum, malformed ignored, no
// overflow, other lines no signal.
func TestPauseSignal(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	p := &pauses{max: time.Hour}
	retry := func(ms string) string {
		return `{"type":"system","subtype":"api_retry","retry_delay_ms":` + ms + `,"error_status":429,"error":"rate_limit"}`
	}
	rejected := func(at time.Time) string {
		return fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":%d}}`, at.Unix())
	}
	for _, tc := range []struct {
		name, line   string
		ok           bool
		until        time.Time
		cut, ignored bool
	}{
		{"429 of 7 s", retry("7000"), true, now.Add(7 * time.Second), false, false},
		{"429 of 1e17 ms", retry("1e17"), true, now.Add(time.Hour), true, false},
		{"429 of 1e400 ms", retry("1e400"), false, time.Time{}, false, false}, // not even a float64: a DecodeError
		{"429 of 0", retry("0"), true, time.Time{}, false, true},
		{"500 retry", `{"type":"system","subtype":"api_retry","retry_delay_ms":500,"error_status":500}`, false, time.Time{}, false, false},
		{"reset in 10 min", rejected(now.Add(10 * time.Minute)), true, now.Add(10 * time.Minute), false, false},
		{"reset in 31 years", rejected(now.AddDate(31, 0, 0)), true, now.Add(time.Hour), true, false},
		{"reset past", rejected(now.Add(-time.Second)), true, time.Time{}, false, true},
		{"reset missing", `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected"}}`, true, time.Time{}, false, true},
		{"allowed", `{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1e12}}`, false, time.Time{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeOrNil(tc.line)
			if m == nil {
				require.Error(t, err)
				assert.False(t, tc.ok)
				return
			}
			s, ok := p.signal(m, now)
			require.Equal(t, tc.ok, ok)
			assert.True(t, tc.until.Equal(s.until), "until %v, want %v", s.until, tc.until)
			assert.Equal(t, tc.cut, s.cut)
			assert.Equal(t, tc.ignored, s.ignored)
		})
	}
}
