package agent_test

// Integration tests: the real claude CLI (make cli), driven through the
// public client, talks to the fake Messages API of internal/fakeapi. They
// run on real time; each asserts what a user of the client would see, and
// what reached the API. Facts about the CLI they rely on are listed, with
// their own tests, in internal/fakeapi/doc.go.

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// A plain query streams the init line, the answer and the result, and its
// cost is charged to the hourly budget.
func TestIntegrationPlainQuery(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t, fakeapi.Text("hello from the fake"))

	got := drain(queryCtx(t), c, "say hi", apiOpts(t, srv, 0)...)

	require.Empty(t, got.errs)
	assert.Equal(t, []string{"system/init", "assistant", "result"}, got.types())
	init := got.msgs[0].(*agent.SystemMessage)
	require.NotNil(t, init.Init)
	assert.NotEmpty(t, init.Init.ClaudeCodeVersion)
	assert.NotEmpty(t, init.SessionID)
	assert.Equal(t, "hello from the fake", got.text())
	res := got.result(t)
	assert.False(t, res.IsError)
	assert.Equal(t, "success", res.Subtype)
	assert.Equal(t, "hello from the fake", res.Result)
	assert.Equal(t, 1, res.NumTurns)
	assert.Equal(t, init.SessionID, res.SessionID)
	// 12 input tokens at 5 USD/Mtok and 6 output tokens at 25 USD/Mtok.
	assert.InDelta(t, 0.00021, res.TotalCostUSD, 1e-9)

	stats := c.Stats()
	assert.Equal(t, res.TotalCostUSD, stats.Limiter.SpentUSD, "the result's cost is charged")
	assert.Zero(t, stats.Limiter.ReservedUSD)
	assert.Zero(t, stats.Limiter.InFlight)
	assert.EqualValues(t, 1, stats.Limiter.Admitted)
	assert.EqualValues(t, 1, stats.Breaker.Counts.Successes)
	assert.Len(t, srv.Messages(), 1)
}

// A tool call takes two turns: the CLI runs the command, streams the tool
// result as a user message and sends it back to the API.
func TestIntegrationToolUse(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t, fakeapi.ToolUse("echo tool-ran-ok"), fakeapi.Text("done"))

	got := drain(queryCtx(t), c, "run it", apiOpts(t, srv, 0, agent.WithAllowedTools("Bash"))...)

	require.Empty(t, got.errs)
	assert.Equal(t, []string{"system/init", "assistant", "user", "assistant", "result"}, got.types())
	var toolUse *agent.ToolUseBlock
	for _, b := range got.msgs[1].(*agent.AssistantMessage).Content {
		if tu, ok := b.(*agent.ToolUseBlock); ok {
			toolUse = tu
		}
	}
	require.NotNil(t, toolUse, "the first assistant message asks for a tool")
	assert.Equal(t, "Bash", toolUse.Name)
	assert.JSONEq(t, `{"command":"echo tool-ran-ok"}`, string(toolUse.Input))

	user := got.msgs[2].(*agent.UserMessage)
	require.Len(t, user.Content, 1)
	toolResult, ok := user.Content[0].(*agent.ToolResultBlock)
	require.True(t, ok, "the user message holds a %s", user.Content[0].BlockType())
	assert.Equal(t, toolUse.ID, toolResult.ToolUseID)
	assert.False(t, toolResult.IsError)
	assert.Contains(t, string(toolResult.Content), "tool-ran-ok")

	res := got.result(t)
	assert.False(t, res.IsError)
	assert.Equal(t, 2, res.NumTurns)
	assert.Equal(t, "done", res.Result)
	assert.InDelta(t, 2*0.00021, res.TotalCostUSD, 1e-9, "both turns are charged")
	assert.Equal(t, res.TotalCostUSD, c.Stats().Limiter.SpentUSD)

	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	require.Len(t, msgs[1].ToolResults(), 1, "the second request carries the tool result")
	assert.Contains(t, string(msgs[1].ToolResults()[0]), "tool-ran-ok")
}

// A 3 MB answer arrives whole: the CLI writes it as lines of about 3.2 MB,
// which must reach the caller complete, followed by the result.
func TestIntegrationLargeAnswerArrivesWhole(t *testing.T) {
	t.Parallel()
	// No budget: the in-answer watch would count the 3 MB of text as up to
	// 3 million output tokens and stop the answer at its cap.
	c := realClient(t, func(cfg *agent.Config) { cfg.RateLimit.CostBudgetHourly = agent.Unlimited })
	want := fakeapi.Filler(3 << 20)
	srv := fakeapi.New(t, fakeapi.Text(want))

	got := drain(queryCtx(t), c, "write a lot", apiOpts(t, srv, 0)...)

	assert.Empty(t, got.errs)
	assert.Equal(t, []string{"system/init", "assistant", "result"}, got.types())
	text := got.text()
	assert.Equal(t, len(want), len(text), "length of the assistant text")
	assert.True(t, text == want, "the assistant text differs from the answer")
	if len(got.msgs) > 0 {
		if res, ok := got.msgs[len(got.msgs)-1].(*agent.ResultMessage); ok {
			assert.False(t, res.IsError)
			assert.True(t, res.Result == want, "the result text differs from the answer")
		}
	}
}

// The breaker opens after five 529s; while open a query is refused without
// starting the CLI, so the API sees nothing; after the open timeout the
// half-open probes succeed and close it.
func TestIntegrationBreakerOpensAndRecovers(t *testing.T) {
	t.Parallel()
	// Long enough that the refused query surely comes before the circuit
	// turns half-open, on a loaded machine too; short enough to wait for.
	const openFor = time.Second
	c := realClient(t, func(cfg *agent.Config) {
		cfg.CircuitBreaker.Timeout = openFor
		cfg.MaxConcurrent = 5
	})
	overloaded := fakeapi.Error(529, "overloaded_error", "Overloaded")
	srv := fakeapi.New(t, overloaded, overloaded, overloaded, overloaded, overloaded)
	srv.SetDefault(fakeapi.Text("recovered"))
	opts := apiOpts(t, srv, 0) // no retries: one request per query
	ctx := queryCtx(t)

	for i, r := range c.RunBatch(ctx, []string{"one", "two", "three", "four", "five"}, opts...) {
		var apiErr *agent.APIError
		require.ErrorAs(t, r.Err, &apiErr, "query %d", i)
		assert.Equal(t, 529, apiErr.Status)
		require.NotNil(t, r.Result)
		assert.Equal(t, 529, r.Result.APIErrorStatus)
	}
	stats := c.Stats()
	require.Equal(t, agent.StateOpen, stats.Breaker.State)
	assert.EqualValues(t, 5, stats.Breaker.Counts.Failures)
	require.Len(t, srv.Messages(), 5)
	requests := len(srv.Requests())

	_, err := c.Run(ctx, "refused", opts...)
	require.ErrorIs(t, err, agent.ErrCircuitOpen)
	var rejected *agent.RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Greater(t, rejected.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, rejected.RetryAfter, openFor)
	assert.Len(t, srv.Requests(), requests, "the API heard from a refused query")
	assert.Equal(t, agent.StateOpen, c.Stats().Breaker.State)

	require.Eventually(t, func() bool { return c.Stats().Breaker.State == agent.StateHalfOpen },
		10*openFor, 10*time.Millisecond)

	res, err := c.Run(ctx, "probe one", opts...)
	require.NoError(t, err)
	assert.Equal(t, "recovered", res.Result)
	assert.Equal(t, agent.StateHalfOpen, c.Stats().Breaker.State, "one success of two")
	res, err = c.Run(ctx, "probe two", opts...)
	require.NoError(t, err)
	assert.Equal(t, "recovered", res.Result)
	assert.Equal(t, agent.StateClosed, c.Stats().Breaker.State)
	assert.Len(t, srv.Messages(), 7)
}

// A 429 with retry-after: the CLI's api_retry line pauses the limiter until
// the retry, and a query asked for meanwhile starts only then.
func TestIntegrationRateLimitPausesLimiter(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t, fakeapi.Error(429, "rate_limit_error", "slow down").WithRetryAfter(1))
	srv.SetDefault(fakeapi.Text("after the wait"))
	ctx := queryCtx(t)
	const secondPrompt = "the second query, asked for during the pause"

	var (
		first     streamed
		retrySeen time.Time
		paused    time.Time
		second    chan streamed
	)
	for msg, err := range c.Query(ctx, "hi", apiOpts(t, srv, 1)...) {
		if err != nil {
			first.errs = append(first.errs, err)
		}
		if msg == nil {
			continue
		}
		first.msgs = append(first.msgs, msg)
		if sys, ok := msg.(*agent.SystemMessage); ok && sys.APIRetry != nil && second == nil {
			retrySeen = time.Now()
			paused = c.Stats().Limiter.PausedUntil
			second = make(chan streamed, 1)
			opts := apiOpts(t, srv, 1)
			go func() { second <- drain(ctx, c, secondPrompt, opts...) }()
			assert.Eventually(t, func() bool { return c.Stats().Limiter.Queued == 1 }, 500*time.Millisecond, time.Millisecond,
				"the second query is not waiting for the pause to end")
		}
	}
	require.NotNil(t, second, "no api_retry line; got %v", first.types())
	late := <-second

	require.Empty(t, first.errs)
	assert.Equal(t, []string{"system/init", "system/api_retry", "assistant", "result"}, first.types())
	retry := first.msgs[1].(*agent.SystemMessage).APIRetry
	assert.Equal(t, 429, retry.ErrorStatus)
	assert.Equal(t, time.Second, retry.RetryDelay())
	assert.Equal(t, "after the wait", first.result(t).Result)

	// The pause was set while handling the line, just before we saw it.
	assert.WithinDuration(t, retrySeen.Add(time.Second), paused, 250*time.Millisecond)
	assert.False(t, paused.After(retrySeen.Add(time.Second)), "paused until %v, after the line was seen at %v + 1s", paused, retrySeen)

	require.Empty(t, late.errs)
	assert.Equal(t, "after the wait", late.result(t).Result)
	var secondPost *fakeapi.Request
	for _, r := range srv.Messages() {
		if strings.Contains(string(r.Body), secondPrompt) {
			secondPost = &r
		}
	}
	require.NotNil(t, secondPost, "the second query's request")
	t.Logf("api_retry seen at +0, paused until +%v, second request at +%v",
		paused.Sub(retrySeen).Round(time.Millisecond), secondPost.Time.Sub(retrySeen).Round(time.Millisecond))
	assert.False(t, secondPost.Time.Before(paused), "the second query reached the API at %v, before the pause ended at %v", secondPost.Time, paused)
	assert.Len(t, srv.Messages(), 3, "429, its retry, the second query")
}

// A 400 is the caller's fault, not the backend's: the error says so and the
// breaker does not count it.
func TestIntegrationBadRequestIsNotABreakerFailure(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t, fakeapi.Error(400, "invalid_request_error", "bad thing"))

	res, err := c.Run(queryCtx(t), "hi", apiOpts(t, srv, 3)...)

	var apiErr *agent.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.Status)
	assert.Equal(t, "API Error: 400 bad thing", apiErr.Message)
	require.NotNil(t, res)
	assert.True(t, res.IsError)
	assert.Equal(t, 400, res.APIErrorStatus)
	assert.Len(t, srv.Messages(), 1, "a 400 is not retried")

	b := c.Stats().Breaker
	assert.Equal(t, agent.StateClosed, b.State)
	assert.Zero(t, b.ConsecutiveFailures)
	assert.Zero(t, b.Counts.Failures)
	assert.EqualValues(t, 1, b.Counts.Ignored)
}

// A query whose answer costs more than its cap is stopped by the client
// once the stream shows it (here the answer's final usage: 20 USD), and
// charged that: the next query is refused at once with ErrBudgetExhausted,
// and never reaches the API.
func TestIntegrationBudgetExhausted(t *testing.T) {
	t.Parallel()
	c := realClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 10
		cfg.RateLimit.MaxWait = time.Second
	})
	srv := fakeapi.New(t, fakeapi.Usage(0, 800_000)) // 20 USD
	ctx := queryCtx(t)
	opts := apiOpts(t, srv, 0)

	_, err := c.Run(ctx, "expensive", opts...)
	var over *agent.BudgetError
	require.ErrorAs(t, err, &over)
	assert.Equal(t, 2.5, over.CapUSD, "the budget over MaxConcurrent")
	settled(t, c)
	assert.InDelta(t, 20, c.Stats().Limiter.SpentUSD, 1e-6, "800,000 output tokens at 25 USD/M")
	requests := len(srv.Requests())

	_, err = c.Run(ctx, "one more", opts...)
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	var rejected *agent.RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, agent.LimitBudget, rejected.Limit)
	assert.Len(t, srv.Requests(), requests, "a refused query reached the API")
	assert.Zero(t, c.Stats().Breaker.Counts.Failures)
}

// The CLI gets the query's cap as --max-budget-usd: with 1.00 USD an hour,
// one query allowed all of it and 0.60 spent, the next one's cap is the
// 0.40 left, and its 5 USD answer is stopped by the client and charged in
// full (the fake API reports all its tokens in one event). The breaker
// does not count that.
func TestIntegrationMaxBudgetIsWhatIsLeft(t *testing.T) {
	t.Parallel()
	c := realClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 1
		cfg.RateLimit.QueryBudget = 1
	})
	srv := fakeapi.New(t,
		fakeapi.Usage(0, 24_000),  // 0.60 USD
		fakeapi.Usage(0, 200_000), // 5 USD
	)
	ctx := queryCtx(t)

	res, err := c.Run(ctx, "fits", apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	assert.Equal(t, "success", res.Subtype)
	require.InDelta(t, 0.6, res.TotalCostUSD, 1e-6)

	_, err = c.Run(ctx, "too much", apiOpts(t, srv, 0)...)
	var over *agent.BudgetError
	require.ErrorAs(t, err, &over)
	assert.InDelta(t, 0.4, over.CapUSD, 1e-9)
	settled(t, c)
	assert.InDelta(t, 5.6, c.Stats().Limiter.SpentUSD, 1e-6)

	b := c.Stats().Breaker
	assert.Equal(t, agent.StateClosed, b.State)
	assert.Zero(t, b.Counts.Failures)
	assert.EqualValues(t, 1, b.Counts.Successes)
	assert.EqualValues(t, 1, b.Counts.Ignored)
}

// Cancelling the context mid-stream ends the stream with the context's error
// and leaves no process of the CLI behind.
func TestIntegrationCancelMidStream(t *testing.T) {
	t.Parallel()
	c := realClient(t, func(cfg *agent.Config) { cfg.StopGracePeriod = 2 * time.Second })
	gate := make(chan struct{}) // never released: the stream stays open
	srv := fakeapi.New(t, fakeapi.Text("never finished").WithGate(gate))
	marker, entry := markerOpt(t)
	ctx, cancel := context.WithCancel(queryCtx(t))
	defer cancel()

	var (
		got    streamed
		pids   []int // the CLI and its children
		cliPid int   // the CLI, a child of this process
	)
	for msg, err := range c.Query(ctx, "hold on", apiOpts(t, srv, 0, marker, agent.WithPartialMessages())...) {
		if err != nil {
			got.errs = append(got.errs, err)
		}
		if msg == nil {
			continue
		}
		got.msgs = append(got.msgs, msg)
		if _, ok := msg.(*agent.StreamEvent); ok && ctx.Err() == nil {
			// message_start has arrived; the rest is held by the gate.
			assert.Equal(t, 1, srv.InFlight())
			pids = pidsWithEnv(entry)
			for _, pid := range pids {
				if parentOf(pid) == os.Getpid() {
					cliPid = pid
				}
			}
			cancel()
		}
	}

	require.NotEmpty(t, pids, "no CLI process found; got %v", got.types())
	t.Logf("processes of the query: %v, the CLI: %d", pids, cliPid)
	require.NotZero(t, cliPid, "none of %v is our child", pids)
	// The loop returns at once; the CLI is stopped and reaped in the background.
	assert.Eventually(t, func() bool { return dead(cliPid) }, 10*time.Second, 5*time.Millisecond,
		"the CLI process outlived the query")
	require.NotEmpty(t, got.errs)
	assert.ErrorIs(t, got.errs[len(got.errs)-1], context.Canceled)
	for _, m := range got.msgs {
		assert.NotEqual(t, "result", m.Type())
	}
	for _, pid := range pids {
		assert.Eventually(t, func() bool { return dead(pid) }, 10*time.Second, 5*time.Millisecond,
			"process %d of the CLI outlived the query", pid)
	}
	assert.Empty(t, pidsWithEnv(entry))
	assert.Eventually(t, func() bool { return c.Stats().Limiter.InFlight == 0 }, 10*time.Second, 5*time.Millisecond)
	stats := c.Stats()
	assert.Zero(t, stats.Breaker.Counts.Failures, "a cancelled query is not a failure")
	assert.Eventually(t, func() bool { return srv.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond,
		"the API request outlived the query")
}

// A 300 KB prompt (over Linux's 128 KiB limit for one argument) reaches the
// API intact, as one text block.
func TestIntegrationLargePromptArrivesIntact(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t)
	prompt := fakeapi.Filler(300 << 10)

	res, err := c.Run(queryCtx(t), prompt, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	assert.Equal(t, fakeapi.DefaultText, res.Result)

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.True(t, msgs[0].HasText(prompt), "the 300 KB prompt is not in the request as one piece")
}

// Ten queries at once with MaxConcurrent 3: never more than three requests
// at the API at a time, three while the answers are held, and all ten end.
func TestIntegrationConcurrencyCap(t *testing.T) {
	t.Parallel()
	c := realClient(t, func(cfg *agent.Config) { cfg.MaxConcurrent = 3 })
	gate := make(chan struct{})
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Text("batch answer").WithGate(gate))
	ctx := queryCtx(t)
	prompts := make([]string, 10)
	for i := range prompts {
		prompts[i] = "prompt " + strconv.Itoa(i)
	}

	done := make(chan []agent.BatchResult, 1)
	opts := apiOpts(t, srv, 0)
	go func() { done <- c.RunBatch(ctx, prompts, opts...) }()
	err := srv.WaitInFlight(ctx, 3)
	inFlight := c.Stats().Limiter.InFlight
	close(gate)
	results := <-done

	require.NoError(t, err)
	assert.Equal(t, 3, inFlight)
	require.Len(t, results, 10)
	for i, r := range results {
		if assert.NoError(t, r.Err, "prompt %d", i) && assert.NotNil(t, r.Result) {
			assert.Equal(t, "batch answer", r.Result.Result)
		}
	}
	assert.Equal(t, 3, srv.MaxInFlight())
	assert.Len(t, srv.Messages(), 10)
	assert.EqualValues(t, 10, c.Stats().Breaker.Counts.Successes)
}

// Inside one answer the cap holds: an answer that would cost 20 USD
// (800,000 output tokens of text, paced) under a 0.50 USD cap is stopped
// by the client from the partial messages, long before its end; it is
// charged at most one stream event's tokens past the cap.
func TestIntegrationCapStopsALongAnswer(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	const chunk = 4096
	srv := fakeapi.New(t, fakeapi.Text(fakeapi.Filler(800_000)).WithUsage(0, 800_000).WithChunkBytes(chunk).WithDelay(2*time.Millisecond))
	ctx := queryCtx(t)

	_, err := c.Run(ctx, "write a lot", apiOpts(t, srv, 0, agent.WithMaxBudgetUSD(0.5))...)
	var over *agent.BudgetError
	require.ErrorAs(t, err, &over)
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	assert.Equal(t, 0.5, over.CapUSD)
	assert.LessOrEqual(t, over.SpentUSD, 0.5+chunk*25e-6, "stopped at the first stream event past the cap")
	settled(t, c)
	charged := c.Stats().Limiter.SpentUSD
	assert.GreaterOrEqual(t, charged, over.SpentUSD)
	assert.Zero(t, c.Stats().Breaker.Counts.Failures)

	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	last := msgs[len(msgs)-1]
	assert.False(t, last.Complete, "the fake API sent the whole answer")
	sent := float64(last.Events-2) * chunk * 25e-6 // message_start and content_block_start carry no text
	t.Logf("the API had sent %d events (%.4f USD of text) of %d when the query settled; charged %.4f USD", last.Events, sent, 800_000/chunk+5, charged)
	assert.Less(t, last.Events, 800_000/chunk, "the stream was not cut")
	assert.LessOrEqual(t, charged, sent+25e-6+1e-9, "charged more than the API sent (and message_start's one token)")
}

// A real query cancelled while its answer streams is charged the input
// tokens its message_start carried (1,000 at 5 USD/M) and the output so
// far, not 0.
func TestIntegrationCancelledQueryIsChargedItsInput(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	gate := make(chan struct{}) // holds the answer after message_start
	srv := fakeapi.New(t, fakeapi.Text("never finished").WithUsage(1000, 6).WithGate(gate))
	ctx, cancel := context.WithCancel(queryCtx(t))
	defer cancel()

	var err error
	for msg, e := range c.Query(ctx, "hello", apiOpts(t, srv, 0, agent.WithPartialMessages())...) {
		if ev, ok := msg.(*agent.StreamEvent); ok && bytes.Contains(ev.Event, []byte(`"message_start"`)) {
			cancel()
		}
		if e != nil {
			err = e
		}
	}
	require.ErrorIs(t, err, context.Canceled)
	settled(t, c)
	assert.InDelta(t, 1000*5e-6+1*25e-6, c.Stats().Limiter.SpentUSD, 1e-9)
}
