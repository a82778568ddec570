package agent_test

import (
	"context"
	"errors"
	"math"
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

// capArg returns the value of --max-budget-usd in args, "" if none.
func capArg(args []string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--max-budget-usd="); ok {
			return v
		}
	}
	return ""
}

// Queries started at once on a new client, each spending all its
// --max-budget-usd, share the budget: none is handed all of it, and the
// total stays within it. Before, each got the whole budget as its cap and
// 0 was reserved while they ran (8 x 0.90 = 7.20 USD under 1.00).
func TestConcurrentQueriesShareTheBudget(t *testing.T) {
	for _, tc := range []struct {
		name          string
		maxConcurrent int
		callers       int
	}{
		{"8 at once", 8, 8},
		{"200 callers, 50 at once", 50, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t, func(cfg *agent.Config) {
				cfg.RateLimit.CostBudgetHourly = 1.00
				cfg.RateLimit.QueriesPerMinute, cfg.RateLimit.QueriesPerHour = agent.Unlimited, agent.Unlimited
				cfg.RateLimit.MaxWait = time.Minute
				cfg.MaxConcurrent = tc.maxConcurrent
			})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var spent float64
			var ran, refused int
			for range tc.callers {
				wg.Go(func() {
					res, err := c.Run(t.Context(), "prompt", play(fakecli.Script{fakecli.Spend(0.90)}))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ran++
						spent += res.TotalCostUSD
					case assert.ErrorIs(t, err, agent.ErrBudgetExhausted):
						refused++
					}
				})
			}
			wg.Wait()
			t.Logf("%d ran, %d refused, %.4f USD spent", ran, refused, spent)
			assert.LessOrEqual(t, spent, 1.00+1e-9, "more than the budget spent")
			assert.Greater(t, spent, 0.9, "the budget was not used")
			assert.Equal(t, tc.callers, ran+refused)
			st := c.Stats().Limiter
			assert.InDelta(t, spent, st.SpentUSD, 1e-9)
			assert.Zero(t, st.ReservedUSD)
		})
	}
}

// A query's reservation is its cap, passed as --max-budget-usd: the
// query budget by default, the caller's own cap if given, and what is
// unreserved if less; settling gives back what was not spent.
func TestReservationIsTheCap(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 2.00
		cfg.RateLimit.QueryBudget = 0.5
	})
	script, record := recorded(t, fakecli.Success("ok", 0.7))
	_, err := c.Run(t.Context(), "prompt", play(script), agent.WithMaxBudgetUSD(1.5))
	require.NoError(t, err)
	assert.Equal(t, "1.5", capArg(argsOf(t, record)), "the caller's cap")
	assert.InDelta(t, 0.7, c.Stats().Limiter.SpentUSD, 1e-9, "the unspent 0.8 was given back")
	assert.Zero(t, c.Stats().Limiter.ReservedUSD)

	// Two running queries reserve the default 0.5 each.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var records []string
	var dones []<-chan error
	for range 2 {
		script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
		dones = append(dones, start(ctx, c, play(script)))
		records = append(records, record)
	}
	require.Eventually(t, inFlight(c, 2), 5*time.Second, time.Millisecond)
	assert.InDelta(t, 1.0, c.Stats().Limiter.ReservedUSD, 1e-9)
	for _, r := range records {
		require.Eventually(t, fileExists(r), 5*time.Second, time.Millisecond)
		assert.Equal(t, "0.5", capArg(argsOf(t, r)))
	}

	// 2 - 0.7 - 1.0 = 0.3 is left: a query asking for 1.0 gets 0.3.
	script, record = recorded(t, fakecli.Success("ok", 0.1))
	_, err = c.Run(t.Context(), "prompt", play(script), agent.WithMaxBudgetUSD(1.0))
	require.NoError(t, err)
	got := capArg(argsOf(t, record))
	assert.True(t, strings.HasPrefix(got, "0.3") || strings.HasPrefix(got, "0.29999"), "cap %s, want what is unreserved (0.3)", got)
	cancel()
	for _, d := range dones {
		require.ErrorIs(t, <-d, context.Canceled)
	}
}

// A query that ends without a result is charged what its stream showed
// it spent, at the price learned from earlier results; one that died
// before its init line made no request and is charged 0; one that showed
// no usage is charged its whole reservation. None of it lowers the next
// query's cap.
func TestSpendWithoutResultIsCharged(t *testing.T) {
	const model = "claude-sonnet-4-5"
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 10
		cfg.RateLimit.QueryBudget = 1
	})
	// Learn the model's price: 1000 in + 1000 out for 0.06 USD, i.e. 10
	// USD per million input tokens and 50 per million output (the list
	// says 3 and 15).
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.PricedResultLine(model, 1000, 1000, 0.06)),
	}))
	require.NoError(t, err)
	spent := func() float64 { return c.Stats().Limiter.SpentUSD }
	before := spent()

	// Crash after usage: 2000 in + 400 out at the learned price = 0.04.
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.UsageLine("msg_1", model, 2000, 400)), fakecli.Exit(1),
	}))
	var perr *agent.ProcessError
	require.ErrorAs(t, err, &perr)
	assert.InDelta(t, 0.04, spent()-before, 1e-9, "charged the usage at the learned price")

	// The next query's cap is not lowered by it.
	script, record := recorded(t, fakecli.Success("ok", 0))
	_, err = c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	assert.Equal(t, "1", capArg(argsOf(t, record)))

	before = spent()
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Script{fakecli.Exit(1)}))
	require.ErrorAs(t, err, &perr)
	assert.Zero(t, spent()-before, "died before its init line: nothing to charge")

	_, err = c.Run(t.Context(), "prompt", play(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Kill(9)}))
	require.ErrorAs(t, err, &perr)
	assert.InDelta(t, 1.0, spent()-before, 1e-9, "no usage seen after init: the whole reservation")
}

// settled waits until no query of c holds a slot: a stopped CLI is
// reaped, and its query settled, in the background.
func settled(t *testing.T, c *agent.Client) {
	t.Helper()
	require.Eventually(t, inFlight(c, 0), 10*time.Second, time.Millisecond, "a query never settled")
}

// spentIs reports whether the limiter has charged usd in all.
func spentIs(c *agent.Client, usd float64) func() bool {
	return func() bool { return math.Abs(c.Stats().Limiter.SpentUSD-usd) < 1e-9 }
}

// Queries stopped by the caller, a timeout or Close after spending are
// charged their estimate, not 0.
func TestStoppedQueriesAreCharged(t *testing.T) {
	const model = "claude-sonnet-4-5" // listed at 3 and 15 USD per million tokens
	const want = 10000*3e-6 + 2000*15e-6
	script := fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.UsageLine("msg_1", model, 10000, 2000)), fakecli.Hang(),
	}
	t.Run("cancelled", func(t *testing.T) {
		c, _ := newClient(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		for msg := range c.Query(ctx, "prompt", play(script)) {
			if _, ok := msg.(*agent.AssistantMessage); ok {
				cancel()
			}
		}
		assert.Eventually(t, spentIs(c, want), 5*time.Second, time.Millisecond, "charged once the CLI is reaped")
	})
	t.Run("broken out of before the usage was read", func(t *testing.T) {
		c, _ := newClient(t, func(cfg *agent.Config) { cfg.RateLimit.QueryBudget = 1 })
		for range c.Query(t.Context(), "prompt", play(script)) {
			break // at the init line: the usage line is written, not yet read
		}
		assert.Eventually(t, spentIs(c, want), 5*time.Second, time.Millisecond, "the unread usage line is charged, not the 1 USD reservation")
	})
	t.Run("broken out of", func(t *testing.T) {
		c, _ := newClient(t, nil)
		for msg := range c.Query(t.Context(), "prompt", play(script)) {
			if _, ok := msg.(*agent.AssistantMessage); ok {
				break
			}
		}
		assert.Eventually(t, spentIs(c, want), 5*time.Second, time.Millisecond, "charged once the CLI is reaped")
	})
	t.Run("query timeout", func(t *testing.T) {
		c, mock := newClient(t, func(cfg *agent.Config) { cfg.QueryTimeout = time.Minute })
		var err error
		for msg, e := range c.Query(t.Context(), "prompt", play(script)) {
			if _, ok := msg.(*agent.AssistantMessage); ok {
				mock.Add(time.Minute)
			}
			if e != nil {
				err = e
			}
		}
		require.ErrorIs(t, err, agent.ErrQueryTimeout)
		assert.Eventually(t, spentIs(c, want), 5*time.Second, time.Millisecond, "charged once the CLI is reaped")
	})
	t.Run("closed", func(t *testing.T) {
		// Close does not wait for a caller busy in its loop body (Close
		// may be called from one), so the query is run by Run, whose own
		// loop body is a few instructions; the fake marks when its usage
		// line is written, read or not (what is unread is metered too).
		c, _ := newClient(t, nil)
		marker := filepath.Join(t.TempDir(), "written")
		script := fakecli.Script{
			fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.UsageLine("msg_1", model, 10000, 2000)),
			fakecli.Record(marker), fakecli.Hang(),
		}
		done := start(t.Context(), c, play(script))
		require.Eventually(t, fileExists(marker), 5*time.Second, time.Millisecond)
		require.NoError(t, c.Close())
		require.ErrorIs(t, <-done, agent.ErrClosed)
		assert.InDelta(t, want, c.Stats().Limiter.SpentUSD, 1e-9, "the charge of a query stopped by Close is kept")
	})
}

// An interrupted run's result leaves the interrupted request out of its
// total: the estimate from its stream is charged instead.
func TestInterruptedResultIsChargedItsEstimate(t *testing.T) {
	c, _ := newClient(t, nil)
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.Line(fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_1", "claude-haiku-4-5", 5000))),
		fakecli.Line(fakecli.InterruptedResultLine(0)),
	}))
	require.Error(t, err)
	assert.InDelta(t, 5000*1e-6+1*5e-6, c.Stats().Limiter.SpentUSD, 1e-9, "5000 input tokens and 1 output token of claude-haiku-4-5")
}

// Inside one answer the client follows the spend from the partial
// messages it asked the CLI for, and stops the CLI once the estimate
// passes the cap: the caller gets an ErrBudgetExhausted that is not a
// refusal, the query is charged its estimate, the breaker hears nothing.
// The caller, who did not ask for partial messages, sees none.
func TestCapHoldsInsideOneAnswer(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 10
		cfg.RateLimit.QueryBudget = 0.5
	})
	delta := strings.Repeat("x", 1000) // 1000 output tokens at most: 0.015 USD at 15 USD/M
	steps := fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.Line(fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_1", "claude-sonnet-4-5", 1000))),
	}
	for range 60 { // 0.9 USD in all
		steps = append(steps, fakecli.Line(fakecli.StreamEventLine(fakecli.TextDeltaEvent(delta))))
	}
	script, record := recorded(t, append(steps, fakecli.Hang()))
	var errs []error
	var events int
	for msg, err := range c.Query(t.Context(), "prompt", play(script)) {
		if _, ok := msg.(*agent.StreamEvent); ok {
			events++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	require.Len(t, errs, 1)
	err := errs[0]
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	var rejected *agent.RejectedError
	assert.False(t, errors.As(err, &rejected), "the query ran: not a refusal")
	var over *agent.BudgetError
	require.ErrorAs(t, err, &over)
	assert.Equal(t, 0.5, over.CapUSD)
	assert.Zero(t, events, "partial messages the caller did not ask for")
	assert.Contains(t, argsOf(t, record), "--include-partial-messages")

	assert.Greater(t, over.SpentUSD, 0.5)
	assert.LessOrEqual(t, over.SpentUSD, 0.5+1000*15e-6+1e-9, "stopped at the first stream event past the cap")
	settled(t, c)
	st := c.Stats()
	charged := st.Limiter.SpentUSD
	assert.GreaterOrEqual(t, charged, over.SpentUSD, "charged its estimate, and what the CLI had written after it")
	assert.LessOrEqual(t, charged, 1000*3e-6+60*1000*15e-6+1e-9, "no more than the CLI wrote")
	assert.Zero(t, st.Breaker.Counts.Failures+st.Breaker.Counts.Successes, "neither way for the breaker")
	assert.Zero(t, st.Limiter.InFlight)
}

// A caller who asks for partial messages gets them, watch or not.
func TestPartialMessagesStillReachTheCallerWhoAsked(t *testing.T) {
	c, _ := newClient(t, nil)
	var events int
	for msg, err := range c.Query(t.Context(), "prompt", agent.WithPartialMessages(), play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.Line(fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_1", "claude-sonnet-4-5", 10))),
		fakecli.Line(fakecli.StreamEventLine(fakecli.TextDeltaEvent("hi"))),
		fakecli.Line(fakecli.ResultLine("hi", 0.001)),
	})) {
		require.NoError(t, err)
		if _, ok := msg.(*agent.StreamEvent); ok {
			events++
		}
	}
	assert.Equal(t, 2, events)
}

// Each limit can be turned off alone, and Stats says which with
// Unlimited.
func TestLimitsOffOneByOne(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.RateLimit.CostBudgetHourly = agent.Unlimited })
	script, record := recorded(t, fakecli.Success("ok", 123))
	_, err := c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	args := argsOf(t, record)
	assert.Empty(t, capArg(args), "no budget: no cap")
	assert.NotContains(t, args, "--include-partial-messages", "nothing to watch")
	st := c.Stats().Limiter
	assert.Equal(t, float64(agent.Unlimited), st.BudgetUSD)
	assert.Equal(t, float64(agent.Unlimited), st.QueryBudgetUSD)
	assert.InDelta(t, 59, st.MinuteTokens, 1e-9, "the windows still count")
	assert.InDelta(t, 123, st.SpentUSD, 1e-9, "spend is still reported")

	c, _ = newClient(t, func(cfg *agent.Config) { cfg.RateLimit.QueriesPerMinute = agent.Unlimited })
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
	require.NoError(t, err)
	st = c.Stats().Limiter
	assert.Equal(t, float64(agent.Unlimited), st.MinuteTokens)
	assert.InDelta(t, 999, st.HourTokens, 1e-9)
	assert.Equal(t, 10.0, st.BudgetUSD)
}

// A budget that leaves no query a usable cap is an error naming the
// field, not a wait until the context ends.
func TestBudgetTooSmallForAnyQuery(t *testing.T) {
	_, err := agent.New(agent.Config{CLIPath: fakeCLIPath(), RateLimit: agent.RateLimitConfig{CostBudgetHourly: 1e-9}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CostBudgetHourly")
}

// MaxWait bounds waits, it does not refuse the ones that depend on running
// queries: 20 callers behind 2 slots, under a MaxWait of 2 s, all run as
// the slots free (before, 18 were refused at once with "concurrency").
func TestMaxWaitWaitsForSlots(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.MaxConcurrent = 2
		cfg.RateLimit.MaxWait = 2 * time.Second
	})
	prompts := make([]string, 20)
	var wg sync.WaitGroup
	errs := make([]error, len(prompts))
	for i := range prompts {
		wg.Go(func() {
			_, errs[i] = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.01)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "caller %d", i)
	}
	assert.Zero(t, c.Stats().Limiter.Refused)
}
