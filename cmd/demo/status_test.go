package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// t0 is when the test demos start.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

// testWatcher is a watcher of a stage without a client, writing JSON
// events to the returned buffer.
func testWatcher() (*watcher, *lockedBuffer) {
	var out lockedBuffer
	d := &demo{
		opts:  options{rpm: 60, rph: 1000, budget: 1, failureThreshold: 3, openTimeout: 2 * time.Second, scale: 1},
		out:   newConsole(&out, true),
		tally: newTally(),
		start: t0,
	}
	return &watcher{s: &stage{d: d, name: "test"}}, &out
}

// events decodes the JSON events written to out.
func events(t *testing.T, out *lockedBuffer) []event {
	t.Helper()
	var evs []event
	for _, line := range lines(out.String()) {
		var e event
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		evs = append(evs, e)
	}
	return evs
}

func opened(nextHalfOpen, timeout float64) agent.BreakerStats {
	return agent.BreakerStats{State: agent.StateOpen, NextHalfOpen: at(nextHalfOpen), OpenTimeout: time.Duration(timeout * float64(time.Second))}
}

var (
	closed   = agent.BreakerStats{State: agent.StateClosed}
	halfOpen = agent.BreakerStats{State: agent.StateHalfOpen}
)

// The watcher reports each change of the breaker between two snapshots,
// with the time it happened, and infers the states a poll missed.
func TestWatcherBreakerTransitions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prev, cur agent.BreakerStats
		now       float64
		want      []string // "from -> to @ t"
	}{
		{"unchanged closed", closed, closed, 1, nil},
		{"unchanged open", opened(3, 2), opened(3, 2), 1.5, nil},
		{"unchanged half-open", halfOpen, halfOpen, 3.5, nil},
		{"opens: at its next half-open minus its open time", closed, opened(3, 2), 1.02, []string{"closed -> open @ 1.00"}},
		{"turns half-open: at the time it was due", opened(3, 2), halfOpen, 3.01, []string{"open -> half-open @ 3.00"}},
		{"re-opens from half-open", halfOpen, opened(7.5, 4.2), 3.31, []string{"half-open -> open @ 3.30"}},
		{"closes from half-open: at the poll", halfOpen, closed, 3.6, []string{"half-open -> closed @ 3.60"}},
		{"a missed half-open before a re-open", opened(3, 2), opened(7.5, 4.2), 3.31,
			[]string{"open -> half-open @ 3.00", "half-open -> open @ 3.30"}},
		{"a missed half-open before closing", opened(3, 2), closed, 3.6,
			[]string{"open -> half-open @ 3.00", "half-open -> closed @ 3.60"}},
		{"a missed open before half-open", closed, halfOpen, 4,
			[]string{"closed -> open @ 4.00", "open -> half-open @ 4.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, out := testWatcher()
			w.breaker(tc.prev, tc.cur, at(tc.now))

			var got []string
			for _, tr := range w.s.d.tally.transitions {
				got = append(got, fmt.Sprintf("%s -> %s @ %.2f", tr.From, tr.To, tr.T))
			}
			assert.Equal(t, tc.want, got)
			evs := events(t, out)
			require.Len(t, evs, len(tc.want), "one event per transition")
			for i, e := range evs {
				assert.Equal(t, "breaker", e.Kind)
				assert.Equal(t, fmt.Sprintf("%s -> %s @ %.2f", e.From, e.To, e.T), tc.want[i])
			}
		})
	}
}

// A re-open's event gives the new, longer open time.
func TestWatcherReopenMessage(t *testing.T) {
	w, out := testWatcher()
	w.breaker(halfOpen, opened(7.5, 4.2), at(3.31))
	evs := events(t, out)
	require.Len(t, evs, 1)
	assert.Equal(t, "half-open -> open: a probe failed: open again, for 4.2s this time (doubled, plus jitter)", evs[0].Message)
}

// limiterStats is a snapshot with queued callers, minute tokens left and
// admissions so far.
func limiterStats(queued int, minuteTokens float64, admitted uint64) agent.Stats {
	return agent.Stats{
		Limiter: agent.LimiterStats{MinuteTokens: minuteTokens, HourTokens: 900, Admitted: admitted, Queued: queued},
	}
}

// When the minute window runs dry with queries waiting, the watcher says
// so, then reports each admission of a waiting query and the end of the
// line; the tally measures the rate of those admissions.
func TestWatcherWindowRunsDry(t *testing.T) {
	w, out := testWatcher()
	steps := []struct {
		now  float64
		snap agent.Stats
	}{
		{0.1, limiterStats(50, 40, 10)}, // waiting for a slot, tokens left: not dry
		{0.8, limiterStats(2, 0.2, 60)}, // dry, 2 in line
		{1.0, limiterStats(1, 0, 61)},
		{2.0, limiterStats(0, 0, 62)},
	}
	prev := limiterStats(0, 60, 0)
	for _, s := range steps {
		w.window(prev, s.snap, at(s.now))
		prev = s.snap
	}

	var msgs []string
	for _, e := range events(t, out) {
		assert.Equal(t, "rate", e.Kind)
		msgs = append(msgs, fmt.Sprintf("%.1f %s", e.T, e.Message))
	}
	assert.Equal(t, []string{
		"0.8 the minute window is empty after 60 queries: 2 wait in line (FIFO), one more token every 1s",
		"1.0 a token refilled: 1 waiting query admitted, 1 still in line",
		"2.0 a token refilled: 1 waiting query admitted, 0 still in line",
		"2.0 the line is empty",
	}, msgs)

	sum := w.s.d.tally.summary(w.s.d.opts, 2*time.Second)
	assert.Equal(t, rateSummary{ConfiguredPerMin: 60, Window: "minute", Burst: 60, Waited: 2, ObservedPerMin: 60}, sum.Rate)
}

// A pause the API asked for is reported with its length, and its end with
// the queries that waited; a pause shorter than a poll is still reported.
func TestWatcherPause(t *testing.T) {
	paused := func(until float64, queued int) agent.Stats {
		return agent.Stats{Limiter: agent.LimiterStats{PausedUntil: at(until), Queued: queued}}
	}

	w, out := testWatcher()
	w.pause(agent.Stats{}, paused(2.5, 0), at(1))
	w.pause(paused(2.5, 0), paused(2.5, 4), at(2))
	w.pause(paused(2.5, 4), paused(2.5, 0), at(2.51)) // the limiter already let them go
	w.pause(paused(2.5, 0), paused(2.5, 0), at(3))
	// Set and over between two polls.
	w.pause(paused(2.5, 0), paused(3.2, 0), at(3.3))

	var msgs []string
	for _, e := range events(t, out) {
		assert.Equal(t, "pause", e.Kind)
		assert.Positive(t, e.Until, "no end time in %q", e.Message)
		msgs = append(msgs, fmt.Sprintf("%.2f %s", e.T, e.Message))
	}
	assert.Equal(t, []string{
		"1.00 the API said 429: the limiter admits nobody until 2.50s (1.5s from now)",
		"2.51 pause over: the 4 waiting queries go",
		"3.30 the API said 429: the limiter admits nobody until 3.20s (0s from now)",
		"3.30 pause over: the 0 waiting queries go",
	}, msgs)
}
