package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// turnText is the assistant text and the result of one session turn.
func turnText(t *testing.T, s *agent.Session, ctx context.Context, prompt string, opts ...agent.Option) (*agent.ResultMessage, error) {
	t.Helper()
	return s.Run(ctx, prompt, opts...)
}

// A three-turn session on one CLI: the second turn's API request carries
// the first turn's answer; each turn is charged its own cost (the growth
// of the cumulative total); the limiter counts three queries; a failing
// turn counts one breaker failure; Close reaps the process.
func TestSessionThreeTurns(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("the answer to one"), fakeapi.Text("the answer to two"),
		fakeapi.Error(500, "api_error", "boom"))
	c := realClient(t, func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = 5 })
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Stats().Limiter.InFlight, "the session holds a slot")
	assert.EqualValues(t, 0, c.Stats().Limiter.Admitted, "opening is not a query")

	one, err := turnText(t, s, ctx, "turn one")
	require.NoError(t, err)
	assert.Equal(t, "the answer to one", one.Result)
	two, err := turnText(t, s, ctx, "turn two")
	require.NoError(t, err)
	assert.Equal(t, "the answer to two", two.Result)
	assert.NotEmpty(t, s.ID())

	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	assert.Contains(t, string(msgs[len(msgs)-1].Body), "the answer to one", "the second turn's request carries the first turn")
	assert.Greater(t, one.TurnCostUSD, 0.0)
	assert.InDelta(t, one.TurnCostUSD, two.TurnCostUSD, 1e-9, "each turn is charged its own, not the cumulative total")
	assert.InDelta(t, two.TotalCostUSD, one.TurnCostUSD+two.TurnCostUSD, 1e-9)
	assert.InDelta(t, one.TurnCostUSD+two.TurnCostUSD, c.Stats().Limiter.SpentUSD, 1e-9)

	_, err = turnText(t, s, ctx, "turn three")
	var apiErr *agent.APIError
	require.ErrorAs(t, err, &apiErr, "the third turn fails")
	st := c.Stats()
	assert.EqualValues(t, 3, st.Limiter.Admitted, "three turns, three queries")
	assert.EqualValues(t, 1, st.Breaker.Counts.Failures, "one failure")
	assert.EqualValues(t, 2, st.Breaker.Counts.Successes)

	require.NoError(t, s.Close())
	assert.Zero(t, c.Stats().Limiter.InFlight, "the slot is free once the CLI is reaped")
	_, err = turnText(t, s, ctx, "turn four")
	assert.ErrorIs(t, err, agent.ErrSessionClosed)
}

// Interrupt during a stalled turn: the turn ends promptly with its result,
// is charged its estimate (the answer's input tokens were billed), and
// the session takes another turn.
func TestSessionInterrupt(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{}) // never opened: the answer stalls after message_start
	srv := fakeapi.New(t, fakeapi.Text("never").WithGate(gate).WithUsage(100_000, 1), fakeapi.Text("after"))
	c := realClient(t, nil)
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	defer s.Close()

	start := time.Now()
	var res *agent.ResultMessage
	var errs []error
	for msg, err := range s.Query(ctx, "stall", agent.WithPartialMessages()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch m := msg.(type) {
		case *agent.StreamEvent: // the answer has begun: its input is billed
			require.NoError(t, s.Interrupt(ctx), "from the loop body")
		case *agent.ResultMessage:
			res = m
		}
	}
	require.NotNil(t, res, "the interrupted turn ends with its result")
	assert.Equal(t, "error_during_execution", res.Subtype)
	assert.NotEmpty(t, errs, "an is_error result is followed by its error")
	assert.Less(t, time.Since(start), 30*time.Second, "liveness")
	spent := c.Stats().Limiter.SpentUSD
	assert.Greater(t, spent, 0.4, "charged the estimate of 100,000 input tokens (0.5 USD at 5 USD/M)")

	res, err = s.Run(ctx, "again")
	require.NoError(t, err)
	assert.Equal(t, "after", res.Result)
}

// Sessions beyond MaxConcurrent wait for a slot (here MaxQueued 0: refused
// with ErrQueueFull); the slot frees at Close. A turn of an open session
// is admitted although the slot cap is reached.
func TestSessionsHoldSlots(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	c := realClient(t, func(cfg *agent.Config) {
		cfg.MaxConcurrent = 1
	})
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	waitCtx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		s2, err := c.Session(waitCtx, apiOpts(t, srv, 0)...)
		if err == nil {
			s2.Close()
		}
		second <- err
	}()
	_, err = s.Run(ctx, "a turn needs no new slot")
	require.NoError(t, err)
	select {
	case err := <-second:
		t.Fatalf("the second session did not wait for the slot: %v", err)
	default:
	}
	require.NoError(t, s.Close())
	require.NoError(t, <-second, "admitted once the first closed")
	cancel()
}

// A session whose turns have spent the budget gets ErrBudgetExhausted at
// its next turn, before anything reaches the CLI.
func TestSessionBudgetExhausted(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Usage(0, 40_000)) // 1 USD at 25 USD/M output
	c := realClient(t, func(cfg *agent.Config) {
		cfg.RateLimit.CostBudgetHourly = 1
		cfg.RateLimit.MaxWait = time.Second
	})
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Run(ctx, "spend it all", agent.WithMaxBudgetUSD(1))
	require.NoError(t, err)
	before := len(srv.Messages())
	_, err = s.Run(ctx, "one more")
	require.ErrorIs(t, err, agent.ErrBudgetExhausted)
	var rej *agent.RejectedError
	assert.True(t, errors.As(err, &rej), "refused before it ran: %v", err)
	assert.Equal(t, before, len(srv.Messages()), "nothing reached the API")
}

// Only per-turn options apply to a turn; the others are refused before
// admission.
func TestSessionTurnOptions(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	c := realClient(t, nil)
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Run(ctx, "hi", agent.WithModel("sonnet"))
	require.ErrorIs(t, err, agent.ErrInvalidRequest)
	assert.True(t, strings.Contains(err.Error(), "WithMaxBudgetUSD"), err.Error())
	_, err = s.Run(ctx, " ")
	require.ErrorIs(t, err, agent.ErrInvalidRequest)
	assert.EqualValues(t, 0, c.Stats().Limiter.Admitted)
}

// A session none of whose turns runs or waits closes at its idle limit; a
// running turn holds the countdown.
func TestSessionIdleLimit(t *testing.T) {
	t.Parallel()
	mock := clock.NewMock()
	gate := make(chan struct{})
	srv := fakeapi.New(t, fakeapi.Text("slow").WithGate(gate))
	c := realClient(t, func(cfg *agent.Config) { cfg.Clock = mock })
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0, agent.WithSessionIdle(time.Minute))...)
	require.NoError(t, err)
	defer s.Close()

	turn := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, "a slow turn")
		turn <- err
	}()
	require.NoError(t, srv.WaitInFlight(ctx, 1))
	mock.Add(time.Hour) // the turn runs: not idle
	close(gate)
	require.NoError(t, <-turn)
	select {
	case <-s.Done():
		t.Fatal("closed while a turn ran")
	default:
	}
	mock.Add(59 * time.Second)
	select {
	case <-s.Done():
		t.Fatal("closed before its idle limit")
	default:
	}
	mock.Add(time.Second)
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("not closed at its idle limit")
	}
	_, err = s.Run(ctx, "too late")
	assert.ErrorIs(t, err, agent.ErrSessionClosed)
	assert.Zero(t, c.Stats().Limiter.InFlight)
}

// Closing the client ends its sessions, a turn's loop body calling it
// included: nothing is left running.
func TestClientCloseEndsSessions(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("one"), fakeapi.Text("two"))
	c := realClient(t, nil)
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	idle, err := c.Session(ctx, apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	for msg := range s.Query(ctx, "close from the body") {
		if msg != nil {
			require.NoError(t, c.Close())
		}
	}
	<-s.Done()
	<-idle.Done()
	_, err = idle.Run(ctx, "after Close")
	assert.ErrorIs(t, err, agent.ErrSessionClosed)
	assert.ErrorIs(t, err, agent.ErrClosed)
	assert.Zero(t, c.Stats().Limiter.InFlight)
}

// SetModel and SetPermissionMode reach the session's CLI: the next turn's
// API request asks for the new model.
func TestSessionSetModel(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("one"), fakeapi.Text("two"))
	c := realClient(t, nil)
	ctx := queryCtx(t)
	s, err := c.Session(ctx, apiOpts(t, srv, 0, agent.WithModel("sonnet"))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Run(ctx, "first")
	require.NoError(t, err)
	require.NoError(t, s.SetModel(ctx, "haiku"))
	require.NoError(t, s.SetPermissionMode(ctx, "acceptEdits"))
	_, err = s.Run(ctx, "second")
	require.NoError(t, err)
	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	assert.Contains(t, msgs[len(msgs)-1].Model, "haiku")
	assert.Contains(t, msgs[0].Model, "sonnet")
}
