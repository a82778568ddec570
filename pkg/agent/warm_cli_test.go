package agent_test

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The warm processes on the real CLI, against the fake Messages API.

// warmRealClient is realClient with one spare per key (and reuse when
// asked). Make it after the query options: its Close, a cleanup, must run
// before their directories are removed (a spare writes in its HOME).
func warmRealClient(t *testing.T, reuse bool) *agent.Client {
	return realClient(t, func(cfg *agent.Config) {
		cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2, Reuse: reuse}
	})
}

// prewarmed declares opts' key and waits until its spare is parked and
// has reached the API (its HEAD /): the CLI's start-up is done.
func prewarmed(t *testing.T, c *agent.Client, srv *fakeapi.Server, opts []agent.Option) {
	t.Helper()
	ok, err := c.Prewarm(t.Context(), opts...)
	require.NoError(t, err)
	require.True(t, ok)
	waitFor(t, "the spare started up", func() bool {
		return c.Stats().Warm.Parked == 1 && len(srv.Requests()) > 0
	})
}

// A parked spare makes no billed request: its start-up sends a HEAD /
// only, and the first POST comes with the query's turn.
func TestWarmCLISpareMakesNoBilledRequest(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	opts := apiOpts(t, srv, 0)
	c := warmRealClient(t, false)
	prewarmed(t, c, srv, opts)
	parkedFor := time.Now()

	start := time.Now()
	res, err := c.Run(queryCtx(t), "hello", opts...)
	require.NoError(t, err)
	t.Logf("a query on a spare parked %v: %v to its result", start.Sub(parkedFor).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	assert.Equal(t, fakeapi.DefaultText, res.Result)
	assert.Equal(t, int64(1), c.Stats().Warm.Hits)
	for _, r := range srv.Requests() {
		if r.IsMessages() {
			assert.True(t, r.Time.After(start), "a POST at %v, before the query at %v", r.Time, start)
		} else {
			assert.Equal(t, http.MethodHead, r.Method, "%s %s", r.Method, r.Path)
		}
	}
	assert.NotEmpty(t, srv.Messages())
}

// A reused process is reset between queries: the next query's API
// request holds nothing of the previous one, and each is charged its own
// cost, not the process's cumulative total.
func TestWarmCLIReuseIsolatesQueries(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	opts := apiOpts(t, srv, 0)
	c := warmRealClient(t, true)
	ctx := queryCtx(t)

	const secret = "zebra-7781-secret"
	first, err := c.Run(ctx, "remember the word "+secret, opts...)
	require.NoError(t, err)
	n := len(srv.Messages())
	require.True(t, slices.ContainsFunc(srv.Messages(), func(r fakeapi.Request) bool { return r.HasText("remember the word " + secret) }))

	second, err := c.Run(ctx, "which word did I ask you to remember?", opts...)
	require.NoError(t, err)
	st := c.Stats().Warm
	assert.Equal(t, int64(2), st.Reused, "parked after each query")
	assert.Equal(t, int64(1), st.Hits, "the second query was served by the first one's process")
	later := srv.Messages()[n:]
	require.NotEmpty(t, later)
	for _, r := range later {
		assert.NotContains(t, string(r.Body), secret, "the next query's request holds the previous prompt")
	}
	assert.True(t, later[len(later)-1].HasText("which word did I ask you to remember?"))
	assert.InDelta(t, first.TotalCostUSD, second.TotalCostUSD, 1e-9, "each query's own cost")
	settled(t, c)
	assert.InDelta(t, first.TotalCostUSD+second.TotalCostUSD, c.Stats().Limiter.SpentUSD, 1e-9)
}

// Hooks attach when a query claims the spare, through initialize: a
// PreToolUse hook given only to the query blocks the tool.
func TestWarmCLIHookAttachesAtClaim(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("touch blocked"), fakeapi.Text("done"))
	opts := apiOpts(t, srv, 0, agent.WithAllowedTools("Bash"))
	c := warmRealClient(t, false)
	prewarmed(t, c, srv, opts)

	var calls atomic.Int32
	hook := agent.WithHook(agent.PreToolUse, "Bash", func(context.Context, agent.HookInput) (agent.HookOutput, error) {
		calls.Add(1)
		return agent.BlockTool("not on a spare"), nil
	})
	_, err := c.Run(queryCtx(t), "make a file", append(opts, hook)...)
	require.NoError(t, err)
	assert.Equal(t, int64(1), c.Stats().Warm.Hits)
	assert.EqualValues(t, 1, calls.Load())
	assert.NoFileExists(t, filepath.Join(workDir(t, opts), "blocked"))
	assert.Contains(t, lastToolResult(t, srv), "not on a spare")
}

// The budget's cap holds on a spare, which starts without
// --max-budget-usd: the client's watch stops an answer that passes the
// query's cap, and the process is not kept for reuse.
func TestWarmCLICapHoldsOnASpare(t *testing.T) {
	t.Parallel()
	const chunk = 4096
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Text(fakeapi.Filler(800_000)).WithUsage(0, 800_000).WithChunkBytes(chunk).WithDelay(2 * time.Millisecond))
	opts := apiOpts(t, srv, 0, agent.WithMaxBudgetUSD(0.5))
	c := warmRealClient(t, true)
	prewarmed(t, c, srv, opts)

	_, err := c.Run(queryCtx(t), "write a lot", opts...)
	var over *agent.BudgetError
	require.ErrorAs(t, err, &over)
	assert.Equal(t, 0.5, over.CapUSD)
	assert.LessOrEqual(t, over.SpentUSD, 0.5+chunk*25e-6, "stopped at the first stream event past the cap")
	settled(t, c)
	st := c.Stats()
	assert.Equal(t, int64(1), st.Warm.Hits)
	assert.Zero(t, st.Warm.Reused, "a process stopped mid-answer is not kept")
	assert.GreaterOrEqual(t, st.Limiter.SpentUSD, over.SpentUSD)
	assert.Zero(t, st.Breaker.Counts.Failures)
	// As on a cold process (TestIntegrationCapStopsALongAnswer): never
	// more than the API sent.
	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	last := msgs[len(msgs)-1]
	sent := float64(last.Events-2) * chunk * 25e-6
	assert.LessOrEqual(t, st.Limiter.SpentUSD, sent+25e-6+1e-9)
}

// The breaker sees a warm query's outcome as a cold one's: an overloaded
// API is a failure.
func TestWarmCLIBreakerSeesTheOutcome(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Error(529, "overloaded_error", "Overloaded"))
	opts := apiOpts(t, srv, 0)
	c := warmRealClient(t, false)
	prewarmed(t, c, srv, opts)

	_, err := c.Run(queryCtx(t), "hello", opts...)
	var apiErr *agent.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 529, apiErr.Status)
	assert.Equal(t, int64(1), c.Stats().Warm.Hits)
	assert.Equal(t, uint64(1), c.Stats().Breaker.Counts.Failures)
}
