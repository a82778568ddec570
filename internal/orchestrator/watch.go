package orchestrator

import (
	"errors"
	"fmt"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// watch is what the pipeline does with each message of one run (a query,
// or one turn of a session): it finds the caller's faults, meters the
// spend and stops a run that passes its cap (issue 9's in-answer watch),
// notes how the run ended and the API's pauses, and hides the partial
// messages the caller did not ask for. It is used by one goroutine.
type watch struct {
	o           *Orchestrator
	req         *cli.Request
	spend       *meter
	capUSD      float64 // 0: no cap
	wantPartial bool    // the caller asked for the partial messages
	// stop stops the run now, with a cause wrapping cli.ErrKill for the
	// budget (a CLI given a grace period goes on receiving, and the API
	// on billing, the answer).
	stop func(cause error)

	fin   finish // what QueryFinished reports
	end   Ending
	over  *BudgetError // the watch stopped the run
	fault error        // the caller's configuration is at fault (callerFault)
}

// see takes one item of the stream; it returns the error the caller gets
// in its place (the budget or the fault that stopped the run replaces the
// stream's own end; mapErr names the others) and whether the caller sees
// the item at all.
func (w *watch) see(msg protocol.Message, err error, mapErr func(error) error) (error, bool) {
	switch {
	case err != nil && w.fault != nil:
		err = w.fault // the end of a run stopped at the caller's fault
	case err != nil && w.over != nil:
		err = w.over // the end of a run the watch stopped
	case err != nil:
		err = mapErr(err)
	}
	if f := callerFault(msg, w.req); f != nil && w.fault == nil {
		w.fault = f
		w.stop(f) // stop the CLI before it retries
	}
	w.spend.observe(msg)
	if w.capUSD > 0 && w.over == nil && w.fault == nil && w.spend.spent() > w.capUSD {
		w.over = &BudgetError{CapUSD: w.capUSD, SpentUSD: w.spend.spent()}
		w.stop(fmt.Errorf("%w: %w", cli.ErrKill, w.over))
	}
	w.end.Observe(msg, err)
	if msg != nil {
		w.o.applyPause(msg)
	}
	return err, w.wantPartial || !addedByPartial(msg)
}

// outcome is the run's outcome for the breaker: known once the run ended
// or its result arrived, and never one stopped by the caller (cancelled),
// the client, the watch or the caller's fault.
func (w *watch) outcome(ended, stopped bool) (outcome breaker.Outcome, counted bool) {
	if (!ended && w.end.Result == nil) || stopped || w.over != nil || w.fault != nil {
		return breaker.Ignored, false
	}
	return w.o.classifySafely(w.end.Result, w.end.Err()), true
}

// estimated reports whether the run's charge is the client's estimate
// rather than its result's cost.
func (w *watch) estimated() bool {
	r := w.end.Result
	return r == nil || !r.CostKnown || w.over != nil || w.fault != nil
}

// charge is what the run is charged; result is the run's result with the
// cost that is the run's own in TotalCostUSD.
func (w *watch) charge(result *protocol.ResultMessage) float64 {
	return w.o.charge(result, w.spend, w.capUSD, w.fault)
}

// stoppedByClose reports whether err says the client closed.
func stoppedByClose(err error) bool { return errors.Is(err, ErrClosed) }
