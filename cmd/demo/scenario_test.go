package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The breaker's path through the outage: it opens, a failed probe
// re-opens it, then probes close it.
var outagePath = []string{
	"closed -> open",
	"open -> half-open",
	"half-open -> open",
	"open -> half-open",
	"half-open -> closed",
}

// The whole default scenario, as text: it exits 0 and its output shows a
// rate-limited wait, the breaker's path with a re-open, the 429 pause and
// a budget refusal; the summary adds up.
func TestScenarioAllText(t *testing.T) {
	code, out, stderr := runDemo(t, t.Context(), fast...)
	require.Equal(t, 0, code, "stderr: %s\nstdout:\n%s", stderr, out)
	assert.Empty(t, stderr)
	assert.NotContains(t, out, "\r", "plain output redrew a line in place")

	for _, want := range []string{
		"closed -> open: 3 failures in a row (consecutive failures reached the threshold)",
		"half-open -> open: a probe failed",
		"half-open -> closed: the probes succeeded",
		"refused, no process started: circuit open, retry after",
		"the simulated API is back up",
		"the API said 429 (api_retry 429): the limiter admits nobody",
		"4 more queries arrive during the pause",
		"pause over: the ",
		"refused, no process started: budget exhausted, retry after ",
		"warm    warm     Stats().Warm: Misses 1 (cold starts), Hits 2 (parked CLIs claimed), Reused 0 ",
		"reuse   warm     Stats().Warm: Misses 1 (cold starts), Hits 2 (parked CLIs claimed), Reused 3 ",
	} {
		assert.Contains(t, out, want)
	}
	// Which query waits depends on the order the burst's goroutines reach
	// the limiter.
	assert.Regexp(t, `burst   rate     the minute window is empty: query \d+ waits in line \(FIFO\), one more token every 1s\n`, out)
	assert.Regexp(t, `burst   rate     a token refilled: query \d+ admitted after \S+ in line, 0 still wait for a token\n`, out)
	assert.Regexp(t, `(?m)^ +[0-9.]+s  burst   status   breaker closed +tokens [0-9.]+/min`, out, "no status line")
	// How each warm phase's query started, as its done line says it.
	for phase, starts := range map[string][]string{
		"warm":  {"cold: its CLI started for it", "on a warm spare", "on a warm spare"},
		"reuse": {"cold: its CLI started for it", "reused: the previous query's CLI", "reused: the previous query's CLI"},
	} {
		var got []string
		for _, m := range regexp.MustCompile(`(?m)^ +[0-9.]+s  `+phase+` +done +query \d+ done in \S+, (.+?)(:| \(pid)`).FindAllStringSubmatch(out, -1) {
			got = append(got, m[1])
		}
		for i := range starts {
			starts[i], _, _ = strings.Cut(starts[i], ":")
		}
		assert.Equal(t, starts, got, "the %s phase's done lines:\n%s", phase, out)
	}

	i := strings.Index(out, "\nsummary (scenario all, ")
	require.GreaterOrEqual(t, i, 0, "no summary in:\n%s", out)
	sum := out[i:]
	count := func(label string) int {
		m := regexp.MustCompile(`(?m)^ +` + label + ` +(\d+)`).FindStringSubmatch(sum)
		require.NotNil(t, m, "no %q row in the summary:\n%s", label, sum)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n
	}
	sent, completed, failed, refused := count("queries sent"), count("completed"), count("failed"), count("refused")
	assert.Equal(t, sent, completed+failed+refused, "sent != completed + failed + refused:\n%s", sum)
	assert.GreaterOrEqual(t, completed, 61+5+5+4+3+3, "burst 61, outage at least 2 probes and 3 after, pause 5, budget 4, warm 3, reuse 3:\n%s", sum)
	assert.GreaterOrEqual(t, failed, 4, "3 failures to open, 1 failed probe")
	assert.Regexp(t, `refused +\d+ +circuit open \d+, budget exhausted 2\n`, sum)
	assert.Regexp(t, `retry after (59m5\ds|1h0m0s) \(spent \$1\.00 of \$1\.00\)`, out, "the spend rolls off in an hour")
	// The four budget queries spend the budget; every other one costs $0.002.
	assert.Regexp(t, `total cost +`+regexp.QuoteMeta(fmt.Sprintf("$%.4f", 1+0.002*float64(completed-4)))+` `, sum)
	assert.Regexp(t, `rate +60/min +configured; the minute window ran dry after 60 at once, 1 admitted after waiting`, sum)
	assert.Regexp(t, `query latency +[0-9.]+ s +cold, the median of 2\n +[0-9.]+ s +warm spare, the median of 2\n +[0-9.]+ s +reused, the median of 2\n`, sum)

	var path []string
	for _, m := range regexp.MustCompile(`(?m)^ +[0-9.]+s  outage  (\S+ -> \S+)$`).FindAllStringSubmatch(sum, -1) {
		path = append(path, m[1])
	}
	assert.Equal(t, outagePath, path, "breaker transitions in the summary:\n%s", sum)
}

// --json prints one JSON object a line: every event, then the summary,
// whose numbers agree with the events. With --metrics, a scrape as the
// warm phase begins (after the burst, the outage, the pause and the
// budget) finds their series with the same numbers.
func TestScenarioAllJSON(t *testing.T) {
	var stdout, stderr lockedBuffer
	var url string
	var scraped map[string]*dto.MetricFamily
	stdout.onWrite = func(p []byte) {
		var e event
		if json.Unmarshal(p, &e) != nil {
			return
		}
		switch {
		case e.Kind == "metrics":
			url = e.URL
		case e.Kind == "phase" && e.Phase == "warm" && url != "":
			scraped = scrape(t, url) // the demo waits: it is writing this line
		}
	}
	code := run(t.Context(), append([]string{"--json", "--metrics", "127.0.0.1:0"}, fast...), &stdout, &stderr)
	out := stdout.String()
	require.Equal(t, 0, code, "stderr: %s\nstdout:\n%s", stderr.String(), out)

	var events []event
	var sum summary
	all := lines(out)
	require.NotEmpty(t, all)
	for i, line := range all {
		var kind struct {
			Event string `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &kind), "line %d is not JSON: %s", i, line)
		if i == len(all)-1 {
			require.Equal(t, "summary", kind.Event, "the last line is not the summary")
			require.NoError(t, json.Unmarshal([]byte(line), &sum))
			continue
		}
		var e event
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		assert.NotEmpty(t, e.Message, line)
		events = append(events, e)
	}

	byKind := map[string][]event{}
	for _, e := range events {
		byKind[e.Kind] = append(byKind[e.Kind], e)
	}
	assert.Empty(t, byKind["status"], "status lines in JSON output")
	assert.Len(t, byKind["phase"], 6)
	require.Len(t, byKind["metrics"], 1)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/metrics$`, byKind["metrics"][0].URL)
	assert.NotEmpty(t, byKind["rate"], "no rate-limited wait")
	require.NotEmpty(t, byKind["pause"], "no pause")
	// Nothing of the pause phase finishes before the pause ends: the
	// queries that arrived meanwhile waited.
	until := byKind["pause"][0].Until
	assert.Positive(t, until)
	var pauseDone int
	for _, e := range byKind["done"] {
		if e.Phase == "pause" {
			pauseDone++
			assert.GreaterOrEqual(t, e.T, until, "query %d finished during the pause", e.Query)
		}
	}
	assert.Equal(t, 5, pauseDone)

	// The warm phases: how each query's CLI started (by the pool's counts)
	// and which process answered it (the simulated CLI's pid).
	starts, pids := map[string][]string{}, map[string][]int{}
	for _, e := range byKind["done"] {
		switch e.Phase {
		case "warm", "reuse":
			starts[e.Phase] = append(starts[e.Phase], e.Start)
			pids[e.Phase] = append(pids[e.Phase], e.Pid)
			assert.Positive(t, e.LatencyS, "query %d", e.Query)
		default:
			assert.Empty(t, e.Start, "a query of the %s phase claims no warm process", e.Phase)
		}
	}
	assert.Equal(t, []string{"cold", "warm spare", "warm spare"}, starts["warm"])
	assert.Equal(t, []string{"cold", "reused", "reused"}, starts["reuse"])
	if w := pids["warm"]; assert.Len(t, w, 3) {
		assert.Len(t, map[int]bool{w[0]: true, w[1]: true, w[2]: true}, 3, "each warm query has a CLI of its own: %v", w)
		assert.NotContains(t, w, 0)
	}
	if r := pids["reuse"]; assert.Len(t, r, 3) {
		assert.Equal(t, []int{r[0], r[0], r[0]}, r, "the reuse phase's queries share one CLI")
		assert.NotZero(t, r[0])
	}
	require.Len(t, sum.Warm, 3)
	for i, want := range []string{"cold", "warm spare", "reused"} {
		assert.Equal(t, want, sum.Warm[i].Start)
		assert.Equal(t, 2, sum.Warm[i].Queries, want)
		assert.Positive(t, sum.Warm[i].MedianS, want)
	}

	var path []string
	for _, e := range byKind["breaker"] {
		path = append(path, e.From+" -> "+e.To)
	}
	assert.Equal(t, outagePath, path)
	require.Len(t, sum.Transitions, len(outagePath))
	for i, tr := range sum.Transitions {
		assert.Equal(t, outagePath[i], tr.From+" -> "+tr.To)
		assert.Equal(t, "outage", tr.Phase)
		if i > 0 {
			assert.GreaterOrEqual(t, tr.T, sum.Transitions[i-1].T, "transitions out of order")
		}
	}

	refusals := map[string]int{}
	for _, e := range byKind["refused"] {
		refusals[e.Reason]++
		assert.Positive(t, e.Query)
		if e.Reason == "budget" {
			assert.Greater(t, e.RetryAfter, 3000.0, "a budget refusal should say the spend rolls off in about an hour")
		}
	}
	assert.Equal(t, sum.Refused, refusals, "JSON output folds no refusal: one event each")
	assert.Equal(t, 2, refusals["budget"])
	assert.Positive(t, refusals["circuit"])
	assert.Len(t, byKind["failed"], sum.Failed)

	assert.Equal(t, sum.Sent, sum.Completed+sum.Failed+sum.RefusedTotal+sum.Interrupted)
	assert.Zero(t, sum.Interrupted)
	assert.Equal(t, "all", sum.Scenario)
	assert.Equal(t, "minute", sum.Rate.Window)
	assert.EqualValues(t, 60, sum.Rate.Burst)
	assert.Equal(t, 1, sum.Rate.Waited)
	// The four budget queries spend the budget; every other one costs $0.002.
	assert.InDelta(t, 1+0.002*float64(sum.Completed-4), sum.CostUSD, 1e-6)

	// The scrape, before the warm phases' 6 queries.
	require.NotNil(t, scraped, "no scrape as the warm phase began")
	metric := func(name string, labels ...string) float64 {
		t.Helper()
		v, ok := sample(scraped, name, labels...)
		assert.True(t, ok, "no %s%v in the scrape", name, labels)
		return v
	}
	assert.Equal(t, float64(sum.Completed-6), metric("claude_agent_queries_total", "claude_agent_outcome=success"))
	assert.Equal(t, float64(sum.Failed), metric("claude_agent_queries_total", "claude_agent_outcome=failure", "error_type=529"))
	assert.Equal(t, float64(sum.Refused["circuit"]), metric("claude_agent_refusals_total", "claude_agent_limit=circuit"))
	assert.Equal(t, 2.0, metric("claude_agent_refusals_total", "claude_agent_limit=budget"))
	assert.Equal(t, 1.0, metric("claude_agent_limiter_wait_seconds", "claude_agent_limit=minute"), "the one query that waited for a token")
	assert.Equal(t, 2.0, metric("claude_agent_breaker_transitions_total", "claude_agent_breaker_from=open", "claude_agent_breaker_to=half-open"))
	assert.Equal(t, 1.0, metric("claude_agent_breaker_transitions_total", "claude_agent_breaker_from=half-open", "claude_agent_breaker_to=closed"))
	assert.Equal(t, 1.0, metric("claude_agent_pauses_total"))
	assert.InDelta(t, 1+0.002*float64(sum.Completed-6-4), metric("claude_agent_cost_usd_total", "claude_agent_cost_estimated=false"), 1e-6)
	assert.Equal(t, 1.0, metric("claude_agent_breaker_state", "claude_agent_breaker_state=closed"), "the warm phase's client is registered")
	for name, fam := range scraped {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotContains(t, []string{"session_id", "claude_agent_query_id", "gen_ai_conversation_id"}, l.GetName(), "%s: a high-cardinality label", name)
			}
		}
	}
}

// scrape gets url and parses the Prometheus text it serves.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// sample is the value of the series of name whose labels include each of
// labels ("key=value"): a counter's or gauge's value, a histogram's count;
// summed when several series match.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// Interrupting the demo stops it at once: every query it started ends,
// the summary is printed with the interrupted ones, and it exits 130.
func TestInterruptStopsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	stdout.onWrite = func(p []byte) {
		if strings.Contains(string(p), "waits in line") {
			cancel()
		}
	}
	// Ten queries run (for 2 s each), two wait for a token: the window runs
	// dry at once, and the interrupt comes then.
	code := run(ctx, []string{"--rpm", "10", "--queries", "12", "--concurrency", "10", "--scale", "20"}, &stdout, &stderr)
	out := stdout.String()
	assert.Equal(t, exitInterrupted, code, out)
	assert.Contains(t, stderr.String(), "interrupted")
	assert.NotContains(t, out, "outage", "the demo went on after the interrupt")
	assert.Regexp(t, `queries sent +12\n`, out)
	assert.Regexp(t, `interrupted +12 +ended by Ctrl-C`, out, "running and waiting queries alike end with the interrupt")
}

// Four budget queries add up to the whole budget as the limiter sums them,
// never less (the fifth would be admitted) and at most a rounding more.
func TestBudgetCostSpendsTheBudgetInFour(t *testing.T) {
	for _, budget := range []float64{1, 0.7, 0.1, 3.3, 10, 1e-6, 123.456} {
		c := budgetCost(budget)
		spent := 0.0
		for range 4 {
			spent += c
		}
		assert.GreaterOrEqual(t, spent, budget, "budget %v", budget)
		assert.InDelta(t, budget/4, c, budget*1e-12, "budget %v", budget)
	}
}
