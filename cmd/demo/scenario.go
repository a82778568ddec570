package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// demo is one run: the options, the output, the tallies.
type demo struct {
	opts    options
	cliPath string // "" with --real: the usual search
	out     *console
	tally   *tally
	start   time.Time
	nextID  atomic.Int64
	metrics *metrics // with --metrics; nil otherwise
}

// since is t in seconds since the demo started.
func (d *demo) since(t time.Time) float64 { return t.Sub(d.start).Seconds() }

// config is the client configuration every phase starts from.
func (d *demo) config() agent.Config {
	return agent.Config{
		CLIPath: d.cliPath,
		RateLimit: agent.RateLimitConfig{
			QueriesPerMinute: d.opts.rpm,
			QueriesPerHour:   d.opts.rph,
			CostBudgetHourly: d.opts.budget,
		},
		CircuitBreaker: agent.CircuitBreakerConfig{
			FailureThreshold: d.opts.failureThreshold,
			Timeout:          d.opts.scaled(d.opts.openTimeout),
		},
		MaxConcurrent: d.opts.concurrency,
		// No warm processes but in the warm phases: the simulated scripts
		// play as soon as a CLI starts, so a spare would answer no one.
		Warm: agent.WarmConfig{Disabled: true},
	}
}

// phase is one act of the scenario. Each runs on a fresh client, so that
// what one phase spent does not blur the next.
type phase struct {
	name    string
	verbose bool                 // print every finished query
	edit    func(*agent.Config)  // phase-specific settings, may be nil
	intro   func(d *demo) string // what the phase is about to show
	run     func(context.Context, *stage) error
}

// phases lists the scenario "all" in order; the others are one of them.
var phases = []phase{
	{
		name: "burst",
		intro: func(d *demo) string {
			return fmt.Sprintf("%d queries at once, %d at a time; the limiter lets %d a minute through",
				d.opts.queries, d.opts.concurrency, d.opts.rpm)
		},
		run: runBurst,
	},
	{
		name:    "outage",
		verbose: true,
		intro: func(d *demo) string {
			return fmt.Sprintf("a query every %v; the API goes down (529 Overloaded); the breaker opens after %d failures in a row",
				roundDuration(d.opts.scaled(outageEvery)), d.opts.failureThreshold)
		},
		run: runOutage,
	},
	{
		name:    "pause",
		verbose: true,
		intro: func(d *demo) string {
			return fmt.Sprintf("one query meets a 429 asking to retry in %v; %d more arrive meanwhile",
				roundDuration(d.opts.scaled(pauseDelay)), pauseFollowers)
		},
		run: runPause,
	},
	{
		name:    "budget",
		verbose: true,
		edit:    func(c *agent.Config) { c.RateLimit.MaxWait = budgetMaxWait },
		intro: func(d *demo) string {
			return fmt.Sprintf("%d queries of $%.2f each, one after the other, against $%.2f an hour (MaxWait %v)",
				budgetQueries, budgetCost(d.opts.budget), d.opts.budget, budgetMaxWait)
		},
		run: runBudget,
	},
	{
		name:    "warm",
		verbose: true,
		edit:    warmPool(false),
		intro: func(d *demo) string {
			return fmt.Sprintf("%d queries one after the other, %v apart, on a CLI that takes %v to start; the pool keeps a spare (Config.Warm)",
				warmQueries, roundDuration(d.opts.scaled(warmThink)), roundDuration(d.opts.scaled(warmStartup)))
		},
		run: runWarm,
	},
	{
		name:    "reuse",
		verbose: true,
		edit:    warmPool(true),
		intro: func(d *demo) string {
			return fmt.Sprintf("the same %d queries with Warm.Reuse: a query's CLI is reset with /clear and kept for the next", warmQueries)
		},
		run: runReuse,
	},
}

// runScenario runs the phases --scenario names.
func (d *demo) runScenario(ctx context.Context) error {
	for _, p := range phases {
		if d.opts.scenario != "all" && d.opts.scenario != p.name {
			continue
		}
		if err := d.runPhase(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// runPhase starts a client, its listener and its status line, runs p,
// then stops them.
func (d *demo) runPhase(ctx context.Context, p phase) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg := d.config()
	if p.edit != nil {
		p.edit(&cfg)
	}
	s := &stage{d: d, name: p.name, verbose: p.verbose}
	s.events = newListener(s)
	cfg.Observer = s.events.observer()
	if d.metrics != nil {
		cfg.Observer = agent.MultiObserver(cfg.Observer, d.metrics.obs)
	}
	client, err := agent.New(cfg)
	if err != nil {
		return err
	}
	defer client.Close() // idempotent: for the returns below
	s.client = client
	if d.metrics != nil {
		unregister, err := d.metrics.observe(client)
		if err != nil {
			return err
		}
		defer unregister()
	}
	s.say("phase", "%s", p.intro(d))
	stop := s.watch()
	defer func() {
		client.Close() // delivers the events still queued, then
		stop()         // the status line is printed for good
	}()
	return p.run(ctx, s)
}

// runBurst sends --queries queries at once: the first --rpm go through
// (MaxConcurrent at a time), the rest wait in line for tokens.
func runBurst(ctx context.Context, s *stage) error {
	var wg sync.WaitGroup
	for range s.d.opts.queries {
		wg.Go(func() { s.query(ctx, "hello", simulate(s.d.answer("hello", 0.002, latency))) })
	}
	wg.Wait()
	return ctx.Err()
}

// The outage phase's pace and its safety net.
const (
	outageEvery    = 250 * time.Millisecond // one query per tick, before --scale
	outageAfter    = 3                      // queries sent once the breaker closed again
	outageDeadline = 60 * time.Second       // before --scale, plus outageGrace
	outageGrace    = 10 * time.Second
)

// runOutage sends a query every tick while the simulated API is down. The
// API comes back once a half-open probe has failed (the breaker re-opened
// for longer): from then on queries succeed, and the next probes close the
// circuit. A few more queries show traffic flowing again.
func runOutage(ctx context.Context, s *stage) error {
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.scaled(outageDeadline)+outageGrace)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(s.d.opts.scaled(outageEvery))
	defer tick.Stop()

	down := true
	var downRunning atomic.Bool // a query of the down API runs
	s.say("backend", "the simulated API is down: every call ends in 529 Overloaded")
	for after := 0; after < outageAfter; {
		last := s.events.latestBreaker()
		switch {
		case down && last.From == agent.StateHalfOpen && last.To == agent.StateOpen:
			down = false
			s.say("backend", "the simulated API is back up (the breaker cannot know until it probes)")
		case !down && last.To == agent.StateClosed:
			after++
		}
		script := s.d.answer("fine again", 0.002, latency)
		if down {
			script = s.d.overloaded(latency)
		}
		// While the API is down, one query at a time: a failing query still
		// running when the API comes back up would fail a probe after it.
		if !down || downRunning.CompareAndSwap(false, true) {
			wasDown := down
			wg.Go(func() {
				s.query(ctx, "are you there?", simulate(script))
				if wasDown {
					downRunning.Store(false)
				}
			})
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return errors.New("the outage scenario did not complete in time")
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// The pause phase's 429.
const (
	pauseDelay     = 1000 * time.Millisecond // retry_delay_ms of the 429, before --scale
	pauseFollowers = 4
)

// runPause runs one query whose API call gets a 429: the CLI reports an
// api_retry, the client pauses the limiter, and queries that arrive during
// the pause wait for its end.
func runPause(ctx context.Context, s *stage) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.query(ctx, "hello", simulate(s.d.throttled(pauseDelay, "hello after a retry", 0.002))) })
	give := time.NewTimer(s.d.opts.scaled(10*time.Second) + time.Second)
	defer give.Stop()
	select {
	case <-s.events.paused:
	case <-give.C:
		return errors.New("the pause phase saw no pause")
	case <-ctx.Done():
		return ctx.Err()
	}
	s.say("queries", "%d more queries arrive during the pause: they wait for its end", pauseFollowers)
	for range pauseFollowers {
		wg.Go(func() { s.query(ctx, "hello", simulate(s.d.answer("hello", 0.002, latency))) })
	}
	return nil
}

// The budget phase: queries costing a quarter of the budget each, so the
// fifth finds it spent. MaxWait makes the limiter refuse it at once with
// the time the spend rolls off, instead of keeping it waiting an hour.
const (
	budgetQueries = 6
	budgetMaxWait = 5 * time.Second
	budgetLatency = 300 * time.Millisecond
)

// budgetCost is a quarter of budget, nudged up so that four of them add up
// to the whole budget in floating point as the limiter sums them.
func budgetCost(budget float64) float64 {
	c := budget / 4
	for c+c+c+c < budget {
		c = math.Nextafter(c, math.Inf(1))
	}
	return c
}

// runBudget sends the expensive queries one after the other.
func runBudget(ctx context.Context, s *stage) error {
	cost := budgetCost(s.d.opts.budget)
	for range budgetQueries {
		s.query(ctx, "an expensive question", simulate(s.d.answer("an expensive answer", cost, budgetLatency)))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
