package orchestrator

import (
	"cmp"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// The user's callbacks and how each is run (every one through o.callbacks,
// recovered):
//   - Config.Classify: once per finished query, from the goroutine that
//     ranges over it, so concurrently for concurrent queries; the caller
//     waits for it at most ClassifyTimeout, then the query counts as a
//     failure and the call is left running, counted as timed out.
//   - Config.Logger's handler: wrapped (callback.Handler) so a panic in it
//     is recovered and counted; it is called concurrently, from the
//     goroutine that logs (the guards' actors included), and a handler that
//     blocks blocks that goroutine.
//   - cli.Options.OnStderr: never concurrently for one query, concurrently
//     across queries, from a goroutine of its own (see the field's doc).
//
// Close waits for calls still running at most the grace period
// (cli.Options.GracePeriod); those still running then are abandoned,
// logged and counted (CallbackStats().Abandoned): the only goroutines that
// may outlive Close.

// ClassifyTimeout is how long a query's end waits for Config.Classify.
const ClassifyTimeout = time.Second

// CallbackStats counts the user callbacks' panics, time-outs, calls still
// running and calls abandoned at Close.
func (o *Orchestrator) CallbackStats() callback.Stats { return o.callbacks.Stats() }

// Callbacks is the guard that runs the user's callbacks (recovered,
// tracked, waited for at Close).
func (o *Orchestrator) Callbacks() *callback.Guard { return o.callbacks }

// CLICounters counts what the CLI transport did to protect the host:
// stderr lines dropped, escaped descendants killed, stdout pauses.
func (o *Orchestrator) CLICounters() *cli.Counters { return o.cli.Counters }

// waitCallbacks waits, at most the grace period, for user callbacks still
// running.
func (o *Orchestrator) waitCallbacks() {
	o.callbacks.Wait(cmp.Or(o.cli.GracePeriod, cli.DefaultGracePeriod))
}
