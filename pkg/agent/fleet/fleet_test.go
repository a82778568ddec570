package fleet_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	_ "github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/fleet"
)

// TestMain lets the test binary double as the fake claude CLI.
func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	fakecli.AnswerVersion(agent.TestedCLIVersion)
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(m)
}

// propagation bounds the wait for Redis (another process) to deliver an
// announcement: real time, as Redis is real.
const propagation = 10 * time.Second

// newClient starts a client on the fake CLI in the fleet key of srv.
func newClient(t *testing.T, srv *redistest.Server, key string, edit func(*agent.Config)) *agent.Client {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cfg := agent.DefaultConfig()
	cfg.CLIPath = exe
	cfg.Fleet = agent.FleetConfig{RedisURL: srv.URL(), Key: key, Timeout: 300 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	c, err := agent.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

func play(s fakecli.Script) agent.Option {
	key, value, _ := strings.Cut(fakecli.Env(s), "=")
	return agent.WithEnv(key, value)
}

func quota(perMinute int) func(*agent.Config) {
	return func(cfg *agent.Config) {
		cfg.RateLimit.QueriesPerMinute = perMinute
		cfg.RateLimit.QueriesPerHour = agent.Unlimited
		cfg.RateLimit.MaxWait = time.Millisecond // refuse at once what cannot run now
	}
}

// Two clients (a fleet of two) with the same key share one quota: two
// queries a minute between them; a client with another key has its own.
func TestFleetSharesTheQuota(t *testing.T) {
	srv := redistest.Start(t)
	a := newClient(t, srv, "team", quota(2))
	b := newClient(t, srv, "team", quota(2))
	other := newClient(t, srv, "other", quota(2))
	ctx := t.Context()
	ok := play(fakecli.Success("hi", 0.01))

	_, err := a.Run(ctx, "one", ok)
	require.NoError(t, err)
	_, err = b.Run(ctx, "two", ok)
	require.NoError(t, err)
	_, err = a.Run(ctx, "three", ok)
	var rej *agent.RejectedError
	require.ErrorAs(t, err, &rej, "a third query in the minute, across the fleet")
	assert.ErrorIs(t, err, agent.ErrRateLimited)
	assert.Equal(t, agent.LimitMinute, rej.Limit)
	assert.Positive(t, rej.RetryAfter)
	assert.InDelta(t, 0, b.Stats().Limiter.MinuteTokens, 0.1, "b sees the fleet's windows")

	_, err = other.Run(ctx, "elsewhere", ok)
	assert.NoError(t, err, "another key is another quota")
}

// Fail-closed: with Redis gone, a query is refused with ErrFleetUnavailable
// within the round trip's timeout, and admitted again once Redis is back.
func TestFleetFailClosedAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, "team", nil)
	ctx := t.Context()
	ok := play(fakecli.Success("hi", 0))
	_, err := c.Run(ctx, "before", ok)
	require.NoError(t, err)

	srv.Kill()
	start := time.Now()
	_, err = c.Run(ctx, "during", ok)
	var rej *agent.RejectedError
	require.ErrorAs(t, err, &rej)
	assert.ErrorIs(t, err, agent.ErrFleetUnavailable)
	assert.Equal(t, agent.LimitFleet, rej.Limit)
	assert.Less(t, time.Since(start), 3*time.Second, "bounded by Config.Fleet.Timeout")

	srv.Restart()
	_, err = c.Run(ctx, "after", ok)
	assert.NoError(t, err, "Redis is back")
}

// A trip of one client's breaker opens the other's.
func TestFleetBreakerTripReachesTheOthers(t *testing.T) {
	srv := redistest.Start(t)
	oneFailure := func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = 1 }
	a := newClient(t, srv, "team", oneFailure)
	b := newClient(t, srv, "team", oneFailure)
	ctx := t.Context()
	_, err := a.Run(ctx, "fails", play(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Exit(1)}))
	require.Error(t, err)
	require.Equal(t, agent.StateOpen, a.Stats().Breaker.State)

	require.Eventually(t, func() bool { return b.Stats().Breaker.State == agent.StateOpen },
		propagation, 5*time.Millisecond, "b never heard of a's trip")
	_, err = b.Run(ctx, "refused", play(fakecli.Success("hi", 0)))
	assert.ErrorIs(t, err, agent.ErrCircuitOpen)
}

// A pause one process's CLI met (a 429 with a retry delay) holds the
// queries of the others, and their observers name it: queued on the
// pause, admitted once it is over, having waited on it.
func TestFleetPauseIsNamedToTheOthersObservers(t *testing.T) {
	srv := redistest.Start(t)
	queued := make(chan agent.QueryQueuedEvent, 1)
	admitted := make(chan agent.QueryAdmittedEvent, 1)
	a := newClient(t, srv, "team", nil)
	b := newClient(t, srv, "team", func(cfg *agent.Config) {
		cfg.Observer = &agent.Observer{
			QueryQueued:   func(e agent.QueryQueuedEvent) { queued <- e },
			QueryAdmitted: func(e agent.QueryAdmittedEvent) { admitted <- e },
		}
	})
	probe := newClient(t, srv, "team", quota(100))
	ctx := t.Context()

	// a's query meets a 429 asking for 5 s, and its CLI waits them out:
	// b's query must come while the pause lasts.
	throttled := append(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Retry429(5000), fakecli.Sleep(5 * time.Second)}, fakecli.Success("ok", 0)[1:]...)
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(ctx, "throttled", play(throttled))
		done <- err
	}()
	require.Eventually(t, func() bool {
		_, err := probe.Run(ctx, "probe", play(fakecli.Success("hi", 0)))
		var rej *agent.RejectedError
		return errors.As(err, &rej) && rej.Limit == agent.LimitPaused
	}, propagation, 10*time.Millisecond, "the fleet never paused")

	_, err := b.Run(ctx, "held", play(fakecli.Success("hi", 0)))
	require.NoError(t, err)
	select { // delivered, or on its way: b's Run has returned
	case q := <-queued:
		assert.Equal(t, agent.LimitPaused, q.Limit)
	case <-time.After(propagation):
		t.Fatal("b's query was not seen queued: admitted during the pause?")
	}
	select {
	case ad := <-admitted:
		assert.Equal(t, agent.LimitPaused, ad.WaitedOn)
		assert.Positive(t, ad.Waited)
	case <-time.After(propagation):
		t.Fatal("b's admission was not seen")
	}
	require.NoError(t, <-done)
}

// A Config.Fleet.Client of the wrong type, or a RedisURL go-redis cannot
// read, is refused by New with the field's name.
func TestFleetConfigErrorsNameTheField(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, tt := range []struct {
		fleet agent.FleetConfig
		want  string
	}{
		{agent.FleetConfig{Client: "localhost:6379", Key: "k"}, "Config.Fleet.Client must be a go-redis v9 redis.UniversalClient, got string"},
		{agent.FleetConfig{RedisURL: "redis://localhost:6379/notadb", Key: "k"}, "Config.Fleet.RedisURL: "},
	} {
		cfg := agent.DefaultConfig()
		cfg.CLIPath, cfg.Fleet = exe, tt.fleet
		c, err := agent.New(cfg)
		if c != nil {
			c.Close()
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
	}
}

// A client of the caller's own serves the fleet, and stays open after
// the agent's Close.
func TestFleetWithOwnClient(t *testing.T) {
	srv := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	exe, err := os.Executable()
	require.NoError(t, err)
	cfg := agent.DefaultConfig()
	cfg.CLIPath = exe
	cfg.Fleet = agent.FleetConfig{Client: redis.UniversalClient(rc), Key: "own"}
	c, err := agent.New(cfg)
	require.NoError(t, err)
	_, err = c.Run(t.Context(), "hi", play(fakecli.Success("hi", 0.5)))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	spent, err := rc.HGet(t.Context(), "limiter:{own}:state", "spent").Int64()
	require.NoError(t, err, "the client is still open, and the spend is in Redis")
	assert.Equal(t, int64(500000), spent, "micro-USD")
}
