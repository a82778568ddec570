package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// recorder is an Observer that keeps every event, in order.
type recorder struct {
	mu  sync.Mutex
	evs []any
}

func (r *recorder) add(ev any) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) observer() *agent.Observer {
	return &agent.Observer{
		QueryQueued:    func(e agent.QueryQueuedEvent) { r.add(e) },
		QueryAdmitted:  func(e agent.QueryAdmittedEvent) { r.add(e) },
		QueryStarted:   func(e agent.QueryStartedEvent) { r.add(e) },
		QueryRefused:   func(e agent.QueryRefusedEvent) { r.add(e) },
		QueryFinished:  func(e agent.QueryFinishedEvent) { r.add(e) },
		BreakerChanged: func(e agent.BreakerChangedEvent) { r.add(e) },
		Paused:         func(e agent.PausedEvent) { r.add(e) },
	}
}

func (r *recorder) events() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.evs...)
}

// kinds names the events in order, e.g. "admitted 1".
func (r *recorder) kinds() []string {
	var out []string
	for _, ev := range r.events() {
		switch e := ev.(type) {
		case agent.QueryQueuedEvent:
			out = append(out, fmt.Sprintf("queued %d %s", e.QueryID, e.Limit))
		case agent.QueryAdmittedEvent:
			out = append(out, fmt.Sprintf("admitted %d", e.QueryID))
		case agent.QueryStartedEvent:
			out = append(out, fmt.Sprintf("started %d", e.QueryID))
		case agent.QueryRefusedEvent:
			out = append(out, fmt.Sprintf("refused %d %s", e.QueryID, e.Limit))
		case agent.QueryFinishedEvent:
			out = append(out, fmt.Sprintf("finished %d %s", e.QueryID, e.Outcome))
		case agent.BreakerChangedEvent:
			out = append(out, fmt.Sprintf("breaker %s->%s", e.From, e.To))
		case agent.PausedEvent:
			out = append(out, "paused")
		}
	}
	return out
}

func finished(t *testing.T, r *recorder, id uint64) agent.QueryFinishedEvent {
	t.Helper()
	for _, ev := range r.events() {
		if e, ok := ev.(agent.QueryFinishedEvent); ok && e.QueryID == id {
			return e
		}
	}
	t.Fatalf("no QueryFinished for query %d in %v", id, r.kinds())
	return agent.QueryFinishedEvent{}
}

// The observer sees each query's admission, start and settlement, the
// breaker's changes with their reason, refusals with their limit, and a
// pause, in order and with their values.
func TestObserverSeesEveryEventInOrder(t *testing.T) {
	var rec recorder
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Observer = rec.observer()
		cfg.CircuitBreaker.FailureThreshold = 1
	})
	ctx := t.Context()

	_, err := c.Run(ctx, "one", play(fakecli.Success("ok", 0.25)))
	require.NoError(t, err)
	retry := append(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Retry429(1000)}, fakecli.Success("ok", 0)[1:]...)
	_, err = c.Run(ctx, "two", play(retry))
	require.NoError(t, err)
	mock.Add(time.Second) // past the pause
	_, err = c.Run(ctx, "three", play(fakecli.APIErrorResult(529)))
	require.Error(t, err)
	_, err = c.Run(ctx, "four", play(fakecli.Success("never", 0)))
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	waitFor(t, "the breaker's change delivered", func() bool {
		return strings.Contains(strings.Join(rec.kinds(), ","), "breaker closed->open")
	})
	require.NoError(t, c.Close())

	kinds := rec.kinds()
	assert.Equal(t, []string{"admitted 1", "started 1", "finished 1 success"}, kinds[:3])
	assert.Subset(t, kinds, []string{"admitted 2", "started 2", "paused", "finished 2 success", "admitted 3", "started 3", "finished 3 failure", "breaker closed->open", "refused 4 circuit"})
	// Each query's events come in order.
	index := func(k string) int { return indexOf(kinds, k) }
	assert.Less(t, index("started 2"), index("paused"))
	assert.Less(t, index("paused"), index("finished 2 success"))
	assert.Less(t, index("finished 3 failure"), index("refused 4 circuit"))

	first := finished(t, &rec, 1)
	assert.InDelta(t, 0.25, first.CostUSD, 1e-9)
	assert.False(t, first.Estimated)
	assert.True(t, first.Counted)
	assert.Equal(t, fakecli.Model, first.Model)
	assert.Equal(t, int64(12), first.Usage.InputTokens)
	assert.Equal(t, -1, first.ExitCode)
	assert.NoError(t, first.Err)
	third := finished(t, &rec, 3)
	var apiErr *agent.APIError
	require.ErrorAs(t, third.Err, &apiErr)
	assert.Equal(t, 529, apiErr.Status)
	for _, ev := range rec.events() {
		switch e := ev.(type) {
		case agent.BreakerChangedEvent:
			assert.Equal(t, "consecutive failures reached the threshold", e.Reason)
		case agent.QueryRefusedEvent:
			assert.Equal(t, agent.LimitCircuit, e.Limit)
			assert.Positive(t, e.RetryAfter)
			var rejected *agent.RejectedError
			require.ErrorAs(t, e.Err, &rejected)
			assert.ErrorIs(t, e.Err, agent.ErrCircuitOpen)
		case agent.PausedEvent:
			assert.Equal(t, time.Second, e.Until.Sub(e.At))
		}
	}
	assert.Equal(t, map[agent.Limit]int64{agent.LimitCircuit: 1}, c.Stats().Refusals)
}

// A query that must wait is seen queued, with the limit it waits on and
// those ahead, then admitted with how long it waited and on what; the
// debug log says so too.
func TestObserverSeesQueriesWait(t *testing.T) {
	var rec recorder
	var logs syncBuffer
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Observer = rec.observer()
		cfg.RateLimit.QueriesPerMinute = 1
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := c.Run(t.Context(), "one", play(fakecli.Success("ok", 0)))
	require.NoError(t, err)
	// The first query's end may come after its Run returned.
	waitFor(t, "the first query's end", func() bool { return indexOf(rec.kinds(), "finished 1 success") >= 0 })
	done := make(chan error, 2)
	// One at a time, each once the one before is seen queued.
	for i, p := range []string{"two", "three"} {
		go func() {
			_, err := c.Run(t.Context(), p, play(fakecli.Success("ok", 0)))
			done <- err
		}()
		queued := fmt.Sprintf("queued %d minute", i+2)
		waitFor(t, queued, func() bool { return indexOf(rec.kinds(), queued) >= 0 })
	}
	mock.Add(time.Minute)
	require.NoError(t, <-done)
	mock.Add(time.Minute)
	require.NoError(t, <-done)
	require.NoError(t, c.Close())

	kinds := rec.kinds()
	assert.Equal(t, []string{"admitted 1", "started 1", "finished 1 success", "queued 2 minute", "queued 3 minute", "admitted 2"}, kinds[:6])
	var queued []agent.QueryQueuedEvent
	var admitted []agent.QueryAdmittedEvent
	for _, ev := range rec.events() {
		switch e := ev.(type) {
		case agent.QueryQueuedEvent:
			queued = append(queued, e)
		case agent.QueryAdmittedEvent:
			admitted = append(admitted, e)
		}
	}
	require.Len(t, queued, 2)
	assert.Equal(t, []int{0, 1}, []int{queued[0].Ahead, queued[1].Ahead}, "those ahead in the queue")
	require.Len(t, admitted, 3)
	assert.Equal(t, agent.LimitNone, admitted[0].WaitedOn, "the first did not wait")
	assert.Zero(t, admitted[0].Waited)
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute} {
		assert.Equal(t, agent.LimitMinute, admitted[i+1].WaitedOn)
		assert.Equal(t, want, admitted[i+1].Waited, "query %d's wait", admitted[i+1].QueryID)
	}
	assert.Contains(t, logs.String(), `msg="query admitted after waiting" query_id=2 session_id="" waited=1m0s waited_on=minute`)
	assert.Equal(t, 2, strings.Count(logs.String(), "query admitted after waiting"), "the first did not wait")
}

// With debug logs and no observer, a query that waited is logged with
// the limit it waited on.
func TestDebugLogNamesTheWaitWithoutObserver(t *testing.T) {
	var logs syncBuffer
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.QueriesPerMinute = 1
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := c.Run(t.Context(), "one", play(fakecli.Success("ok", 0)))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(t.Context(), "two", play(fakecli.Success("ok", 0)))
		done <- err
	}()
	waitFor(t, "the second query queued", func() bool { return c.Stats().Limiter.Queued == 1 })
	mock.Add(time.Minute)
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), `msg="query admitted after waiting" query_id=2 session_id="" waited=1m0s waited_on=minute`)
}

// MultiObserver passes every event to each observer, in order, even
// when one of them panics; Trace joins their entries.
func TestMultiObserver(t *testing.T) {
	var first, second recorder
	panicky := first.observer()
	panicky.QueryFinished = func(agent.QueryFinishedEvent) { panic("observer bug") }
	panicky.Trace = func(context.Context, uint64) []string { return []string{"A=1"} }
	other := second.observer()
	other.Trace = func(context.Context, uint64) []string { return []string{"B=2"} }
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Observer = agent.MultiObserver(panicky, nil, other) })
	path := filepath.Join(t.TempDir(), "record.json")
	_, err := c.Run(t.Context(), "one", play(append(fakecli.Script{fakecli.Record(path, "A", "B")}, fakecli.Success("ok", 0)...)))
	require.NoError(t, err)
	require.NoError(t, c.Close())

	assert.Equal(t, []string{"admitted 1", "started 1"}, first.kinds())
	assert.Equal(t, []string{"admitted 1", "started 1", "finished 1 success"}, second.kinds(), "the second observer missed an event")
	assert.Equal(t, int64(1), c.Stats().Callbacks.Panics)
	got := readRecord(t, path).Env
	assert.Equal(t, "1", got["A"])
	assert.Equal(t, "2", got["B"])
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// A crash after usage is charged an estimate, and the observer says so,
// with the CLI's exit code.
func TestObserverSeesEstimatedCharges(t *testing.T) {
	var rec recorder
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.Observer = rec.observer() })
	crash := fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.UsageLine("msg_1", fakecli.Model, 1000, 10)), fakecli.Exit(3)}
	_, err := c.Run(t.Context(), "one", play(crash))
	require.Error(t, err)
	require.NoError(t, c.Close())
	e := finished(t, &rec, 1)
	assert.True(t, e.Estimated)
	assert.Positive(t, e.CostUSD)
	assert.Equal(t, 3, e.ExitCode)
	assert.Equal(t, agent.OutcomeFailure, e.Outcome)
}

// An observer that blocks, or panics, changes nothing for the queries.
func TestObserverCannotDelayOrCrashQueries(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	var once sync.Once
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.Observer = &agent.Observer{
			QueryAdmitted: func(agent.QueryAdmittedEvent) {
				once.Do(calls.Done)
				<-release // blocks the observer's goroutine
			},
			QueryFinished: func(agent.QueryFinishedEvent) { panic("observer bug") },
		}
	})
	for i := range 5 {
		res, err := c.Run(t.Context(), "q", play(fakecli.Success("ok", 0.01)))
		require.NoError(t, err, "query %d", i)
		assert.Equal(t, "ok", res.Result)
	}
	calls.Wait() // the observer was called, and is stuck meanwhile
	assert.InDelta(t, 0.05, c.Stats().Limiter.SpentUSD, 1e-9)
	close(release)
	require.NoError(t, c.Close())
	assert.Equal(t, int64(5), c.Stats().Callbacks.Panics, "each QueryFinished panicked, recovered")
}

// Refusals during an outage are logged once per limit per 10 s, with how
// many were not; a breaker failure is logged at Warn with its cause.
func TestRefusalLogsAreRateLimited(t *testing.T) {
	var logs syncBuffer
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		cfg.CircuitBreaker.FailureThreshold = 1
		cfg.CircuitBreaker.Timeout = time.Hour
	})
	ctx := t.Context()
	_, err := c.Run(ctx, "q", play(fakecli.APIErrorResult(500)))
	require.Error(t, err)
	for range 5 {
		_, err := c.Run(ctx, "q", play(fakecli.Success("never", 0)))
		require.ErrorIs(t, err, agent.ErrCircuitOpen)
	}
	mock.Add(10 * time.Second)
	_, err = c.Run(ctx, "q", play(fakecli.Success("never", 0)))
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	require.NoError(t, c.Close())

	out := logs.String()
	assert.Equal(t, 2, strings.Count(out, `msg="query refused"`), out)
	assert.Contains(t, out, "limit=circuit")
	assert.Contains(t, out, "not_logged_since_last=4")
	assert.Contains(t, out, "retry_after=")
	assert.Equal(t, 1, strings.Count(out, "a failure for the circuit breaker"), out)
	assert.Contains(t, out, "level=WARN msg=\"query failed: a failure for the circuit breaker\" query_id=1")
	assert.Equal(t, map[agent.Limit]int64{agent.LimitCircuit: 6}, c.Stats().Refusals)
}

// Observer.Trace runs in the query's goroutine with the caller's context:
// the entries it returns reach the query's CLI, and a refused query's
// id still ends with QueryRefused.
func TestObserverTraceReachesTheCLI(t *testing.T) {
	type key struct{}
	var rec recorder
	obs := rec.observer()
	obs.Trace = func(ctx context.Context, id uint64) []string {
		return []string{fmt.Sprintf("TRACEPARENT=00-%v-%016d-01", ctx.Value(key{}), id)}
	}
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.Observer = obs
		cfg.MaxQueued = 1
		cfg.MaxConcurrent = 1
	})
	ctx := context.WithValue(t.Context(), key{}, "trace-of-the-caller")
	path := filepath.Join(t.TempDir(), "record.json")
	script := append(fakecli.Script{fakecli.Record(path, "TRACEPARENT")}, fakecli.Success("ok", 0)...)
	_, err := c.Run(ctx, "q", play(script))
	require.NoError(t, err)
	assert.Equal(t, "00-trace-of-the-caller-0000000000000001-01", readRecord(t, path).Env["TRACEPARENT"])

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Run(cancelled, "q", play(fakecli.Success("never", 0)))
	require.Error(t, err)
	require.NoError(t, c.Close())
	assert.Contains(t, rec.kinds(), "refused 2 none", "a query given up before it ran ends too")
}
