package agent

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"

	"github.com/benbjohnson/clock"
	"github.com/thejerf/suture/v4"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// Client runs Claude Code CLI queries behind a rate limiter and a circuit
// breaker. Create it with New; it is safe for concurrent use. The caller
// must call Close (or run Serve) to stop its goroutines and processes.
type Client struct {
	orch          *orchestrator.Orchestrator
	maxConcurrent int
	closeOnce     sync.Once
	releaseOnce   sync.Once
	done          chan struct{} // closed by Close
	releaseFleet  func() error  // after the guards: the fleet's breaker state and Redis client
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
	oc := cfg.orchestratorConfig(path)
	releaseFleet, err := cfg.openFleet(&oc, log)
	if err != nil {
		return nil, err
	}
	orch, err := orchestrator.New(oc)
	if err != nil {
		if oc.Limiter.Store != nil {
			_ = oc.Limiter.Store.Close() // no limiter took it
		}
		_ = releaseFleet()
		return nil, err
	}
	maxConcurrent := cfg.MaxConcurrent
	if maxConcurrent == 0 {
		maxConcurrent = DefaultConfig().MaxConcurrent
	}
	return &Client{orch: orch, maxConcurrent: maxConcurrent, done: make(chan struct{}), releaseFleet: releaseFleet}, nil
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
	return exportStream(c.orch.Query(ctx, c.request(prompt, opts)))
}

// request is the CLI request of a query: its options as flags, and its
// callbacks as control handlers.
func (c *Client) request(prompt string, opts []Option) cli.Request {
	o := c.options(opts)
	return c.requestOf(&o, prompt)
}

// options applies opts.
func (c *Client) options(opts []Option) Options {
	o := Options{Env: map[string]string{}}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// requestOf is request for options already applied.
func (c *Client) requestOf(o *Options, prompt string) cli.Request {
	r := o.request(prompt)
	timeout := o.CallbackTimeout
	if timeout < 0 && r.OptionError == nil {
		r.OptionError = orchestrator.Invalid("Options.CallbackTimeout", "must not be negative, got %v", timeout)
	}
	if timeout <= 0 {
		timeout = DefaultCallbackTimeout
	}
	guard := c.orch.Callbacks()
	if o.CanUseTool != nil {
		r.PermissionPromptTool = "stdio"
		r.Handlers = map[string]cli.ControlHandler{protocol.ControlCanUseTool: permissionHandler(o.CanUseTool, guard, timeout)}
	}
	if hs := newHookSet(o.Hooks, guard, timeout); len(hs.byID) > 0 {
		if r.Handlers == nil {
			r.Handlers = make(map[string]cli.ControlHandler)
		}
		r.Handlers[protocol.ControlHookCallback] = hs.handle
		r.Initialize = map[string]any{"hooks": hs.init}
	}
	if len(o.MCPServers) > 0 {
		ms, config, err := newMCPSet(o.MCPServers, guard)
		if err != nil {
			if r.OptionError == nil {
				r.OptionError = err
			}
			return r
		}
		if r.Handlers == nil {
			r.Handlers = make(map[string]cli.ControlHandler)
		}
		r.Handlers[protocol.ControlMCPMessage] = ms.handle
		r.MCPConfigs = append(slices.Clip(r.MCPConfigs), config)
		r.Reaped = ms.close // the orchestrator calls it after its own
	}
	return r
}

// Run drains one Query and returns its result message (nil when none
// arrived) and the run's error: a refusal, an *APIError when the result has
// is_error, a *ProcessError, a timeout... A malformed line in the stream
// (a *DecodeError) is returned only when no result arrived; Query yields
// every one.
func (c *Client) Run(ctx context.Context, prompt string, opts ...Option) (*ResultMessage, error) {
	return drainRun(c.orch.Query(ctx, c.request(prompt, opts)))
}

// drainRun ranges over one run's stream and returns its result and error;
// only those are converted.
func drainRun(seq iter.Seq2[protocol.Message, error]) (*ResultMessage, error) {
	var end orchestrator.Ending
	for msg, err := range seq {
		end.Observe(msg, err)
	}
	var result *ResultMessage
	if end.Result != nil {
		result = exportResult(end.Result)
	}
	return result, exportError(end.Err())
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
	err := c.orch.Close() // every caller returns from it once the guards are closed
	c.releaseOnce.Do(func() {
		if rerr := c.releaseFleet(); rerr != nil && err == nil {
			err = fmt.Errorf("agent: closing the fleet's shared state: %w", rerr)
		}
	})
	return err
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
