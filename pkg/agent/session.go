package agent

import (
	"context"
	"iter"
	"reflect"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
)

// ErrSessionClosed: the session is closed (by its Close, its idle limit,
// the client's Close, or its CLI's end) and takes no more turns. An error
// from a CLI that ended also matches the cause (e.g. a *ProcessError).
var ErrSessionClosed = orchestrator.ErrSessionClosed

// DefaultSessionIdle is the idle limit of a session opened without
// WithSessionIdle.
const DefaultSessionIdle = orchestrator.DefaultSessionIdle

// Session is one CLI process kept for a multi-turn conversation, every
// turn behind the client's guards. Open one with Client.Session; it is
// safe for concurrent use (turns run one at a time, in the order they
// ask), and its owner must Close it.
//
// Guards: the session holds one MaxConcurrent slot for its whole life
// (opening one waits for a slot like a query, or gets ErrQueueFull or
// ErrRateLimited). Each turn counts as a query for the windows, passes the
// circuit breaker (whose state its outcome feeds), and reserves its cap of
// the hourly budget; it is charged the growth of the CLI's cumulative
// total_cost_usd (or the estimate, as a query is), and never queues behind
// callers waiting for a slot. The CLI runs without --max-budget-usd (it
// would apply to the whole session): the client watches each turn's spend
// and a turn that passes its cap, or meets a fault of the caller's
// configuration (no credentials), ends the session, its CLI killed at once
// (continue it with WithResume and its ID).
//
// A session none of whose turns runs or waits for its idle limit
// (WithSessionIdle, default DefaultSessionIdle) closes itself.
type Session struct {
	s *orchestrator.Session
}

// WithSessionIdle sets the idle limit of a session (Client.Session): it
// closes once none of its turns has run or waited for d; d < 0: never.
// Queries ignore it.
func WithSessionIdle(d time.Duration) Option {
	return func(o *Options) { o.sessionIdle = d }
}

// Session opens a session: it waits for a concurrency slot (bounded by
// ctx, MaxWait and MaxQueued), then starts the CLI with opts, which apply
// to every turn (the model can change later with SetModel; WithResume,
// WithContinue and WithForkSession pick up an earlier session). ctx bounds
// the opening only. Invalid options fail with ErrInvalidRequest before
// anything else.
func (c *Client) Session(ctx context.Context, opts ...Option) (*Session, error) {
	o := c.options(opts)
	req := c.requestOf(&o, "")
	s, err := c.orch.OpenSession(ctx, req, orchestrator.SessionOptions{Idle: o.sessionIdle})
	if err != nil {
		return nil, exportError(err)
	}
	return &Session{s: s}, nil
}

// Query sends prompt as the session's next turn and streams its messages
// as Client.Query does, up to and including the turn's result (a result
// with is_error is followed by an *APIError). Per turn, only
// WithMaxBudgetUSD and WithPartialMessages apply; any other option fails
// the turn with ErrInvalidRequest (set them when opening the session).
// Turns run one at a time: a second one waits for the first (bounded by
// its ctx). Breaking out of the loop, or ctx ending, returns at once and
// interrupts the turn, which is read to its end in the background (its
// spend charged); the next turn starts after it.
func (s *Session) Query(ctx context.Context, prompt string, opts ...Option) iter.Seq2[Message, error] {
	turn, err := turnOptions(opts)
	if err != nil {
		return func(yield func(Message, error) bool) { yield(nil, err) }
	}
	return exportStream(s.s.Turn(ctx, prompt, turn))
}

// Run sends one turn and returns its result, as Client.Run does.
func (s *Session) Run(ctx context.Context, prompt string, opts ...Option) (*ResultMessage, error) {
	turn, err := turnOptions(opts)
	if err != nil {
		return nil, err
	}
	return drainRun(s.s.Turn(ctx, prompt, turn))
}

// turnOptions keeps the options a turn may set.
func turnOptions(opts []Option) (orchestrator.TurnOptions, error) {
	o := Options{Env: map[string]string{}}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	turn := orchestrator.TurnOptions{MaxBudgetUSD: o.MaxBudgetUSD, PartialMessages: o.PartialMessages}
	o.MaxBudgetUSD, o.PartialMessages = 0, false
	if !reflect.DeepEqual(o, Options{Env: map[string]string{}}) {
		return turn, exportError(orchestrator.Invalid("Session.Query", "only WithMaxBudgetUSD and WithPartialMessages apply to a turn; set the others when the session opens"))
	}
	return turn, nil
}

// Interrupt stops the turn the CLI is working on; the turn then ends with
// its result (subtype error_during_execution), is charged its estimate,
// and the session takes the next turn.
func (s *Session) Interrupt(ctx context.Context) error {
	return exportError(s.s.Controller().Interrupt(ctx))
}

// SetModel switches the model of the following turns.
func (s *Session) SetModel(ctx context.Context, model string) error {
	return exportError(s.s.Controller().SetModel(ctx, model))
}

// SetPermissionMode switches the permission mode of the following turns
// (e.g. "acceptEdits", "default").
func (s *Session) SetPermissionMode(ctx context.Context, mode string) error {
	return exportError(s.s.Controller().SetPermissionMode(ctx, mode))
}

// ID is the session's id as the CLI reports it, for WithResume; "" before
// the first turn's messages.
func (s *Session) ID() string { return s.s.SessionID() }

// Done is closed once the session has ended (by Close, its idle limit,
// the client's Close, or its CLI's end) and its CLI is reaped.
func (s *Session) Done() <-chan struct{} { return s.s.Done() }

// Close ends the session: a running turn is stopped, the CLI's input
// closes, and the CLI exits (stopped after StopGracePeriod) and is
// reaped; its slot is freed. It is idempotent and safe to call from a
// turn's loop body.
func (s *Session) Close() error { return s.s.Close() }
