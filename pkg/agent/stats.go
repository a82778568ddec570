package agent

import (
	"strconv"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// Stats is a snapshot of the client's guards (Client.Stats).
type Stats struct {
	// Limiter is the rate limiter's snapshot.
	Limiter LimiterStats
	// Breaker is the circuit breaker's snapshot.
	Breaker BreakerStats
	// Refusals counts the queries refused before they ran, by the limit
	// that refused them.
	Refusals map[Limit]int64
	// Callbacks counts what befell the user's callbacks.
	Callbacks CallbackStats
	// Processes counts what the client did to CLI processes to protect
	// the host.
	Processes ProcessStats
	// Warm counts the processes started ahead of queries (Config.Warm).
	Warm WarmStats
}

// LimiterStats is a snapshot of the rate limiter. A limit that is off reads
// Unlimited (MinuteTokens, HourTokens, BudgetUSD, QueryBudgetUSD).
type LimiterStats struct {
	// MinuteTokens and HourTokens are the queries each window would admit
	// now (fractions refill continuously); Unlimited when the window is off.
	MinuteTokens, HourTokens float64
	// SpentUSD is what was charged in the last 60 minutes.
	SpentUSD float64
	// ReservedUSD is what the queries in flight have reserved of the budget.
	ReservedUSD float64
	// BudgetUSD is the hourly budget; Unlimited when it is off.
	BudgetUSD float64
	// QueryBudgetUSD is the cap of a query that asks for none
	// (WithMaxBudgetUSD); Unlimited when the budget is off.
	QueryBudgetUSD float64
	// InFlight counts queries admitted and not yet settled.
	InFlight int
	// Queued counts callers waiting for admission.
	Queued int
	// PausedUntil is the end of the latest pause the API signalled, even
	// if it is past; zero if there was none, or after ClearPause.
	PausedUntil time.Time
	// Admitted counts admissions since New, less those undone because the
	// caller gave up at that moment.
	Admitted uint64
	// Refused counts refusals by the limiter since New (ErrQueueFull, or a
	// wait beyond MaxWait).
	Refused uint64
}

// State is the circuit breaker's state. The zero value is StateClosed.
type State int

// The breaker states.
const (
	// StateClosed lets every query through and counts failures.
	StateClosed State = iota
	// StateOpen refuses every query (ErrCircuitOpen) until its open time
	// has passed.
	StateOpen
	// StateHalfOpen lets a few probe queries through to see whether the
	// backend has recovered.
	StateHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// BreakerStats is a snapshot of the circuit breaker.
type BreakerStats struct {
	// State is the circuit's state.
	State State
	// ConsecutiveFailures and ConsecutiveSuccesses are the current runs of
	// outcomes in the current state; every change of state clears them.
	ConsecutiveFailures, ConsecutiveSuccesses int
	// Counts are totals since New. Outcomes of queries permitted before
	// the last change of state count here although they changed nothing.
	Counts BreakerCounts
	// Refused counts the queries the breaker refused (ErrCircuitOpen).
	Refused uint64
	// Probes counts the half-open probes in flight.
	Probes int
	// NextHalfOpen is when the open circuit turns half-open; zero when it
	// is not open.
	NextHalfOpen time.Time
	// OpenTimeout is how long the circuit stays open: the current open
	// time while open, otherwise the one the next opening would use.
	OpenTimeout time.Duration
}

// BreakerCounts counts the queries the breaker let through, since New.
type BreakerCounts struct {
	// Requests counts the queries permitted.
	Requests uint64
	// Successes, Failures and Ignored count their outcomes (Outcome).
	Successes, Failures, Ignored uint64
	// ConsecutiveSuccesses and ConsecutiveFailures are the current runs,
	// the same values as BreakerStats.ConsecutiveSuccesses and
	// BreakerStats.ConsecutiveFailures.
	ConsecutiveSuccesses, ConsecutiveFailures int
}

// CallbackStats counts the calls of the user's callbacks (Config.Stderr,
// Config.Classify, the Logger's handler), which the client runs
// recovered, off its own paths, and waits for at most StopGracePeriod in
// Close.
type CallbackStats struct {
	// Panics counts calls that panicked (recovered).
	Panics int64
	// TimedOut counts Classify calls not answered within a second: the
	// query counted as a failure.
	TimedOut int64
	// Running counts calls running now.
	Running int64
	// Abandoned counts calls still running when Close stopped waiting for
	// them: the only goroutines of the client that outlive Close.
	Abandoned int64
	// StderrDropped counts stderr lines not given to Config.Stderr because
	// it fell behind (the stderr tail of a *ProcessError has them all).
	StderrDropped int64
	// ObserverDropped counts events not given to Config.Observer because
	// it fell behind.
	ObserverDropped int64
}

// ProcessStats counts what the client did to CLI processes.
type ProcessStats struct {
	// EscapedKilled counts descendants of a CLI found outside its process
	// group when its query ended (setsid, a daemon), and killed.
	EscapedKilled int64
	// StdoutPauses counts the times a CLI was paused (SIGSTOP) because its
	// caller had not read 4 MiB of its output; it resumes once half is read.
	StdoutPauses int64
	// MaxUnreadStdoutBytes is the most output any CLI had written that its
	// caller had not read yet.
	MaxUnreadStdoutBytes int64
}

// Stats returns a snapshot of the limiter and the breaker. After Close it
// reports nothing in flight, queued or reserved.
func (c *Client) Stats() Stats {
	s := c.orch.Stats()
	if c.orch.Closed() {
		// The guards' snapshots date from when they closed, before a query
		// whose caller was in its loop body then (Close does not wait for
		// those) has settled.
		s.Limiter.InFlight, s.Limiter.Queued, s.Limiter.ReservedUSD = 0, 0, 0
		s.Breaker.Probes = 0
	}
	cb, pc := c.orch.CallbackStats(), c.orch.CLICounters()
	return Stats{
		Limiter: exportLimiterStats(s.Limiter), Breaker: exportBreakerStats(s.Breaker),
		Refusals: exportRefusals(c.orch.Refusals()),
		Callbacks: CallbackStats{
			Panics: cb.Panics, TimedOut: cb.TimedOut, Running: cb.Running, Abandoned: cb.Abandoned,
			StderrDropped: pc.StderrDropped.Load(), ObserverDropped: c.orch.ObserverDropped(),
		},
		Processes: ProcessStats{
			EscapedKilled:        pc.EscapedKilled.Load(),
			StdoutPauses:         pc.StdoutPauses.Load(),
			MaxUnreadStdoutBytes: pc.MaxUnreadStdout.Load(),
		},
		Warm: exportWarmStats(s.Pool),
	}
}

func exportRefusals(by map[string]int64) map[Limit]int64 {
	out := make(map[Limit]int64, len(by))
	for name, n := range by {
		out[limitNamed(name)] += n
	}
	return out
}

// exportLimiterStats converts the limiter's snapshot: the same fields, so
// that a field added to one and not the other fails to compile.
func exportLimiterStats(s limiter.Stats) LimiterStats { return LimiterStats(s) }

// exportBreakerStats converts the breaker's snapshot.
func exportBreakerStats(s breaker.Stats) BreakerStats {
	return BreakerStats{
		State:                exportState(s.State),
		ConsecutiveFailures:  s.ConsecutiveFailures,
		ConsecutiveSuccesses: s.ConsecutiveSuccesses,
		Counts:               BreakerCounts(s.Counts),
		Refused:              s.Refused,
		Probes:               s.Probes,
		NextHalfOpen:         s.NextHalfOpen,
		OpenTimeout:          s.OpenTimeout,
	}
}

func exportState(s breaker.State) State {
	switch s {
	case breaker.StateClosed:
		return StateClosed
	case breaker.StateOpen:
		return StateOpen
	case breaker.StateHalfOpen:
		return StateHalfOpen
	}
	return State(s)
}
