package redisstate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// A child process (the test binary re-executed with childEnv set) runs
// one breaker on the Redis at REDISSTATE_ADDR and prints "ready", then
// "open" when a trip reaches it, or, when the fleet turns half-open,
// "granted" or "refused" for one Allow.
const childEnv = "REDISSTATE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	goleak.VerifyTestMain(m)
}

func child() int {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDISSTATE_ADDR")})
	defer client.Close()
	st, err := New(client, Options{Key: "fleet"})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer st.Close()
	b, err := breaker.New(breaker.Config{Shared: st, HalfOpenRequests: 2, Clock: clock.NewMock()})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer b.Close()
	events := make(chan breaker.Event, 8)
	b.Subscribe(func(ev breaker.Event) { events <- ev })
	ctx := context.Background()
	select {
	case <-st.Subscribed(): // from now on no announcement is missed
	case <-time.After(childDeadline):
		fmt.Println("error: not subscribed")
		return 1
	}
	fmt.Println("ready")
	var ev breaker.Event
	select {
	case ev = <-events:
	case <-time.After(childDeadline):
		fmt.Println("error: no event")
		return 1
	}
	switch ev.To {
	case breaker.StateOpen:
		fmt.Println("open")
	case breaker.StateHalfOpen:
		if _, err := b.Allow(ctx); err != nil {
			fmt.Println("refused")
		} else {
			fmt.Println("granted")
		}
	default:
		fmt.Println(ev.To)
	}
	return 0
}

// childDeadline bounds the waits for another process (a child, Redis):
// real time, as these are real processes.
const childDeadline = 20 * time.Second

// startChildren starts n children and waits for their "ready".
func startChildren(t *testing.T, addr string, n int) []<-chan string {
	t.Helper()
	var outs []<-chan string
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "REDISSTATE_ADDR="+addr)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		lines := make(chan string, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-done; _ = cmd.Wait() })
		require.Equal(t, "ready", next(t, lines))
		outs = append(outs, lines)
	}
	return outs
}

// next returns the next line of a child, failing the test after
// childDeadline.
func next(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		require.True(t, ok, "a child ended without an answer")
		return l
	case <-time.After(childDeadline):
		require.FailNow(t, "a child did not answer in time")
		return ""
	}
}

func lines(t *testing.T, outs []<-chan string) []string {
	t.Helper()
	var got []string
	for _, out := range outs {
		got = append(got, next(t, out))
	}
	return got
}

func newState(t *testing.T, addr string) (*State, *redis.Client) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	st, err := New(client, Options{Key: "fleet"})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st, client
}

func TestTripInOneProcessReachesTheOthers(t *testing.T) {
	srv := redistest.Start(t)
	outs := startChildren(t, srv.Addr(), 3)
	st, _ := newState(t, srv.Addr())
	b, err := breaker.New(breaker.Config{Shared: st, Clock: clock.NewMock()})
	require.NoError(t, err)
	defer b.Close()
	for range breaker.DefaultFailureThreshold {
		p, err := b.Allow(t.Context())
		require.NoError(t, err)
		b.Report(p, breaker.Failure)
	}
	assert.Equal(t, []string{"open", "open", "open"}, lines(t, outs))
}

func TestHalfOpenProbesLimitedAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	outs := startChildren(t, srv.Addr(), 5)
	_, client := newState(t, srv.Addr())
	// A trip whose open time is over: the fleet is half-open.
	require.NoError(t, client.HSet(t.Context(), "{breaker:fleet}:state", "gen", 1, "closed", 0, "until", 0).Err())
	require.NoError(t, client.Publish(t.Context(), "{breaker:fleet}:changed", 1).Err())
	got := lines(t, outs)
	granted := 0
	for _, l := range got {
		if l == "granted" {
			granted++
		}
	}
	assert.Equal(t, 2, granted, "HalfOpenRequests probes in the whole fleet: %v", got)
	n, err := client.ZCard(t.Context(), "{breaker:fleet}:probes").Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, n, int64(2))
}

func TestScriptsKeepTheFleetState(t *testing.T) {
	srv := redistest.Start(t)
	st, _ := newState(t, srv.Addr())
	ctx := t.Context()
	f, err := st.Trip(ctx, 0, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), f.Gen)
	assert.InDelta(t, time.Minute, f.Open, float64(time.Second))
	f, err = st.Trip(ctx, 0, time.Hour) // decided over an old state: the first trip stands
	require.NoError(t, err)
	assert.Equal(t, uint64(1), f.Gen)
	assert.Less(t, f.Open, time.Hour)
	ok, _, err := st.TakeProbe(ctx, 1, 1, 2)
	require.NoError(t, err)
	assert.False(t, ok, "not half-open yet")
	f, err = st.CloseCircuit(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, breaker.Fleet{Gen: 1, Closed: true}, f)
}

func TestRedisDownFallsBackToLocal(t *testing.T) {
	srv := redistest.Start(t)
	st, _ := newState(t, srv.Addr())
	clk := clock.NewMock()
	b, err := breaker.New(breaker.Config{Shared: st, Clock: clk, HalfOpenRequests: 1, SharedTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	defer b.Close()
	srv.Kill()
	for range breaker.DefaultFailureThreshold {
		p, err := b.Allow(t.Context())
		require.NoError(t, err)
		b.Report(p, breaker.Failure)
	}
	require.Equal(t, breaker.StateOpen, b.Stats().State, "the local trip stands")
	clk.Add(breaker.DefaultTimeout)
	start := time.Now()
	p, err := b.Allow(t.Context())
	require.NoError(t, err, "the local probe cap decides")
	assert.Less(t, time.Since(start), 5*time.Second, "never hangs: bounded by SharedTimeout per queued call")
	_, err = b.Allow(t.Context())
	assert.ErrorIs(t, err, breaker.ErrCircuitOpen)
	b.Report(p, breaker.Success)
	assert.True(t, strings.Contains(fmt.Sprint(b.Stats().State), "half-open"))
}
