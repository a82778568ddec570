package orchestrator

import (
	"sync"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// activity counts the queries between entry and settlement, and how many
// of them are in the caller's loop body (inside yield), so that Close can
// wait for every query except those: a Close called from a loop body of
// this Orchestrator's own Query would otherwise wait for itself. A query in
// its loop body when Close cancels it has its CLI stopped by its own
// goroutines and ends at its next step, when the body returns. The zero
// value is not usable: use newActivity. It is safe for concurrent use.
type activity struct {
	mu      sync.Mutex
	changed sync.Cond // on mu: a count changed
	running int       // entered, not yet settled
	inBody  int       // of running, inside yield
}

func newActivity() *activity {
	a := &activity{}
	a.changed.L = &a.mu
	return a
}

// add counts a query in; the caller holds the Orchestrator's lock.
func (a *activity) add() {
	a.mu.Lock()
	a.running++
	a.mu.Unlock()
}

// done counts a query out once it has settled.
func (a *activity) done() {
	a.mu.Lock()
	a.running--
	a.changed.Broadcast()
	a.mu.Unlock()
}

// body wraps the yield of a counted query so that its calls count as time
// in the loop body, however they end (a panic in the body included).
func (a *activity) body(yield func(protocol.Message, error) bool) func(protocol.Message, error) bool {
	return func(msg protocol.Message, err error) bool {
		a.mu.Lock()
		a.inBody++
		a.changed.Broadcast()
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.inBody--
			a.mu.Unlock()
		}()
		return yield(msg, err)
	}
}

// wait returns once every counted query has settled or is in its loop body.
func (a *activity) wait() {
	a.mu.Lock()
	for a.running > a.inBody {
		a.changed.Wait()
	}
	a.mu.Unlock()
}
