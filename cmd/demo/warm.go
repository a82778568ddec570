package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The warm phases: a few queries of one key, one after the other, with a
// caller's think time between them. The first starts its CLI (cold); the
// next claim a spare the pool started meanwhile (Config.Warm), or, with
// Reuse, the previous query's own CLI. How each query started is read off
// Stats().Warm, never guessed from its latency.
const (
	warmStartup = 700 * time.Millisecond // the simulated CLI's start-up, before --scale
	warmThink   = 800 * time.Millisecond // between two queries, before --scale
	warmQueries = 3
	warmCost    = 0.002
	// realThink is the think time with --real: enough for a real CLI to
	// boot (about 0.7 s) while its spare waits for the next query.
	realThink = 2 * time.Second
)

// How a query's CLI started, as the events and the summary name it.
const (
	startCold   = "cold"
	startSpare  = "warm spare"
	startReused = "reused"
)

// startOrder lists them in the summary's order.
var startOrder = []string{startCold, startSpare, startReused}

// warmPool is the pool of the warm phases: one spare of the one key.
func warmPool(reuse bool) func(*agent.Config) {
	return func(c *agent.Config) { c.Warm = agent.WarmConfig{Spares: 1, MaxParked: 1, Reuse: reuse} }
}

// served is the simulated CLI of the warm phases: it spends warmStartup
// starting, as the real one does, then answers turns on stdin until it
// closes (fakecli.Serve), each with its pid.
func (d *demo) served() agent.Option {
	return simulate(fakecli.Script{fakecli.Sleep(d.opts.scaled(warmStartup)), fakecli.Serve(warmCost)})
}

// runWarm is the simulated warm phase: the first query cold, the next
// on spares.
func runWarm(ctx context.Context, s *stage) error {
	think := s.d.opts.scaled(warmThink)
	next := fmt.Sprintf("the pool starts a spare CLI for the next query, which comes %v later", roundDuration(think))
	return s.warmQueries(ctx, warmQueries, think, next, "hello", s.d.served())
}

// runReuse is the same with Warm.Reuse: the first query's CLI serves the
// next ones.
func runReuse(ctx context.Context, s *stage) error {
	think := s.d.opts.scaled(warmThink)
	next := fmt.Sprintf("the pool keeps the query's CLI (Warm.Reuse) for the next query, which comes %v later", roundDuration(think))
	return s.warmQueries(ctx, warmQueries, think, next, "hello", s.d.served())
}

// warmQueries sends n queries of prompt, a think time apart, and says how
// each one's CLI started and how long it took; next is said after the
// first. Before each query but the first it waits for a parked process,
// so that a slow machine shows a slow warm query rather than a cold one.
func (s *stage) warmQueries(ctx context.Context, n int, think time.Duration, next, prompt string, opts ...agent.Option) error {
	var prev agent.WarmStats // before the previous query
	for i := range n {
		if i > 0 {
			if err := sleep(ctx, think); err != nil {
				return err
			}
			if err := s.waitFor(ctx, "parked process", func(st agent.Stats) bool { return st.Warm.Parked > 0 }); err != nil {
				return err
			}
		}
		before := s.client.Stats().Warm
		t0 := time.Now()
		e, res := s.send(ctx, prompt, opts...)
		took := time.Since(t0)
		after := s.client.Stats().Warm
		if e.Kind == "done" {
			e.Start, e.LatencyS, e.Pid = startedHow(prev, before, after), took.Seconds(), servedPid(prompt, res)
			e.Message = fmt.Sprintf("query %d done in %v, %s", e.Query, took.Round(time.Millisecond), startNotes[e.Start])
			if e.Pid != 0 {
				e.Message += fmt.Sprintf(" (pid %d)", e.Pid)
			} else {
				e.Message += excerpt(res.Result) // the real CLI's answer
			}
			s.d.tally.started(e.Start, took)
		}
		s.print(e)
		if e.Kind == "interrupted" {
			return ctx.Err()
		}
		if i == 0 && n > 1 {
			s.say("warm", "%s", next)
		}
		prev = before
	}
	// The last query's CLI exits (or parks) in the background: the phase
	// ends once it has.
	if err := s.waitFor(ctx, "end of its last query", func(st agent.Stats) bool { return st.Limiter.InFlight == 0 }); err != nil {
		return err
	}
	st := s.client.Stats().Warm
	s.say("warm", "Stats().Warm: Misses %d (cold starts), Hits %d (parked CLIs claimed), Reused %d (CLIs parked again)", st.Misses, st.Hits, st.Reused)
	return nil
}

// startNotes explain each way of starting, in the done lines.
var startNotes = map[string]string{
	startCold:   "cold: its CLI started for it",
	startSpare:  "on a warm spare: a CLI the pool started while the caller thought",
	startReused: "reused: the previous query's CLI, reset with /clear",
}

// startedHow tells how a query's CLI started from the pool's counts
// before and after it (before0: before the query preceding it): a miss
// is a cold start, a hit claims a parked process, which is the previous
// query's own when that one came back (Reused rose meanwhile: the pool
// hands out a query's own process before a spare). Without a pool every
// start is cold.
func startedHow(before0, before, after agent.WarmStats) string {
	switch {
	case after.Hits > before.Hits && before.Reused > before0.Reused:
		return startReused
	case after.Hits > before.Hits:
		return startSpare
	}
	return startCold
}

// servedPid is the pid in a simulated CLI's answer to prompt (see
// fakecli.ServedText), or 0: the real CLI does not say.
func servedPid(prompt string, res *agent.ResultMessage) int {
	if res == nil {
		return 0
	}
	var pid, turn int
	rest, ok := strings.CutPrefix(res.Result, prompt)
	if !ok {
		return 0
	}
	if _, err := fmt.Sscanf(rest, " [pid %d, turn %d]", &pid, &turn); err != nil {
		return 0
	}
	return pid
}

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pollEvery is how often waitFor reads the client's Stats.
const pollEvery = 10 * time.Millisecond

// waitFor polls the client's Stats until ok holds, or a little time
// passed without the phase seeing what. The warm phases use it for the
// pool's state (a spare parked, the last CLI back), which no event
// reports: the guards' decisions come from the client's events.
func (s *stage) waitFor(ctx context.Context, what string, ok func(agent.Stats) bool) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	give := time.NewTimer(s.d.opts.scaled(10*time.Second) + time.Second)
	defer give.Stop()
	for !ok(s.client.Stats()) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-give.C:
			return fmt.Errorf("the %s phase saw no %s", s.name, what)
		case <-tick.C:
		}
	}
	return nil
}
