package main

import (
	"context"
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

// testListener is the listener of a stage without a client, writing JSON
// events to the returned buffer.
func testListener() (*listener, *lockedBuffer) {
	var out lockedBuffer
	d := &demo{
		opts:  options{rpm: 60, rph: 1000, budget: 1, failureThreshold: 3, openTimeout: 2 * time.Second, scale: 1},
		out:   newConsole(&out, true),
		tally: newTally(),
		start: t0,
	}
	s := &stage{d: d, name: "test"}
	s.events = newListener(s)
	return s.events, &out
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

// messages are the events' times and texts, of kind.
func messages(t *testing.T, out *lockedBuffer, kind string) []string {
	t.Helper()
	var msgs []string
	for _, e := range events(t, out) {
		assert.Equal(t, kind, e.Kind, e.Message)
		msgs = append(msgs, fmt.Sprintf("%.2f %s", e.T, e.Message))
	}
	return msgs
}

// Queries that wait for a window's token are reported as they queue,
// with the demo's numbers of the queries (through Trace), then as each is
// admitted, then the end of the line; the tally measures the burst and
// the rate of those admissions.
func TestListenerWindowWait(t *testing.T) {
	l, out := testListener()
	obs := l.observer()
	for id, n := range map[uint64]int{7: 61, 8: 62} {
		assert.Nil(t, obs.Trace(context.WithValue(t.Context(), queryNumber{}, n), id))
	}
	for id := range uint64(6) {
		obs.QueryAdmitted(agent.QueryAdmittedEvent{QueryID: id + 1, At: at(0)}) // at once: not reported
	}
	obs.QueryQueued(agent.QueryQueuedEvent{QueryID: 5, Limit: agent.LimitConcurrency, At: at(0.1)}) // not a window: not reported
	obs.QueryQueued(agent.QueryQueuedEvent{QueryID: 7, Limit: agent.LimitMinute, At: at(0.2)})
	obs.QueryQueued(agent.QueryQueuedEvent{QueryID: 8, Limit: agent.LimitMinute, Ahead: 1, At: at(0.3)})
	obs.QueryAdmitted(agent.QueryAdmittedEvent{QueryID: 7, WaitedOn: agent.LimitMinute, Waited: 800 * time.Millisecond, At: at(1)})
	// Held by the slots last, having queued on the window: it counts.
	obs.QueryAdmitted(agent.QueryAdmittedEvent{QueryID: 8, WaitedOn: agent.LimitConcurrency, Waited: 1700 * time.Millisecond, At: at(2)})

	assert.Equal(t, []string{
		"0.20 the minute window is empty: query 61 waits in line (FIFO), one more token every 1s",
		"0.30 the minute window has no token left for query 62: it waits in line (FIFO) behind 1, one more token every 1s",
		"1.00 a token refilled: query 61 admitted after 800ms in line, 1 still wait for a token",
		"2.00 a token refilled: query 62 admitted after 1.7s in line, 0 still wait for a token",
		"2.00 the line is empty",
	}, messages(t, out, "rate"))
	sum := l.s.d.tally.summary(l.s.d.opts, 2*time.Second)
	assert.Equal(t, rateSummary{ConfiguredPerMin: 60, Window: "minute", Burst: 6, Waited: 2, ObservedPerMin: 60}, sum.Rate)
}

// A pause the API asked for is reported with its length, and its end,
// when the first query that waited for it is admitted, with how many
// waited; the pause phase hears of the first pause.
func TestListenerPause(t *testing.T) {
	l, out := testListener()
	obs := l.observer()
	obs.Paused(agent.PausedEvent{Until: at(2.5), Signal: "api_retry 429", At: at(1)})
	for id := range uint64(4) {
		obs.QueryQueued(agent.QueryQueuedEvent{QueryID: id + 2, Limit: agent.LimitPaused, At: at(1.5)})
	}
	for id := range uint64(4) {
		// The first admitted was held by the slots last: the pause is over all the same.
		obs.QueryAdmitted(agent.QueryAdmittedEvent{QueryID: id + 2, WaitedOn: agent.LimitConcurrency, At: at(2.5)})
	}
	obs.Paused(agent.PausedEvent{Until: at(3.5), Signal: "api_retry 429", At: at(3)}) // nobody waits for it

	assert.Equal(t, []string{
		"1.00 the API said 429 (api_retry 429): the limiter admits nobody until 2.50s (1.5s from now)",
		"2.50 pause over: the 4 waiting queries go",
		"3.00 the API said 429 (api_retry 429): the limiter admits nobody until 3.50s (500ms from now)",
	}, messages(t, out, "pause"))
	select {
	case e := <-l.paused:
		assert.Equal(t, at(2.5), e.Until, "the first pause")
	default:
		t.Fatal("the pause phase was not told")
	}
}

// Each change of the breaker is reported with its reason, at the time it
// happened, tallied, and kept for the outage phase.
func TestListenerBreaker(t *testing.T) {
	l, out := testListener()
	obs := l.observer()
	assert.Equal(t, agent.StateClosed, l.latestBreaker().To, "closed before any change")
	for i, c := range []agent.BreakerChangedEvent{
		{From: agent.StateClosed, To: agent.StateOpen, Reason: "consecutive failures reached the threshold"},
		{From: agent.StateOpen, To: agent.StateHalfOpen, Reason: "open time over: the next queries are probes"},
		{From: agent.StateHalfOpen, To: agent.StateOpen, Reason: "a probe failed"},
		{From: agent.StateHalfOpen, To: agent.StateClosed, Reason: "the probes succeeded"},
	} {
		c.At = at(float64(i + 1))
		obs.BreakerChanged(c)
		assert.Equal(t, c, l.latestBreaker())
	}
	assert.Equal(t, []string{
		"1.00 closed -> open: 3 failures in a row (consecutive failures reached the threshold): refusing every query, without starting a process",
		"2.00 open -> half-open: open time over: the next queries are probes",
		"3.00 half-open -> open: a probe failed: open again, for longer this time (doubled, plus jitter)",
		"4.00 half-open -> closed: the probes succeeded: queries flow again",
	}, messages(t, out, "breaker"))
	sum := l.s.d.tally.summary(l.s.d.opts, 4*time.Second)
	require.Len(t, sum.Transitions, 4)
	assert.Equal(t, transition{T: 3, Phase: "test", From: "half-open", To: "open"}, sum.Transitions[2])
}
