package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func refusal(t float64, reason string) event {
	return event{T: t, Phase: "outage", Kind: "refused", Reason: reason, Message: "query refused: " + reason}
}

// In text mode, refusals of the same reason in a row fold into one line
// and a count; another reason or another event ends the run.
func TestConsoleFoldsRefusals(t *testing.T) {
	var out lockedBuffer
	c := newConsole(&out, false)
	c.event(refusal(1, "circuit"))
	c.event(refusal(1.1, "circuit"))
	c.event(refusal(1.2, "circuit"))
	c.event(event{T: 1.3, Phase: "outage", Kind: "breaker", Message: "open -> half-open"})
	c.event(refusal(1.4, "circuit"))
	c.event(refusal(1.5, "budget"))
	c.event(refusal(1.6, "budget"))
	c.text("the end")

	assert.Equal(t, []string{
		textLine(1, "outage", "refused", "query refused: circuit"),
		textLine(1.2, "outage", "refused", "... and 2 more refused the same way (circuit open)"),
		textLine(1.3, "outage", "breaker", "open -> half-open"),
		textLine(1.4, "outage", "refused", "query refused: circuit"),
		textLine(1.5, "outage", "refused", "query refused: budget"),
		textLine(1.6, "outage", "refused", "... and 1 more refused the same way (budget exhausted)"),
		"the end",
	}, lines(out.String()))
}

// In JSON mode every event is a line of its own, rounded to milliseconds;
// status lines and text are left out, values are printed.
func TestConsoleJSON(t *testing.T) {
	var out lockedBuffer
	c := newConsole(&out, true)
	c.event(refusal(1.23456, "circuit"))
	c.event(refusal(1.3, "circuit"))
	c.showStatus("a status line", true)
	c.text("a text line")
	c.value(map[string]int{"sent": 2})

	got := lines(out.String())
	require.Len(t, got, 3)
	var e event
	require.NoError(t, json.Unmarshal([]byte(got[0]), &e))
	assert.Equal(t, 1.235, e.T)
	assert.Equal(t, "circuit", e.Reason)
	assert.JSONEq(t, `{"t":1.3,"phase":"outage","event":"refused","reason":"circuit","message":"query refused: circuit"}`, got[1])
	assert.JSONEq(t, `{"sent":2}`, got[2])
}

// On a terminal the status line is redrawn in place, events print above
// it, and a kept status line stays; it is cut to the terminal's width.
func TestConsoleTerminal(t *testing.T) {
	var out lockedBuffer
	c := &console{w: &out, tty: true, width: 12}
	c.showStatus("status 1", false)
	c.showStatus("status 2", false)
	c.event(event{T: 1, Phase: "burst", Kind: "rate", Message: "m"})
	c.showStatus("a status line far too long", true)
	c.event(event{T: 2, Phase: "burst", Kind: "rate", Message: "n"})

	assert.Equal(t,
		"\rstatus 1\x1b[K"+
			"\rstatus 2\x1b[K"+
			"\r\x1b[K"+textLine(1, "burst", "rate", "m")+"\nstatus 2"+
			"\ra status li\x1b[K\n"+
			textLine(2, "burst", "rate", "n")+"\n",
		out.String())
}

// Plain output prints only the status lines it is asked to keep.
func TestConsolePlainStatus(t *testing.T) {
	var out lockedBuffer
	c := newConsole(&out, false)
	require.False(t, c.tty, "a buffer is not a terminal")
	c.showStatus("kept", true)
	c.showStatus("not kept", false)
	assert.Equal(t, "kept\n", out.String())
}
