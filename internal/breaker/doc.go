// Package breaker is a circuit breaker that stops the SDK from spawning CLI
// processes while the backend is failing, and finds out by itself when the
// backend has recovered.
//
// One goroutine (the actor) owns the breaker's state. Callers ask it for a
// [Permit] with [Breaker.Allow] and report how the call went with
// [Breaker.Report]; both are messages over channels. The rules themselves live
// in an ordinary synchronous state machine whose methods take the current
// time, so they are tested without goroutines; the actor is a thin loop around
// it with one timer, armed for the move from open to half-open.
//
// The circuit is closed (calls flow) until FailureThreshold consecutive
// failures, or optionally a failure rate over a rolling window, open it. While
// open, every call is refused with an [*OpenError] (matching [ErrCircuitOpen]).
// After Timeout the actor's own timer moves the circuit to half-open, where at
// most HalfOpenRequests probes run at once; SuccessThreshold successes in a
// row close it, any failure opens it again for twice as long (up to
// MaxTimeout, with jitter).
package breaker
