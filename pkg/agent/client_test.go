package agent_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// start runs c.Run in a goroutine; the channel gets its error.
func start(ctx context.Context, c *agent.Client, opts ...agent.Option) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "prompt", opts...)
		done <- err
	}()
	return done
}

func queued(c *agent.Client, n int) func() bool {
	return func() bool { return c.Stats().Limiter.Queued == n }
}

func inFlight(c *agent.Client, n int) func() bool {
	return func() bool { return c.Stats().Limiter.InFlight == n }
}

// The original plan's rate test at the client level: with 60 per minute,
// 60 queries go through at once and the 61st waits until a token refills,
// one second later, without spawning anything before.
func TestSixtyFirstQueryWaitsForRefill(t *testing.T) {
	c, mock := newClient(t, nil)
	prompts := make([]string, 60)
	for i := range prompts {
		prompts[i] = "prompt"
	}
	for i, res := range c.RunBatch(t.Context(), prompts, play(fakecli.Success("ok", 0))) {
		require.NoError(t, res.Err, "query %d", i)
		require.NotNil(t, res.Result)
	}

	script, record := recorded(t, fakecli.Success("late", 0))
	done := start(t.Context(), c, play(script))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)

	mock.Add(999 * time.Millisecond)
	assert.Equal(t, 1, c.Stats().Limiter.Queued, "admitted before its token refilled")
	assert.NoFileExists(t, record, "the 61st query spawned a process while waiting")

	mock.Add(time.Millisecond)
	require.NoError(t, <-done)
	assert.FileExists(t, record)
	assert.EqualValues(t, 61, c.Stats().Limiter.Admitted)
}

// The original plan's breaker tests at the client level: five failing
// queries open the circuit, the sixth is refused without spawning anything,
// and after the timeout half-open probes close it again.
func TestCircuitOpensAndRecovers(t *testing.T) {
	c, mock := newClient(t, nil)
	for range 5 {
		_, err := c.Run(t.Context(), "prompt", play(fakecli.APIErrorResult(529)))
		var apiErr *agent.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 529, apiErr.Status)
	}
	require.Equal(t, agent.StateOpen, c.Stats().Breaker.State)

	script, record := recorded(t, fakecli.Success("ok", 0))
	_, err := c.Run(t.Context(), "prompt", play(script))
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	var rejected *agent.RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, 60*time.Second, rejected.RetryAfter)
	assert.NoFileExists(t, record, "a refused query spawned the CLI")
	assert.EqualValues(t, 5, c.Stats().Limiter.Admitted, "a refused query took a rate token")

	mock.Add(60 * time.Second)
	require.Eventually(t, func() bool { return c.Stats().Breaker.State == agent.StateHalfOpen }, 5*time.Second, time.Millisecond)
	for range 2 {
		_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
		require.NoError(t, err)
	}
	assert.Equal(t, agent.StateClosed, c.Stats().Breaker.State)
}

// A 529 result counts against the breaker; a 400 result (the caller's
// fault) and a 429 (a rate signal) do not.
func TestOnlyServerErrorsCountAsFailures(t *testing.T) {
	c, _ := newClient(t, nil)
	for _, status := range []int{400, 429, 400} {
		_, err := c.Run(t.Context(), "prompt", play(fakecli.APIErrorResult(status)))
		var apiErr *agent.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, status, apiErr.Status)
	}
	assert.Zero(t, c.Stats().Breaker.ConsecutiveFailures)

	_, err := c.Run(t.Context(), "prompt", play(fakecli.APIErrorResult(529)))
	require.Error(t, err)
	assert.Equal(t, 1, c.Stats().Breaker.ConsecutiveFailures)
	assert.EqualValues(t, 1, c.Stats().Breaker.Counts.Failures)
}

// A crash without a result is a failure that carries the exit code and the
// tail of stderr.
func TestCrashIsAFailureWithExitCodeAndStderr(t *testing.T) {
	c, _ := newClient(t, nil)
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Stderr("boom: backend unreachable\n"), fakecli.Exit(3),
	}))
	var perr *agent.ProcessError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, 3, perr.ExitCode)
	assert.Contains(t, perr.Stderr, "backend unreachable")
	assert.Equal(t, 1, c.Stats().Breaker.ConsecutiveFailures)
}

// Once spent + reserved reach the budget, a query under MaxWait is refused
// with ErrBudgetExhausted and told when the spend rolls off; an hour later
// it is admitted.
func TestBudgetExhaustedRollsOffAfterAnHour(t *testing.T) {
	c, mock := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 1.00
		cfg.RateLimit.MaxWait = time.Minute
	})
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("pricey", 1.2)))
	require.NoError(t, err)

	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	var rejected *agent.RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, agent.LimitBudget, rejected.Limit)
	assert.Equal(t, time.Hour, rejected.RetryAfter)

	mock.Add(time.Hour)
	_, err = c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
	require.NoError(t, err)
}

// A 429 api_retry line pauses the limiter for retry_delay_ms: the next query
// waits that long.
func TestRetry429PausesLaterQueries(t *testing.T) {
	c, mock := newClient(t, nil)
	script := append(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Retry429(7000)}, fakecli.Success("ok", 0)[1:]...)
	_, err := c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	assert.Equal(t, mock.Now().Add(7*time.Second), c.Stats().Limiter.PausedUntil)
	assert.Zero(t, c.Stats().Breaker.Counts.Failures, "a 429 counted as a failure")

	done := start(t.Context(), c, play(fakecli.Success("ok", 0)))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)
	mock.Add(6 * time.Second)
	assert.Equal(t, 1, c.Stats().Limiter.Queued, "admitted during the pause")
	mock.Add(time.Second)
	require.NoError(t, <-done)
}

// With one running and one waiting, a third caller gets ErrQueueFull at once.
func TestQueueFull(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent, cfg.MaxQueued = 1, 1 })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hang := play(fakecli.Script{fakecli.Hang()})
	running := start(ctx, c, hang)
	require.Eventually(t, inFlight(c, 1), 5*time.Second, time.Millisecond)
	waiting := start(ctx, c, hang)
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)

	_, err := c.Run(ctx, "prompt", hang)
	require.ErrorIs(t, err, agent.ErrQueueFull)
	var rejected *agent.RejectedError
	assert.ErrorAs(t, err, &rejected)

	cancel()
	assert.ErrorIs(t, <-running, context.Canceled)
	assert.ErrorIs(t, <-waiting, context.Canceled)
}

// Cancelling mid-stream stops the CLI and everything it started, and does
// not count against the breaker.
func TestCancelMidStreamLeavesNoProcess(t *testing.T) {
	c, _ := newClient(t, nil)
	pidFile := t.TempDir() + "/child.pid"
	script, record := recorded(t, fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.Spawn(pidFile, fakecli.Script{fakecli.Hang()}),
		fakecli.Line(fakecli.AssistantLine("working")),
		fakecli.Hang(),
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sawAssistant bool
	var last error
	for msg, err := range c.Query(ctx, "prompt", play(script)) {
		if _, ok := msg.(*agent.AssistantMessage); ok {
			sawAssistant = true
			cancel()
		}
		last = err
	}
	require.True(t, sawAssistant)
	assert.ErrorIs(t, last, context.Canceled)

	pid := readRecord(t, record).Pid // reaped in the background, maybe after the loop
	assert.Eventually(t, func() bool { return reaped(pid) }, 5*time.Second, time.Millisecond,
		"the CLI outlived the query")
	assertDies(t, readPid(t, pidFile), "the CLI's child outlived the query")
	assert.Eventually(t, inFlight(c, 0), 5*time.Second, time.Millisecond)
	st := c.Stats()
	assert.Zero(t, st.Breaker.Counts.Failures)
	assert.EqualValues(t, 1, st.Breaker.Counts.Ignored)
}

// Breaking out of the loop early settles the query and frees its slot.
func TestEarlyBreakReleasesSlot(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.MaxConcurrent = 1
		cfg.RateLimit.QueryBudget = 0.5
	})
	for range c.Query(t.Context(), "prompt", play(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})) {
		break
	}
	// The slot is freed once the process is reaped, maybe after the loop.
	assert.Eventually(t, inFlight(c, 0), 5*time.Second, time.Millisecond)
	assert.InDelta(t, 0.5, c.Stats().Limiter.SpentUSD, 1e-9, "no usage seen after init: charged the whole reservation")
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("next", 0)))
	require.NoError(t, err, "the slot of the abandoned query was not freed")
}

// A panic in the caller's loop body still settles the query and frees its slot.
func TestPanicInLoopBodyReleasesSlot(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 1 })
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.25)))
	require.NoError(t, err) // from now on each admission reserves 0.25
	require.PanicsWithValue(t, "caller bug", func() {
		for range c.Query(t.Context(), "prompt", play(fakecli.Success("ok", 0.25))) {
			panic("caller bug")
		}
	})
	assert.Eventually(t, inFlight(c, 0), 5*time.Second, time.Millisecond)
	st := c.Stats()
	assert.Zero(t, st.Limiter.ReservedUSD)
	assert.Zero(t, st.Breaker.Counts.Failures)
}

// A panicking Classify (a user callback) still lets the query settle.
func TestPanickingClassifierStillSettles(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.MaxConcurrent = 1
		cfg.Classify = func(*agent.ResultMessage, error) agent.Outcome { panic("classifier bug") }
	})
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", 0.5)))
	require.NoError(t, err)
	st := c.Stats()
	assert.Zero(t, st.Limiter.InFlight)
	assert.InDelta(t, 0.5, st.Limiter.SpentUSD, 1e-9)
	assert.EqualValues(t, 1, st.Breaker.Counts.Failures, "a query whose classification panicked counts as a failure")
}

// Config.Classify overrides the default classification.
func TestClassifyOverride(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.Classify = func(r *agent.ResultMessage, err error) agent.Outcome {
			if strings.Contains(r.Result, "bad") {
				return agent.OutcomeFailure
			}
			return agent.DefaultClassify(r, err)
		}
	})
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("bad answer", 0)))
	require.NoError(t, err)
	assert.Equal(t, 1, c.Stats().Breaker.ConsecutiveFailures)
}

// Close during active and queued queries: every caller returns with
// ErrClosed, no process is left, later queries are refused.
func TestCloseDuringActiveQueries(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 2 })
	var records []string
	var running []<-chan error
	for range 2 {
		script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
		records = append(records, record)
		running = append(running, start(t.Context(), c, play(script)))
	}
	require.Eventually(t, inFlight(c, 2), 5*time.Second, time.Millisecond)
	for _, r := range records {
		require.Eventually(t, fileExists(r), 5*time.Second, time.Millisecond)
	}
	waiting := start(t.Context(), c, play(fakecli.Success("never", 0)))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)

	require.NoError(t, c.Close())
	for _, done := range append(running, waiting) {
		assert.ErrorIs(t, <-done, agent.ErrClosed)
	}
	for _, r := range records {
		assert.True(t, reaped(readRecord(t, r).Pid))
	}
	_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("late", 0)))
	assert.ErrorIs(t, err, agent.ErrClosed)
	assert.NoError(t, c.Close(), "a second Close")
}

// A query iterator is single-use.
func TestQueryIsSingleUse(t *testing.T) {
	c, _ := newClient(t, nil)
	q := c.Query(t.Context(), "prompt", play(fakecli.Success("ok", 0)))
	var n int
	for _, err := range q {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 3, n, "init, assistant, result")
	var again []error
	for msg, err := range q {
		assert.Nil(t, msg)
		again = append(again, err)
	}
	require.Len(t, again, 1, "a second range yields exactly one error")
	assert.Error(t, again[0])
}

// RunBatch returns one outcome per prompt, in input order.
func TestRunBatchKeepsInputOrder(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 3 })
	prompts := make([]string, 7)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("prompt %d", i)
	}
	results := c.RunBatch(t.Context(), prompts, play(fakecli.Script{fakecli.Echo()}))
	require.Len(t, results, len(prompts))
	for i, res := range results {
		require.NoError(t, res.Err)
		assert.Equal(t, prompts[i], res.Result.Result)
	}
}

// Invalid config is refused with the field's name; a missing CLI says how
// to install it.
func TestNewValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		edit  func(*agent.Config)
		field string
	}{
		"concurrency":  {func(c *agent.Config) { c.MaxConcurrent = -2 }, "MaxConcurrent"},
		"per minute":   {func(c *agent.Config) { c.RateLimit.QueriesPerMinute = -3 }, "RateLimit.QueriesPerMinute"},
		"budget NaN":   {func(c *agent.Config) { c.RateLimit.CostBudgetHourly = math.NaN() }, "RateLimit.CostBudgetHourly"},
		"timeout":      {func(c *agent.Config) { c.QueryTimeout = -time.Second }, "QueryTimeout"},
		"breaker":      {func(c *agent.Config) { c.CircuitBreaker.FailureThreshold = -1 }, "CircuitBreaker.FailureThreshold"},
		"half-open":    {func(c *agent.Config) { c.CircuitBreaker.HalfOpenRequests = -2 }, "CircuitBreaker.HalfOpenRequests"},
		"successes":    {func(c *agent.Config) { c.CircuitBreaker.SuccessThreshold = -2 }, "CircuitBreaker.SuccessThreshold"},
		"open time":    {func(c *agent.Config) { c.CircuitBreaker.Timeout = -time.Second }, "CircuitBreaker.Timeout"},
		"max open":     {func(c *agent.Config) { c.CircuitBreaker.MaxTimeout = time.Second }, "CircuitBreaker.MaxTimeout must be >= CircuitBreaker.Timeout (1m0s)"},
		"max line len": {func(c *agent.Config) { c.MaxLineBytes = -1 }, "MaxLineBytes"},
		"max wait":     {func(c *agent.Config) { c.RateLimit.MaxWait = -1 }, "RateLimit.MaxWait"},
		"max pause":    {func(c *agent.Config) { c.RateLimit.MaxPause = -1 }, "RateLimit.MaxPause"},
		"huge window":  {func(c *agent.Config) { c.RateLimit.QueriesPerHour = 1 << 41 }, "RateLimit.QueriesPerHour must be at most"},
	} {
		t.Run(name, func(t *testing.T) {
			// The config is checked before the CLI is looked for.
			cfg := agent.Config{CLIPath: filepath.Join(t.TempDir(), "no-claude-here")}
			tc.edit(&cfg)
			_, err := agent.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "agent: Config."+tc.field)
			assert.NotErrorIs(t, err, agent.ErrCLINotFound)
			assert.NotContains(t, err.Error(), "breaker:", "an internal name leaked")
			assert.NotContains(t, err.Error(), "limiter:", "an internal name leaked")
		})
	}

	// Every invalid field is named.
	_, err := agent.New(agent.Config{CLIPath: fakeCLIPath(), MaxQueued: -1, IdleTimeout: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.MaxQueued")
	assert.Contains(t, err.Error(), "Config.IdleTimeout")

	// A configured CLIPath with nothing there matches ErrCLINotFound.
	missing := filepath.Join(t.TempDir(), "claude")
	_, err = agent.New(agent.Config{CLIPath: missing})
	require.ErrorIs(t, err, agent.ErrCLINotFound)
	assert.Contains(t, err.Error(), missing)
	assert.Contains(t, err.Error(), "npm install -g @anthropic-ai/claude-code")

	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLAUDE_CLI_PATH", "")
	_, err = agent.New(agent.Config{})
	require.ErrorIs(t, err, agent.ErrCLINotFound)
	assert.Contains(t, err.Error(), "npm install -g @anthropic-ai/claude-code")
}

// A query running past QueryTimeout is stopped, reported with
// ErrQueryTimeout, and counts as a breaker failure; its process is gone.
func TestQueryTimeoutStopsTheProcess(t *testing.T) {
	c, mock := newClient(t, func(cfg *agent.Config) { cfg.QueryTimeout = 30 * time.Second })
	script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	done := start(t.Context(), c, play(script))
	require.Eventually(t, fileExists(record), 5*time.Second, time.Millisecond)

	mock.Add(29 * time.Second)
	assert.Equal(t, 1, c.Stats().Limiter.InFlight, "stopped before its timeout")
	mock.Add(time.Second)
	err := <-done
	require.ErrorIs(t, err, agent.ErrQueryTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	pid := readRecord(t, record).Pid // reaped in the background, maybe after the loop
	assert.Eventually(t, func() bool { return reaped(pid) }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 1, c.Stats().Breaker.Counts.Failures)
}

// A CLI that prints nothing for IdleTimeout is stopped with ErrIdleTimeout,
// a breaker failure.
func TestIdleTimeoutIsAFailure(t *testing.T) {
	c, mock := newClient(t, func(cfg *agent.Config) { cfg.IdleTimeout = 10 * time.Second })
	script, record := recorded(t, fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	done := start(t.Context(), c, play(script))
	require.Eventually(t, fileExists(record), 5*time.Second, time.Millisecond)

	mock.Add(10 * time.Second)
	require.ErrorIs(t, <-done, agent.ErrIdleTimeout)
	assert.EqualValues(t, 1, c.Stats().Breaker.Counts.Failures)
}

// A caller that stops ranging at the result still reports the run to the
// breaker: five 529 results consumed that way open it.
func TestBreakingAtTheResultStillCounts(t *testing.T) {
	c, _ := newClient(t, nil)
	for range 5 {
		for msg := range c.Query(t.Context(), "prompt", play(fakecli.APIErrorResult(529))) {
			if _, ok := msg.(*agent.ResultMessage); ok {
				break
			}
		}
	}
	assert.Equal(t, agent.StateOpen, c.Stats().Breaker.State)
}

// A malformed line does not spoil a run whose result is clean: Run returns
// the result without an error and the breaker counts a success; Query still
// yields the *DecodeError.
func TestMalformedLineBeforeACleanResult(t *testing.T) {
	c, _ := newClient(t, nil)
	script := append(fakecli.Script{fakecli.Line(`{"type":"assistant","message":`)}, fakecli.Success("fine", 0)...)
	res, err := c.Run(t.Context(), "prompt", play(script))
	require.NoError(t, err)
	assert.Equal(t, "fine", res.Result)
	assert.EqualValues(t, 1, c.Stats().Breaker.Counts.Successes)

	var decodeErr *agent.DecodeError
	var sawDecodeErr bool
	for _, err := range c.Query(t.Context(), "prompt", play(script)) {
		sawDecodeErr = sawDecodeErr || errors.As(err, &decodeErr)
	}
	assert.True(t, sawDecodeErr)
}

// Costs that add up to the budget (0.7 + 0.2 + 0.1, a hair under 1.0 in
// floating point) exhaust it: the next query is refused, never run without
// a --max-budget-usd.
func TestBudgetRoundingLeftoverRefuses(t *testing.T) {
	c, _ := newClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 1.00
		cfg.RateLimit.MaxWait = time.Minute
	})
	for _, cost := range []float64{0.7, 0.2, 0.1} {
		_, err := c.Run(t.Context(), "prompt", play(fakecli.Success("ok", cost)))
		require.NoError(t, err)
	}
	script, record := recorded(t, fakecli.Success("one too many", 5))
	_, err := c.Run(t.Context(), "prompt", play(script))
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	assert.NoFileExists(t, record)
}
