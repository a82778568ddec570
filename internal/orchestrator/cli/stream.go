package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// errReused is yielded by a Stream ranged over a second time.
var errReused = errors.New("agent: a stream can be ranged over only once")

// Stream runs the CLI for req and yields its messages as they arrive.
//
// The stream is lazy and single-use: nothing starts until the caller
// ranges over it, and a second range yields an error. It yields each
// message with a nil error; blank and non-JSON lines are skipped, and a
// malformed JSON line yields (nil, *protocol.DecodeError) and the stream
// goes on. The last yield tells how the run ended, if it did not succeed:
//   - a result with is_error true is yielded as (result, nil) followed by
//     (nil, *protocol.APIError), whatever the CLI's exit code;
//   - once a result is yielded, nothing but that APIError follows: the
//     stream ends there, and a CLI still running opt.GracePeriod later is
//     stopped;
//   - a CLI that ends without a result yields (nil, *protocol.ProcessError)
//     with its exit code or signal and the tail of its stderr;
//   - ctx ending yields ctx's error (errors.Is(err, context.Canceled) or
//     context.DeadlineExceeded holds);
//   - the idle timeout yields an error matching protocol.ErrIdleTimeout;
//   - an overlong line yields (nil, *protocol.LineTooLongError).
//
// Control lines (requests and answers of the control protocol) are never
// yielded: the reader of stdout (reader.go) hands them to the CLI's
// Controller and Request.Handlers as they come, while the caller may be in
// its loop body. With
// Request.Session the stream does not end at a result: it goes on with the
// turns Controller.SendTurn writes, and ends once Controller.CloseInput
// closed stdin and the CLI exited (cleanly with code 0 after the last
// turn's result; any other end yields the CLI's exit as an error).
//
// When ctx ends, the caller breaks out of the loop, or the stream fails,
// the CLI's process group gets SIGTERM, then SIGKILL after
// opt.GracePeriod. The iterator does not wait for that: it returns at once,
// and the CLI is stopped and reaped in the background; req.Reaped tells
// when it is gone. A stream ranged to its natural end (the result, or the
// CLI's exit) returns once the CLI is reaped: a CLI that printed its result
// gets opt.GracePeriod to exit, and is stopped after it.
func Stream(ctx context.Context, req Request, opt Options) iter.Seq2[protocol.Message, error] {
	var used atomic.Bool
	return func(yield func(protocol.Message, error) bool) {
		if used.Swap(true) {
			yield(nil, errReused)
			return
		}
		opt := opt.withDefaults()
		if req.Warm != nil {
			streamWarm(ctx, req, opt, yield)
			return
		}
		var (
			p  *process
			st runState
		)
		defer func() { // also when the caller's loop body panics
			switch {
			case p == nil:
				req.reaped()
			case st.reaped:
				p.stop(nil)
				req.reaped()
			default:
				go func() {
					// Let a CLI that has nothing left to do exit by itself
					// (a one-shot after its result); stop any other, a
					// session in the middle of a turn included.
					p.end(st.sawResult && p.ctl.inputDone())
					req.reaped()
				}()
			}
		}()
		// The process's context ends with the caller's, or with stop; it
		// is detached from the caller's when the iterator returns, so that
		// a CLI that printed its result gets its grace period to exit even
		// if the caller's ctx ends right after the loop.
		var err error
		p, err = launch(ctx, &req, &opt)
		if err != nil {
			yield(nil, err)
			return
		}
		defer p.idle.stop()
		defer context.AfterFunc(ctx, func() { p.stop(context.Cause(ctx)) })()
		if req.OnStart != nil {
			req.OnStart(&Controller{c: p.ctl})
		}
		run(ctx, p, yield, &st)
	}
}

// launch validates req and starts its CLI, with a context of its own
// that keeps ctx's values but not its end (stop ends it), and an idle
// watchdog armed to stop it.
func launch(ctx context.Context, req *Request, opt *Options) (*process, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	path, err := Find(opt.Path)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ContextError(ctx)
	}
	pctx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	// Armed before the CLI starts: a test advancing a mock clock once
	// the CLI runs always finds the timer.
	idle := newWatchdog(opt.Clock, opt.IdleTimeout)
	idle.arm(func() {
		stop(fmt.Errorf("%w: no output for %s", protocol.ErrIdleTimeout, opt.IdleTimeout))
	})
	p, err := start(pctx, stop, path, req, opt, idle)
	if err != nil {
		idle.stop()
		stop(nil)
		return nil, err
	}
	return p, nil
}

// runState is how far run got, for the stream's cleanup.
type runState struct {
	warm      bool    // the process is a warm one's: the stream ends at its turn's result, and the CLI is left running
	claimed   bool    // warm: the turn was written
	resetUSD  float64 // warm: what the reset before the turn cost
	sawResult bool    // a result was yielded
	reaped    bool    // the CLI is reaped: the stream ran to its natural end
}

// run yields the messages the reader of stdout has for the consumer, then
// the final error if any. This is the policy: a one-shot stream ends at
// its result, a session's goes on to the CLI's exit.
func run(ctx context.Context, p *process, yield func(protocol.Message, error) bool, st *runState) {
	// give yields one message or error; the consumer's time in its loop
	// body does not count as the CLI's silence.
	give := func(msg protocol.Message, err error) bool {
		p.idle.hold()
		defer p.idle.release()
		return yield(msg, err)
	}
	for {
		it, ok, err := p.inbox.take()
		if !ok {
			if err != nil { // a line too long: the CLI is stopped
				yield(nil, err)
				return
			}
			break // stdout is at its end: the CLI exited, or was stopped
		}
		if ctx.Err() != nil || (p.ctx.Err() != nil && !p.inbox.failed()) {
			// Stopping: report why, not more messages (ctx reaches p.ctx a
			// moment later). This one is drained like those after it.
			p.inbox.drainAll([]inboxItem{it})
			break
		}
		if it.err != nil {
			if !give(nil, it.err) {
				return
			}
			continue
		}
		res, isResult := it.msg.(*protocol.ResultMessage)
		if isResult && st.warm {
			// The CLI's total is cumulative over the process's turns,
			// its earlier queries' included; the reset before the turn
			// was for it.
			res.TotalCostUSD = res.TurnCostUSD + st.resetUSD
		}
		if !give(it.msg, nil) {
			return
		}
		if !isResult {
			continue
		}
		// The turn's outcome. A one-shot stream ends here, whatever the
		// CLI prints after it (a second, spurious result has been seen),
		// and how the CLI ends after it (exit 1 after an error result, or
		// stopped while lingering) changes nothing; a session goes on.
		st.sawResult = true
		if res.IsError && !give(nil, protocol.ResultError(res)) {
			return
		}
		switch {
		case st.warm:
			return // the CLI waits for its owner's next turn
		case p.ctl.session:
			continue // the CLI waits for the next turn
		}
		p.finish()
		st.reaped = true
		return
	}
	switch {
	case ctx.Err() != nil:
		yield(nil, ContextError(ctx))
	case p.ctx.Err() != nil:
		yield(nil, context.Cause(p.ctx))
	default:
		<-p.done
		st.reaped = true
		if p.ctl.session && st.sawResult && p.ctl.endedByOwner() && p.state != nil && p.state.ExitCode() == 0 {
			return // a session whose owner closed its input after its last result
		}
		// The CLI ended by itself without a result: its exit is the error.
		yield(nil, p.exitError())
	}
}

// decodeLine decodes one stdout line; ok is false for a blank line or one
// that is not a JSON object (noise, e.g. a warning the CLI prints on
// stdout), which is skipped.
func decodeLine(line []byte) (msg protocol.Message, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil, false, nil
	}
	msg, err = protocol.Decode(line)
	return msg, true, err
}

// turnCost is the cost of the turn res ends: the CLI's total_cost_usd is
// cumulative over the process's turns, so it is the difference from the
// previous result's (*prev, which it updates). An unknown cost is 0, and
// so is a turn whose total did not grow (an interrupted one: the CLI
// leaves its spend out).
func turnCost(res *protocol.ResultMessage, prev *float64) float64 {
	if !res.CostKnown || res.TotalCostUSD <= *prev {
		return 0
	}
	turn := res.TotalCostUSD - *prev
	*prev = res.TotalCostUSD
	return turn
}

// ContextError is ctx's error, with its cause when that says more.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
