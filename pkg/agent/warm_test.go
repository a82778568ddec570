package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Tests of the warm processes on the fake CLI: a Serve script answers
// each turn with its pid and its turn count since the last /clear, so a
// test can tell which process served a query and whether it was reset.

// warmClient is newClient with the pool on: one spare per key, two in
// all, an hour's max age (on the mock clock), and edit's changes.
func warmClient(t *testing.T, edit func(*agent.Config)) (*agent.Client, *clock.Mock) {
	return newClient(t, func(cfg *agent.Config) {
		cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2, MaxAge: time.Hour}
		if edit != nil {
			edit(cfg)
		}
	})
}

// served is who answered a Serve script's turn.
type served struct{ pid, turn int }

// runServed runs one query and returns who served it.
func runServed(t *testing.T, c *agent.Client, prompt string, opts ...agent.Option) served {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := c.Run(ctx, prompt, opts...)
	require.NoError(t, err)
	require.NotNil(t, res)
	var s served
	_, err = fmt.Sscanf(res.Result[len(prompt):], " [pid %d, turn %d]", &s.pid, &s.turn)
	require.NoError(t, err, "answer %q", res.Result)
	require.True(t, strings.HasPrefix(res.Result, prompt), "answer %q", res.Result)
	return s
}

// waitFor waits for a state of the pool's background work (a process
// starting, exiting), polling: no timer of the client's is involved.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 2*time.Millisecond, what)
}

// parkedPid waits until exactly one process tagged with entry runs (the
// spare, once the query before it has exited) and returns it.
func parkedPid(t *testing.T, c *agent.Client, entry string, parked int) int {
	t.Helper()
	var pids []int
	waitFor(t, "the spare parked, alone", func() bool {
		pids = pidsWithEnv(entry)
		return c.Stats().Warm.Parked == parked && len(pids) == 1
	})
	return pids[0]
}

func serveOpts(t *testing.T, more ...agent.Option) ([]agent.Option, string) {
	mark, entry := markerOpt(t)
	return append([]agent.Option{play(fakecli.Script{fakecli.Serve(0.01)}), mark}, more...), entry
}

func TestWarmQueryClaimsTheParkedSpare(t *testing.T) {
	c, _ := warmClient(t, nil)
	opts, entry := serveOpts(t)

	first := runServed(t, c, "one", opts...)
	spare := parkedPid(t, c, entry, 1)
	assert.NotEqual(t, first.pid, spare, "the spare is a process of its own")

	second := runServed(t, c, "two", opts...)
	assert.Equal(t, served{pid: spare, turn: 1}, second, "the spare answered")
	st := c.Stats().Warm
	assert.Equal(t, int64(1), st.Hits)
	assert.Equal(t, int64(1), st.Misses, "the first query found none")
	waitFor(t, "a new spare after the claim", func() bool { return c.Stats().Warm.Started == 2 })
	settled(t, c)
}

func TestWarmSparesAreKeyedByStartFlags(t *testing.T) {
	c, _ := warmClient(t, nil)
	opts, entry := serveOpts(t)
	runServed(t, c, "one", opts...)
	spare := parkedPid(t, c, entry, 1)

	// Another model is another key: it starts cold and leaves the spare.
	other := runServed(t, c, "two", append(opts, agent.WithModel("other-model"))...)
	assert.NotEqual(t, spare, other.pid)
	assert.Equal(t, int64(0), c.Stats().Warm.Hits)
	// A different prompt, budget or hook is the same key.
	got := runServed(t, c, "three", append(opts, agent.WithMaxBudgetUSD(0.5))...)
	assert.Equal(t, spare, got.pid)
	assert.Equal(t, int64(1), c.Stats().Warm.Hits)
}

func TestWarmDeadSpareIsReplacedWithoutABreakerFailure(t *testing.T) {
	c, _ := warmClient(t, nil)
	opts, entry := serveOpts(t)
	runServed(t, c, "one", opts...)
	spare := parkedPid(t, c, entry, 1)

	require.NoError(t, killPid(spare))
	waitFor(t, "the dead spare dropped", func() bool {
		st := c.Stats().Warm
		return st.Died == 1 && st.Parked == 0
	})
	got := runServed(t, c, "two", opts...)
	assert.NotEqual(t, spare, got.pid)
	assert.Equal(t, int64(0), c.Stats().Warm.Hits)
	assert.Equal(t, uint64(0), c.Stats().Breaker.Counts.Failures, "a dead spare is not the backend's failure")
	waitFor(t, "replaced after the next query", func() bool { return c.Stats().Warm.Parked == 1 })
}

func TestWarmSpareExpiresAtMaxAge(t *testing.T) {
	c, mock := warmClient(t, nil)
	opts, entry := serveOpts(t)
	runServed(t, c, "one", opts...)
	spare := parkedPid(t, c, entry, 1)

	mock.Add(time.Hour)
	waitFor(t, "the old spare stopped", func() bool {
		return c.Stats().Warm.Expired == 1 && dead(spare)
	})
	st := c.Stats().Warm
	assert.Equal(t, 0, st.Parked, "not replaced: its key was not used since it started")
	assert.Equal(t, int64(1), st.Started)
	runServed(t, c, "two", opts...)
	assert.Equal(t, int64(0), c.Stats().Warm.Hits)
}

func TestWarmPrewarmedKeyIsKeptAndReplaced(t *testing.T) {
	c, mock := warmClient(t, nil)
	opts, entry := serveOpts(t)
	ok, err := c.Prewarm(t.Context(), opts...)
	require.NoError(t, err)
	require.True(t, ok)
	spare := parkedPid(t, c, entry, 1)

	mock.Add(time.Hour)
	waitFor(t, "replaced at its max age", func() bool {
		st := c.Stats().Warm
		return st.Expired == 1 && st.Started == 2 && dead(spare)
	})
	fresh := parkedPid(t, c, entry, 1)
	got := runServed(t, c, "one", opts...)
	assert.Equal(t, fresh, got.pid)

	_, err = c.Prewarm(t.Context(), agent.WithMaxTurns(-1))
	assert.ErrorIs(t, err, agent.ErrInvalidRequest)
	ok, err = c.Prewarm(t.Context(), agent.WithResume("some-session"))
	require.NoError(t, err)
	assert.False(t, ok, "a resumed conversation is never served warm")
}

func TestWarmReuseResetsTheProcess(t *testing.T) {
	c, _ := warmClient(t, func(cfg *agent.Config) {
		cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2, MaxAge: time.Hour, Reuse: true, MaxUses: 3}
	})
	opts, _ := serveOpts(t)

	first := runServed(t, c, "one", opts...)
	assert.Equal(t, 1, first.turn)
	// The next two are served by the same process, reset by /clear: the
	// fake counts its turns from the last /clear.
	for _, prompt := range []string{"two", "three"} {
		assert.Equal(t, first, runServed(t, c, prompt, opts...), prompt)
	}
	// MaxUses reached: the process exits, a spare replaces it, and the
	// next query has that one.
	waitFor(t, "the used-up process gone", func() bool { return dead(first.pid) })
	settled(t, c)
	fourth := runServed(t, c, "four", opts...)
	assert.NotEqual(t, first.pid, fourth.pid)
	// Never across keys.
	other := runServed(t, c, "five", append(opts, agent.WithModel("other-model"))...)
	assert.NotEqual(t, fourth.pid, other.pid)

	st := c.Stats()
	assert.Equal(t, int64(3), st.Warm.Hits, "two, three, and four on the spare")
	assert.Equal(t, int64(1), st.Warm.Started, "the spare after three")
	assert.Equal(t, int64(4), st.Warm.Reused, "after one, two, four and five")
	// Each query is charged its own turn, not the process's cumulative
	// total: 5 × 0.01.
	assert.InDelta(t, 0.05, st.Limiter.SpentUSD, 1e-9)
}

func TestWarmResultCostIsTheQuerysOwn(t *testing.T) {
	c, _ := warmClient(t, func(cfg *agent.Config) { cfg.Warm.Reuse, cfg.Warm.MaxUses = true, 10 })
	opts, _ := serveOpts(t)
	ctx := t.Context()
	for i := range 3 {
		res, err := c.Run(ctx, "q", opts...)
		require.NoError(t, err)
		assert.InDelta(t, 0.01, res.TotalCostUSD, 1e-9, "query %d", i)
	}
}

func TestWarmParkedProcessesHaveTheirOwnCap(t *testing.T) {
	c, _ := warmClient(t, func(cfg *agent.Config) {
		cfg.Warm.MaxParked = 1
		cfg.MaxConcurrent = 1
	})
	optsA, entryA := serveOpts(t)
	runServed(t, c, "a", optsA...)
	spareA := parkedPid(t, c, entryA, 1)
	// A parked spare holds no MaxConcurrent slot: this query runs.
	assert.Equal(t, 0, c.Stats().Limiter.InFlight)

	optsB, entryB := serveOpts(t, agent.WithModel("b"))
	runServed(t, c, "b", optsB...)
	spareB := parkedPid(t, c, entryB, 1)
	waitFor(t, "the older key's spare made room", func() bool { return dead(spareA) })
	st := c.Stats().Warm
	assert.Equal(t, int64(1), st.Evicted)
	assert.Equal(t, 1, st.Parked)
	assert.Equal(t, spareB, runServed(t, c, "b2", optsB...).pid)
}

func TestWarmCloseStopsEveryParkedProcess(t *testing.T) {
	c, _ := warmClient(t, func(cfg *agent.Config) { cfg.Warm.Reuse = true })
	optsA, entryA := serveOpts(t)
	optsB, entryB := serveOpts(t, agent.WithModel("b"))
	runServed(t, c, "a", optsA...)
	runServed(t, c, "b", optsB...)
	waitFor(t, "both parked", func() bool { return c.Stats().Warm.Parked == 2 })
	pids := append(pidsWithEnv(entryA), pidsWithEnv(entryB)...)
	require.Len(t, pids, 2)

	require.NoError(t, c.Close())
	for _, pid := range pids {
		assert.True(t, dead(pid), "pid %d outlived Close", pid)
	}
	assert.Equal(t, 0, c.Stats().Warm.Parked)
	_, err := c.Prewarm(t.Context(), optsA...)
	assert.ErrorIs(t, err, agent.ErrClosed)
}

func TestWarmDisabledStartsNothing(t *testing.T) {
	c, _ := warmClient(t, func(cfg *agent.Config) { cfg.Warm.Disabled = true })
	opts, entry := serveOpts(t)
	first := runServed(t, c, "one", opts...)
	waitFor(t, "the query's process gone", func() bool { return dead(first.pid) })
	assert.Empty(t, pidsWithEnv(entry))
	assert.Equal(t, agent.WarmStats{}, c.Stats().Warm)
	ok, err := c.Prewarm(t.Context(), opts...)
	require.NoError(t, err)
	assert.False(t, ok)
}

// A query that comes while its key's spare is being started (the refill
// after the query before: back to back, as in a batch) waits for that
// spare instead of starting a second CLI beside it.
func TestWarmBackToBackQueriesClaimTheSpareBeingStarted(t *testing.T) {
	c, _ := warmClient(t, nil)
	opts, _ := serveOpts(t)
	for i := range 6 {
		runServed(t, c, fmt.Sprintf("q%d", i), opts...)
	}
	st := c.Stats().Warm
	assert.Equal(t, int64(1), st.Misses, "only the first query started its own CLI")
	assert.Equal(t, int64(5), st.Hits)
}
