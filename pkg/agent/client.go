package agent

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sync"

	"github.com/benbjohnson/clock"
	"github.com/thejerf/suture/v4"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// Client runs Claude Code CLI queries behind a rate limiter and a circuit
// breaker. Create it with New; it is safe for concurrent use. The caller
// must call Close (or run Serve) to stop its goroutines and processes.
type Client struct {
	orch          *orchestrator.Orchestrator
	maxConcurrent int
	closeOnce     sync.Once
	done          chan struct{} // closed by Close
}

// New validates cfg (every invalid field is reported, by its path, e.g.
// Config.CircuitBreaker.Timeout), then finds the claude executable (an
// error matching ErrCLINotFound says how to install it), checks that it
// runs (`claude --version`; the version is logged, with a warning when it
// is not TestedCLIVersion) and starts the limiter and breaker.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	path, err := cli.Find(cfg.CLIPath)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.Logger != nil { // the user's handler may panic: recovered, as the orchestrator's
		log = slog.New(callback.Handler(cfg.Logger.Handler(), callback.New(cfg.Logger, clock.New())))
	}
	if err := checkCLI(path, log); err != nil {
		return nil, err
	}
	orch, err := orchestrator.New(cfg.orchestratorConfig(path))
	if err != nil {
		return nil, err
	}
	maxConcurrent := cfg.MaxConcurrent
	if maxConcurrent == 0 {
		maxConcurrent = DefaultConfig().MaxConcurrent
	}
	return &Client{orch: orch, maxConcurrent: maxConcurrent, done: make(chan struct{})}, nil
}

// Query returns the messages of one CLI run as a lazy, single-use stream:
// nothing happens until it is ranged over, and ranging it twice yields an
// error. The query waits its turn in the rate limiter (bounded by ctx,
// MaxWait and MaxQueued), asks the circuit breaker, then streams the CLI's
// messages as they arrive. An invalid prompt or option is a single (nil,
// error matching ErrInvalidRequest), before anything else; a refusal is a
// single (nil, *RejectedError). A
// result with is_error comes as the *ResultMessage followed by an *APIError.
// Breaking out of the loop (or ctx ending) returns at once: the process is
// stopped (SIGTERM, then SIGKILL after StopGracePeriod) and reaped in the
// background, and keeps its MaxConcurrent slot until it is gone; Close
// waits for it.
func (c *Client) Query(ctx context.Context, prompt string, opts ...Option) iter.Seq2[Message, error] {
	o := Options{Env: map[string]string{}}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return c.orch.Query(ctx, o.request(prompt))
}

// Run drains one Query and returns its result message (nil when none
// arrived) and the run's error: a refusal, an *APIError when the result has
// is_error, a *ProcessError, a timeout... A malformed line in the stream
// (a *DecodeError) is returned only when no result arrived; Query yields
// every one.
func (c *Client) Run(ctx context.Context, prompt string, opts ...Option) (*ResultMessage, error) {
	var end orchestrator.Ending
	for msg, err := range c.Query(ctx, prompt, opts...) {
		end.Observe(msg, err)
	}
	return end.Result, end.Err()
}

// State is the circuit breaker's state.
type State = breaker.State

// The breaker states.
const (
	StateClosed   = breaker.StateClosed
	StateOpen     = breaker.StateOpen
	StateHalfOpen = breaker.StateHalfOpen
)

type (
	// LimiterStats is a snapshot of the rate limiter: MinuteTokens and
	// HourTokens left per window, SpentUSD charged and ReservedUSD reserved
	// in the last hour, BudgetUSD and QueryBudgetUSD (a query's default cap),
	// InFlight and Queued queries, PausedUntil, Admitted and Refused counts.
	// A limit that is off reads Unlimited (MinuteTokens, HourTokens,
	// BudgetUSD, QueryBudgetUSD).
	LimiterStats = limiter.Stats
	// BreakerStats is a snapshot of the circuit breaker: state, consecutive
	// and total counts, refusals, the time of the next half-open.
	BreakerStats = breaker.Stats
)

// Stats is a snapshot of the client's guards.
type Stats struct {
	Limiter  LimiterStats
	Breaker  BreakerStats
	InFlight int // CLI processes admitted and not yet settled
	Queued   int // callers waiting for admission
	// Callbacks counts what befell the user's callbacks.
	Callbacks CallbackStats
	// Processes counts what the client did to CLI processes to protect
	// the host.
	Processes ProcessStats
}

// CallbackStats counts the calls of the user's callbacks (Config.Stderr,
// Config.Classify, the Logger's handler), which the client runs
// recovered, off its own paths, and waits for at most StopGracePeriod in
// Close.
type CallbackStats struct {
	Panics   int64 // calls that panicked, recovered
	TimedOut int64 // Classify calls not answered within a second: the query counted as a failure
	Running  int64 // calls running now
	// Abandoned counts calls still running when Close stopped waiting for
	// them: the only goroutines of the client that outlive Close.
	Abandoned int64
	// StderrDropped counts stderr lines not given to Config.Stderr because
	// it fell behind (the stderr tail of a *ProcessError has them all).
	StderrDropped int64
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
		Limiter: s.Limiter, Breaker: s.Breaker, InFlight: s.Limiter.InFlight, Queued: s.Limiter.Queued,
		Callbacks: CallbackStats{
			Panics: cb.Panics, TimedOut: cb.TimedOut, Running: cb.Running, Abandoned: cb.Abandoned,
			StderrDropped: pc.StderrDropped.Load(),
		},
		Processes: ProcessStats{
			EscapedKilled:        pc.EscapedKilled.Load(),
			StdoutPauses:         pc.StdoutPauses.Load(),
			MaxUnreadStdoutBytes: pc.MaxUnreadStdout.Load(),
		},
	}
}

// ClearPause lifts at once a pause the API imposed on later queries (after
// an api_retry for a 429, or a rejected rate_limit_event): queries held
// only by it are admitted now. Stats().Limiter.PausedUntil is zero after it.
// The next such signal pauses again.
func (c *Client) ClearPause() {
	c.orch.ClearPause()
}

// Close stops every running query (SIGTERM, then SIGKILL after
// StopGracePeriod), wakes waiting callers with ErrClosed, stops the guards
// and waits until no goroutine or process of the client is left, except
// user callbacks (Stderr, Classify) still running StopGracePeriod after the
// rest has ended: those are abandoned, logged and counted. It is
// idempotent and safe from many goroutines. It may be called from inside
// a Query loop body of the same client: it then does not wait for the
// callers that are in their loop body at that moment (that one, and any
// other), but their CLIs are stopped and reaped before it returns, and
// each such query ends with ErrClosed at its next step, once its loop
// body returns (its charge, settled then, is lost with the closed guards).
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return c.orch.Close()
}

// Serve runs the client as a supervised service (github.com/thejerf/suture's
// Service contract): it blocks until ctx ends, then closes the client and
// returns ctx's error. If the client is or gets closed by someone else, it
// returns an error that matches both ErrClosed and suture.ErrDoNotRestart:
// a closed client cannot serve again, so a supervisor must not restart it.
func (c *Client) Serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
		c.Close()
		return ctx.Err()
	case <-c.done:
		return errServeClosed
	}
}

// errServeClosed is Serve's error on a closed client. suture tells a
// service that must not be restarted by errors.Is against its own
// sentinel, so only wrapping that sentinel says it; suture is small,
// already required by this module, and starts nothing when imported.
var errServeClosed = fmt.Errorf("%w: %w", ErrClosed, suture.ErrDoNotRestart)
