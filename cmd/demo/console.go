package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// event is one line of the demo's story: a phase starting, a state change
// of a guard, a pause, a refusal, a failure or a finished query.
type event struct {
	T          float64 `json:"t"` // seconds since the demo started
	Phase      string  `json:"phase"`
	Kind       string  `json:"event"` // phase, backend, queries, breaker, rate, pause, warm, refused, failed, done
	Query      int     `json:"query,omitempty"`
	From       string  `json:"from,omitempty"` // breaker events
	To         string  `json:"to,omitempty"`
	Reason     string  `json:"reason,omitempty"`        // refused: circuit, rate, budget, queue, closed
	RetryAfter float64 `json:"retry_after_s,omitempty"` // refused, in seconds
	CostUSD    float64 `json:"cost_usd,omitempty"`
	Queued     int     `json:"queued,omitempty"`
	Until      float64 `json:"until_s,omitempty"`   // pause: when it ends, in seconds since the start
	Start      string  `json:"start,omitempty"`     // warm phases' done: cold, warm spare or reused
	LatencyS   float64 `json:"latency_s,omitempty"` // warm phases' done: the query's time, in seconds
	Pid        int     `json:"pid,omitempty"`       // warm phases' done: the simulated CLI's pid
	URL        string  `json:"url,omitempty"`       // metrics: where they are served
	Message    string  `json:"message"`
}

// console writes events, the status line and the summary, as text or as
// JSON lines. On a terminal the status line is redrawn in place; elsewhere
// it is printed as a plain line now and then. It is safe for concurrent use.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	json   bool
	tty    bool
	width  int    // terminal columns; 0 when unknown
	status string // the status line on screen (tty only)

	// Refusals of the same reason in a row are folded into one line in
	// text mode: the first is printed, the others counted here.
	lastRefusal string
	folded      int
	foldedAt    float64
	foldedPhase string
}

func newConsole(w io.Writer, asJSON bool) *console {
	c := &console{w: w, json: asJSON}
	if f, ok := w.(*os.File); ok && !asJSON {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.tty, c.width = true, terminalWidth(f)
		}
	}
	return c
}

// event prints e.
func (c *console) event(e event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.json {
		e.T, e.RetryAfter, e.Until, e.LatencyS = ms(e.T), ms(e.RetryAfter), ms(e.Until), ms(e.LatencyS)
		c.writeJSON(e)
		return
	}
	if e.Kind == "refused" && e.Reason == c.lastRefusal {
		c.folded++
		c.foldedAt, c.foldedPhase = e.T, e.Phase
		return
	}
	c.flushFolded()
	c.lastRefusal = ""
	if e.Kind == "refused" {
		c.lastRefusal = e.Reason
	}
	c.line(textLine(e.T, e.Phase, e.Kind, e.Message))
}

// flushFolded prints the count of refusals folded since the last line.
func (c *console) flushFolded() {
	if c.folded == 0 {
		return
	}
	c.line(textLine(c.foldedAt, c.foldedPhase, "refused",
		fmt.Sprintf("... and %d more refused the same way (%s)", c.folded, refusalNames[c.lastRefusal])))
	c.folded = 0
}

// showStatus redraws the status line in place on a terminal, or prints it
// as a line when keep is set (plain output prints only those).
func (c *console) showStatus(s string, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.json:
	case c.tty:
		if c.width > 1 && len(s) >= c.width {
			s = s[:c.width-1]
		}
		c.status = s
		fmt.Fprint(c.w, "\r"+s+"\x1b[K")
		if keep {
			fmt.Fprint(c.w, "\n")
			c.status = ""
		}
	case keep:
		c.flushFolded()
		fmt.Fprintln(c.w, s)
	}
}

// text prints lines as they are (text mode only), e.g. the summary.
func (c *console) text(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.json {
		c.flushFolded()
		c.lastRefusal = ""
		c.line(s)
	}
}

// value prints v as one JSON line (JSON mode only), e.g. the summary.
func (c *console) value(v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.json {
		c.writeJSON(v)
	}
}

// line prints s above the status line, which it then redraws.
func (c *console) line(s string) {
	if c.tty && c.status != "" {
		fmt.Fprint(c.w, "\r\x1b[K"+s+"\n"+c.status)
		return
	}
	fmt.Fprintln(c.w, s)
}

func (c *console) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = fmt.Appendf(nil, `{"event":"warning","message":%q}`, err.Error())
	}
	c.w.Write(append(b, '\n'))
}

// ms rounds seconds to milliseconds.
func ms(seconds float64) float64 { return math.Round(seconds*1000) / 1000 }

// textLine is the layout shared by events and status lines.
func textLine(t float64, phase, kind, msg string) string {
	return fmt.Sprintf("%7.2fs  %-6s  %-8s %s", t, phase, kind, msg)
}
