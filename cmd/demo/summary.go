package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// tally counts what happened to every query, the breaker's transitions and
// the admissions of a bound rate window. It is safe for concurrent use.
type tally struct {
	mu          sync.Mutex
	sent        int
	completed   int
	failed      int
	interrupted int // ended by Ctrl-C
	refused     map[string]int
	costUSD     float64
	transitions []transition
	rate        rateSample
	starts      map[string][]time.Duration // the warm phases' latencies, by how the CLI started
}

// transition is one change of the breaker's state.
type transition struct {
	T     float64 `json:"t"`
	Phase string  `json:"phase"`
	From  string  `json:"from"`
	To    string  `json:"to"`
}

// rateSample is what the limiter did once a query window ran dry: how many
// queries it had let through until then, and when it admitted each of the
// waiting ones. Only the first phase where a window ran dry is kept.
type rateSample struct {
	phase    string
	window   string // "minute" or "hour"
	burst    uint64 // admitted before the window ran dry
	admitted []time.Time
}

func newTally() *tally {
	return &tally{refused: map[string]int{}, starts: map[string][]time.Duration{}}
}

func (t *tally) sentOne() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent++
}

// outcome records how a query ended: completed, failed, refused (reason
// set) or interrupted; cost is what its result reported.
func (t *tally) outcome(kind, reason string, cost float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.costUSD += cost
	switch kind {
	case "done":
		t.completed++
	case "failed":
		t.failed++
	case "refused":
		t.refused[reason]++
	default:
		t.interrupted++
	}
}

func (t *tally) transition(tr transition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.transitions = append(t.transitions, tr)
}

// windowDry starts the rate sample, unless an earlier phase has one.
func (t *tally) windowDry(phase, window string, admitted uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate.phase == "" {
		t.rate = rateSample{phase: phase, window: window, burst: admitted}
	}
}

// admittedWaiting records n admissions of waiting queries at now.
func (t *tally) admittedWaiting(phase string, now time.Time, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate.phase != phase {
		return
	}
	for range n {
		t.rate.admitted = append(t.rate.admitted, now)
	}
}

// started records the latency of a warm phase's query by how its CLI
// started (startCold, startSpare, startReused).
func (t *tally) started(how string, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.starts[how] = append(t.starts[how], took)
}

// counts returns the queries completed, failed and refused so far.
func (t *tally) counts() (completed, failed, refused int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.refused {
		refused += n
	}
	return t.completed, t.failed, refused
}

// summary is the final report; its JSON form is the last line of --json.
type summary struct {
	Kind         string         `json:"event"` // "summary"
	Scenario     string         `json:"scenario"`
	ElapsedS     float64        `json:"elapsed_s"`
	Sent         int            `json:"sent"`
	Completed    int            `json:"completed"`
	Failed       int            `json:"failed"`
	Refused      map[string]int `json:"refused"`
	RefusedTotal int            `json:"refused_total"`
	Interrupted  int            `json:"interrupted"`
	CostUSD      float64        `json:"cost_usd"`
	BudgetUSD    float64        `json:"budget_usd"`
	Transitions  []transition   `json:"transitions"`
	Rate         rateSummary    `json:"rate"`
	Warm         []startSummary `json:"warm,omitempty"` // the warm phases' queries, by how their CLI started
}

// startSummary is the latency of the warm phases' queries whose CLI
// started one way.
type startSummary struct {
	Start   string  `json:"start"` // cold, warm spare or reused
	Queries int     `json:"queries"`
	MedianS float64 `json:"median_s"`
}

// rateSummary compares the rate the limiter kept with the configured one.
type rateSummary struct {
	ConfiguredPerMin float64 `json:"configured_per_min"`         // of the window that ran dry (rpm when none did)
	Window           string  `json:"window,omitempty"`           // the window that ran dry
	Burst            uint64  `json:"burst,omitempty"`            // admitted at once before it ran dry
	Waited           int     `json:"waited,omitempty"`           // admitted after waiting for a token
	ObservedPerMin   float64 `json:"observed_per_min,omitempty"` // the rate of those, 0 when fewer than two
}

func (t *tally) summary(o options, elapsed time.Duration) summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := summary{
		Kind:        "summary",
		Scenario:    o.scenario,
		ElapsedS:    round2(elapsed.Seconds()),
		Sent:        t.sent,
		Completed:   t.completed,
		Failed:      t.failed,
		Refused:     map[string]int{},
		Interrupted: t.interrupted,
		CostUSD:     round6(t.costUSD),
		BudgetUSD:   o.budget,
		Transitions: append([]transition{}, t.transitions...),
		Rate:        rateSummary{ConfiguredPerMin: float64(o.rpm), Window: t.rate.window, Burst: t.rate.burst, Waited: len(t.rate.admitted)},
	}
	if t.rate.window == "hour" {
		s.Rate.ConfiguredPerMin = round2(float64(o.rph) / 60)
	}
	if o.real {
		s.Scenario = "real"
	}
	for reason, n := range t.refused {
		s.Refused[reason] = n
		s.RefusedTotal += n
	}
	for _, how := range startOrder {
		if l := t.starts[how]; len(l) > 0 {
			s.Warm = append(s.Warm, startSummary{Start: how, Queries: len(l), MedianS: ms(median(l).Seconds())})
		}
	}
	if a := t.rate.admitted; len(a) >= 2 {
		if span := a[len(a)-1].Sub(a[0]); span > 0 {
			s.Rate.ObservedPerMin = round2(float64(len(a)-1) / span.Minutes())
		}
	}
	return s
}

// text renders the summary as a table.
func (s summary) text() string {
	var b strings.Builder
	row := func(label, value, note string) {
		line := fmt.Sprintf("  %-19s %8s   %s", label, value, note)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	fmt.Fprintf(&b, "\nsummary (scenario %s, %.1f s)\n", s.Scenario, s.ElapsedS)
	row("queries sent", fmt.Sprint(s.Sent), "")
	row("  completed", fmt.Sprint(s.Completed), "")
	failedNote := "the CLI ran, the API failed (the simulated 529s)"
	if s.Scenario == "real" {
		failedNote = "the CLI ran, the query failed"
	}
	row("  failed", fmt.Sprint(s.Failed), failedNote)
	var reasons []string
	for _, r := range refusalOrder {
		if n := s.Refused[r]; n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", refusalNames[r], n))
		}
	}
	row("  refused", fmt.Sprint(s.RefusedTotal), strings.Join(reasons, ", "))
	if s.Interrupted > 0 {
		row("  interrupted", fmt.Sprint(s.Interrupted), "ended by Ctrl-C")
	}
	row("total cost", fmt.Sprintf("$%.4f", s.CostUSD), fmt.Sprintf("budget $%.2f per hour, each phase on its own client", s.BudgetUSD))
	row("rate", fmt.Sprintf("%g/min", s.Rate.ConfiguredPerMin), s.Rate.text())
	for i, w := range s.Warm {
		label := ""
		if i == 0 {
			label = "query latency"
		}
		row(label, fmt.Sprintf("%.3f s", w.MedianS), fmt.Sprintf("%s, the median of %d", w.Start, w.Queries))
	}
	row("breaker transitions", fmt.Sprint(len(s.Transitions)), "")
	for _, tr := range s.Transitions {
		fmt.Fprintf(&b, "    %7.2fs  %-6s  %s -> %s\n", tr.T, tr.Phase, tr.From, tr.To)
	}
	return strings.TrimRight(b.String(), "\n")
}

func (r rateSummary) text() string {
	switch {
	case r.Window == "":
		return "configured; no query window ran dry"
	case r.ObservedPerMin == 0:
		return fmt.Sprintf("configured; the %s window ran dry after %d at once, %d admitted after waiting",
			r.Window, r.Burst, r.Waited)
	}
	return fmt.Sprintf("configured; observed: %d at once (the bucket), then %d waiting ones at %.1f/min",
		r.Burst, r.Waited, r.ObservedPerMin)
}

// median of a non-empty list; it sorts a copy.
func median(l []time.Duration) time.Duration {
	l = slices.Clone(l)
	slices.Sort(l)
	if n := len(l); n%2 == 0 {
		return (l[n/2-1] + l[n/2]) / 2
	}
	return l[len(l)/2]
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
func round6(f float64) float64 { return float64(int64(f*1e6+0.5)) / 1e6 }
