package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

// child is one process of a fleet: the test binary re-executed.
type child struct {
	cmd   *exec.Cmd
	lines chan string // its stdout, closed at EOF
}

// startChild runs scenario with env in a new process.
func startChild(t *testing.T, scenario string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + scenario}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range c.lines {
		}
		_ = cmd.Wait()
	})
	return c
}

// event is one line of a child.
type event struct {
	kind   string
	at     int64 // unix µs
	capUSD float64
	took   time.Duration
	err    string
}

func parse(line string) event {
	f := strings.SplitN(line, " ", 4)
	e := event{kind: f[0]}
	if len(f) > 1 {
		e.at, _ = strconv.ParseInt(f[1], 10, 64)
	}
	switch e.kind {
	case "grant":
		e.capUSD, _ = strconv.ParseFloat(f[2], 64)
	case "err":
		if len(f) == 4 {
			us, _ := strconv.ParseInt(f[2], 10, 64)
			e.took, e.err = time.Duration(us)*time.Microsecond, f[3]
		} else {
			e.err = line
		}
	}
	return e
}

// runFleet starts n children of scenario "run" and returns every event,
// calling during (if set) with the merged stream as it comes.
func runFleet(t *testing.T, n int, during func(event), env ...string) []event {
	t.Helper()
	var mu sync.Mutex
	var all []event
	var wg sync.WaitGroup
	for i := range n {
		c := startChild(t, "run", env...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range c.lines {
				e := parse(l)
				mu.Lock()
				all = append(all, e)
				if during != nil {
					during(e)
				}
				mu.Unlock()
			}
			if err := c.cmd.Wait(); err != nil {
				t.Errorf("child %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	return all
}

// checkWindow asserts that the grants in any interval of length T number
// at most capacity + capacity×T/period (the token bucket's bound), with a
// 50 ms of slack for the time between admission and the log line.
func checkWindow(t *testing.T, grants []int64, capacity int, period time.Duration) {
	t.Helper()
	sort.Slice(grants, func(i, j int) bool { return grants[i] < grants[j] })
	rate := float64(capacity) / float64(period.Microseconds())
	for i := range grants {
		for j := i; j < len(grants); j++ {
			span := float64(grants[j]-grants[i]) + 50000
			if allowed := float64(capacity) + rate*span; float64(j-i+1) > allowed+1e-9 {
				t.Fatalf("%d admissions in %v: the %v window allows %.2f", j-i+1, time.Duration(span)*time.Microsecond, period, allowed)
			}
		}
	}
}

func grantsOf(events []event) (at []int64, caps float64, errs []event) {
	for _, e := range events {
		switch e.kind {
		case "grant":
			at, caps = append(at, e.at), caps+e.capUSD
		case "err":
			errs = append(errs, e)
		}
	}
	return at, caps, errs
}

// Eight processes share one key: together they never pass either window.
func TestFleetWindows(t *testing.T) {
	srv := redistest.Start(t)
	events := runFleet(t, 8, nil,
		"REDIS_ADDR="+srv.Addr(), "FLEET_KEY=windows",
		"PER_MINUTE=30", "PER_HOUR=34", "BUDGET=-1", "RUN_MS=2500")
	grants, _, errs := grantsOf(events)
	require.Empty(t, errs)
	checkWindow(t, grants, 30, time.Minute)
	checkWindow(t, grants, 34, time.Hour)
	assert.GreaterOrEqual(t, len(grants), 30, "the fleet did not use its quota")
}

// Eight processes share one budget: the caps they were granted (each
// spent in full) never pass it, though they compete for it.
func TestFleetBudget(t *testing.T) {
	srv := redistest.Start(t)
	events := runFleet(t, 8, nil,
		"REDIS_ADDR="+srv.Addr(), "FLEET_KEY=budget",
		"PER_MINUTE=-1", "PER_HOUR=-1", "BUDGET=2", "QUERY_BUDGET=0.125", "HOLD_MS=30", "RUN_MS=2000")
	grants, caps, errs := grantsOf(events)
	require.Empty(t, errs)
	assert.LessOrEqual(t, caps, 2+1e-9, "spend plus reservations passed the budget")
	assert.Len(t, grants, 16, "the fleet did not use its budget")
}

// A pause set by one process holds the others.
func TestFleetPause(t *testing.T) {
	srv := redistest.Start(t)
	env := []string{"REDIS_ADDR=" + srv.Addr(), "FLEET_KEY=pause", "PER_MINUTE=100", "PER_HOUR=1000", "BUDGET=-1"}
	p := startChild(t, "pause", append(env, "PAUSE_MS=60000")...)
	for range p.lines {
	}
	require.NoError(t, p.cmd.Wait())
	q := startChild(t, "probe", append(env, "MAX_WAIT_MS=100")...)
	assert.Equal(t, "refused paused", <-q.lines, "the other process was not paused")
}

// Redis is killed while eight processes admit, and restarted with its
// data: nobody passes the windows, callers meanwhile get the fail-closed
// error within a bound, and admissions resume.
func TestFleetRedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	var kill, restart sync.Once
	restarted := make(chan int64, 1)
	events := runFleet(t, 8, func(e event) {
		switch e.kind {
		case "grant": // mid-run: kill it
			kill.Do(srv.Kill)
		case "err": // the outage was seen: bring it back with its data
			restart.Do(func() {
				go func() {
					srv.Restart()
					restarted <- time.Now().UnixMicro()
				}()
			})
		}
	}, "REDIS_ADDR="+srv.Addr(), "FLEET_KEY=killed",
		"PER_MINUTE=120", "PER_HOUR=1000", "BUDGET=-1", "RUN_MS=4000")
	back := <-restarted
	grants, _, errs := grantsOf(events)
	checkWindow(t, grants, 120, time.Minute)
	require.NotEmpty(t, errs, "no caller saw the outage")
	for _, e := range errs {
		assert.Contains(t, e.err, limiter.ErrStoreUnavailable.Error())
		assert.Less(t, e.took, 2*time.Second, "a caller waited too long for the policy's answer")
	}
	after := 0
	for _, g := range grants {
		if g > back {
			after++
		}
	}
	assert.Positive(t, after, "no admission after Redis came back")
}

// A process SIGKILLed while holding reservations: its leases expire a
// LeaseTTL later (on the scripts' injected now) and are charged as spent.
func TestFleetKilledHolderLeasesExpire(t *testing.T) {
	srv := redistest.Start(t)
	clock := newFakeNow()
	h := startChild(t, "hold", "REDIS_ADDR="+srv.Addr(), "FLEET_KEY=dead",
		"PER_MINUTE=100", "PER_HOUR=1000", "BUDGET=10", "QUERY_BUDGET=1",
		"HOLD_N=3", fmt.Sprint("FAKE_NOW_US=", clock.us.Load()))
	require.Equal(t, "held", <-h.lines)
	require.NoError(t, h.cmd.Process.Kill())
	_ = h.cmd.Wait()

	ctx := context.Background()
	s := newStore(t, client(t, srv), "dead", Options{Now: clock.Now})
	lim := limiter.Limits{PerMinute: 100, PerHour: 1000, Budget: 10}
	st, err := s.State(ctx, clock.Now(), lim)
	require.NoError(t, err)
	assert.InDelta(t, 3, st.ReservedUSD, 1e-9, "the dead process's leases are gone already")

	clock.Advance(DefaultLeaseTTL - time.Microsecond)
	st, err = s.State(ctx, clock.Now(), lim)
	require.NoError(t, err)
	assert.InDelta(t, 3, st.ReservedUSD, 1e-9, "a lease expired before its TTL")

	clock.Advance(time.Microsecond)
	st, err = s.State(ctx, clock.Now(), lim)
	require.NoError(t, err)
	assert.InDelta(t, 0, st.ReservedUSD, 1e-9, "the dead process's leases did not expire")
	assert.InDelta(t, 3, st.SpentUSD, 1e-9, "an expired lease is charged its reservation")
}
