// Package breaker is a circuit breaker that stops the SDK from spawning CLI
// processes while the backend is failing, and finds out by itself when the
// backend has recovered.
//
// One goroutine (the actor, actor.go) owns the breaker's state. Callers ask
// it for a [Permit] with [Breaker.Allow] and report how the call went with
// [Breaker.Report]; both are messages over channels. The rules themselves
// live in an ordinary synchronous core (core.go) whose methods take the
// current time, so they are tested without goroutines; the actor is one
// select loop around it with one timer, armed for the move from open to
// half-open.
//
// The circuit is closed (calls flow) until FailureThreshold consecutive
// failures open it. While open, every call is refused with an [*OpenError]
// (matching [ErrCircuitOpen]). After Timeout the actor's own timer moves the
// circuit to half-open, where at most HalfOpenRequests probes run at once;
// SuccessThreshold successes in a row close it, any failure opens it again
// for twice as long (up to MaxTimeout, with jitter).
//
// A fleet of processes shares one circuit through a [SharedState]
// (Config.Shared; package redisstate keeps it in Redis): each process
// counts its own outcomes, a trip in one opens all, and the half-open
// probes are limited fleet-wide. The calls to the shared state are made
// off the actor's loop; when they fail the breaker goes on with its local
// state.
package breaker
