package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// BenchmarkQuery is one whole query against the fake CLI (this test
// binary): "ours" goes through the client (limiter, breaker, process,
// stream decoding), "exec" starts the same fake with the same script and
// the prompt on stdin and reads its stdout to the end, the floor any client
// pays. Real clock.
func BenchmarkQuery(b *testing.B) {
	script := fakecli.Success("hello", 0)
	const prompt = "say hello"
	// ours-observed has an Observer that counts every event: its cost
	// over ours is the observer path's.
	var observed atomic.Int64
	count := func() { observed.Add(1) }
	observer := &agent.Observer{
		QueryAdmitted: func(agent.QueryAdmittedEvent) { count() },
		QueryStarted:  func(agent.QueryStartedEvent) { count() },
		QueryFinished: func(agent.QueryFinishedEvent) { count() },
	}
	for name, obs := range map[string]*agent.Observer{"ours": nil, "ours-observed": observer} {
		b.Run(name, func(b *testing.B) {
			c, err := agent.New(agent.Config{
				CLIPath:   fakeCLIPath(),
				RateLimit: agent.RateLimitConfig{Disabled: true},
				Warm:      agent.WarmConfig{Disabled: true}, // a cold query, as exec's; the fake's script plays at start
				Observer:  obs,
			})
			require.NoError(b, err)
			b.Cleanup(func() { c.Close() })
			ctx := b.Context()
			opt := play(script) // built once, as exec's environment is
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.Run(ctx, prompt, opt)
				if err != nil || res == nil {
					b.Fatal(res, err)
				}
			}
		})
	}
	b.Run("exec", func(b *testing.B) {
		env := append(os.Environ(), fakecli.Env(script))
		b.ReportAllocs()
		for b.Loop() {
			if err := execFake(env, prompt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// execFake runs the fake CLI with env and the prompt on stdin, reads its
// stdout to the end and checks it ended with a result line.
func execFake(env []string, prompt string) error {
	cmd := exec.Command(fakeCLIPath(), "-p", "--output-format", "stream-json", "--verbose")
	cmd.Env = env
	cmd.Stdin = strings.NewReader(prompt)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var last []byte
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		last = append(last[:0], sc.Bytes()...)
	}
	if err := cmd.Wait(); err != nil {
		return err
	}
	if !bytes.Contains(last, []byte(`"type":"result"`)) {
		return fmt.Errorf("exec: no result line, last line %q", last)
	}
	return nil
}

// TestScaleQueries runs 10,000 concurrent queries against the fake CLI with
// at most 16 processes at once, and logs the wall time, the admissions per
// minute and the test process's peak RSS. It asserts only that every query
// succeeded and nothing was refused. It takes tens of seconds, so it runs
// only with BENCH_SCALE=1 (make bench sets it).
func TestScaleQueries(t *testing.T) {
	if os.Getenv("BENCH_SCALE") == "" {
		t.Skip("set BENCH_SCALE=1 to run the scale test (make bench does)")
	}
	const (
		queries       = 10_000
		maxConcurrent = 16
		perMinute     = 1 << 30 // far above what 16 processes can do: it does not bind
	)
	c, err := agent.New(agent.Config{
		CLIPath:       fakeCLIPath(),
		MaxConcurrent: maxConcurrent,
		MaxQueued:     queries,
		Warm:          agent.WarmConfig{Disabled: true},
		RateLimit: agent.RateLimitConfig{
			QueriesPerMinute: perMinute,
			QueriesPerHour:   perMinute,
			CostBudgetHourly: 1e9,
		},
	})
	require.NoError(t, err)
	defer c.Close()

	script := play(fakecli.Success("hello", 0))
	ctx := context.Background()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		peakQ  int
		peakIn int
	)
	start := time.Now()
	for range queries {
		wg.Go(func() {
			if _, err := c.Run(ctx, "hi", script); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	// Sample the queue and the processes in flight until all are done.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			s := c.Stats()
			peakQ, peakIn = max(peakQ, s.Limiter.Queued), max(peakIn, s.Limiter.InFlight)
		}
	}
	wall := time.Since(start)
	stats := c.Stats()

	require.Empty(t, errs, "every query succeeds")
	assert.Equal(t, uint64(queries), stats.Limiter.Admitted)
	assert.Zero(t, stats.Limiter.Refused)
	assert.LessOrEqual(t, peakIn, maxConcurrent, "never more processes than MaxConcurrent")

	t.Logf("scale: queries: %d concurrent Query calls, MaxConcurrent %d, MaxQueued %d: wall %v, %.0f queries/s",
		queries, maxConcurrent, queries, wall.Round(time.Millisecond), float64(queries)/wall.Seconds())
	t.Logf("scale: queries: admissions observed %.0f/min vs configured %d/min (the window does not bind; MaxConcurrent and process start-up do)",
		float64(stats.Limiter.Admitted)/wall.Minutes(), perMinute)
	t.Logf("scale: queries: peak queued %d, peak in flight %d (sampled every 50 ms)", peakQ, peakIn)
	t.Logf("scale: queries: peak RSS of the test process (VmHWM, children not included) %s", vmHWM(t))
}

// vmHWM returns this process's peak resident set size from /proc.
func vmHWM(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
