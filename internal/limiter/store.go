package limiter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store holds what admission decides on: the two windows, the spend of the
// rolling hour, the reservations of running queries and the pause. The
// Limiter keeps only what stays per process (the queue, MaxConcurrent,
// MaxQueued and its counters) and asks the store for everything else.
//
// The in-memory store (the default, NewMemoryStore) is one process's
// state; a shared store (internal/limiter/redisstore) is a fleet's, so
// that every process with the same store admits against one quota and one
// budget. Every call takes a context and may fail; a shared store may
// ignore the Now fields and use its own clock (Redis TIME), which is why
// it answers in durations from its now, never in absolute times.
//
// Times are kept in whole microseconds by both stores (Lua numbers are
// doubles, and whole nanoseconds pass 2^53): the windows' refill interval
// is rounded up to a microsecond, which only makes them stricter.
//
// The Limiter calls a Store from one goroutine at a time, in the order of
// its requests, and owns it: Limiter.Close calls Close. A shared store is
// called off the Limiter's loop (see Shared), so a slow round trip delays
// admissions only.
type Store interface {
	// Admit takes one token of every window and reserves the query's cap
	// (q.Cap, or what is unreserved if less, at least q.Need) under
	// lease q.ID, all or nothing, unless the pause holds. A refusal
	// says when the query could be admitted. With q.Probe set nothing is
	// taken: the answer is only when a query after q.Ahead others asking
	// q.AheadNeed in all could be.
	Admit(ctx context.Context, q Query) (Decision, error)
	// Settle charges usd at the time at and drops lease id. An unknown
	// lease (settled, released, expired) charges nothing: an expired
	// lease was charged its whole reservation when it expired.
	Settle(ctx context.Context, id uint64, usd float64, at time.Time) error
	// Release drops lease id as if it never was: its reservation is
	// freed, and its window tokens are given back if the store can tell
	// nothing was admitted after it.
	Release(ctx context.Context, id uint64) error
	// Pause forbids admissions for until-now from the store's now; a
	// pause ending earlier than the current one changes nothing.
	Pause(ctx context.Context, now, until time.Time) error
	// Unpause lifts the pause.
	Unpause(ctx context.Context) error
	// State reports the store's figures at now.
	State(ctx context.Context, now time.Time, lim Limits) (State, error)
	// Close releases the store's resources; the Limiter calls it once.
	Close() error
}

// Shared is implemented by stores whose state other processes change. The
// Limiter calls such a store from a goroutine of its own, never from its
// loop, and listens on Changes to retry its head waiter when the fleet
// frees capacity (a settle, a release, an unpause, an expired lease).
type Shared interface {
	Store
	// Changes delivers a value after the shared state changed in a way
	// that can admit a waiter. It may coalesce and may miss changes (the
	// Limiter then retries within sharedRecheck); nil: never.
	Changes() <-chan struct{}
}

// Limits are the windows and the budget a Store admits against, the same
// for every process of a fleet.
type Limits struct {
	PerMinute, PerHour int     // tokens per window; Unlimited: off
	Budget             float64 // USD per rolling hour; Unlimited: off
}

// Query is one Admit call.
type Query struct {
	Now    time.Time // the Limiter's clock; a shared store may use its own
	ID     uint64    // the lease to create; unique per Limiter
	Limits Limits
	Cap    float64 // USD the query would reserve
	Need   float64 // the least unreserved USD that admits it

	Probe     bool    // only compute when; take nothing
	Ahead     int     // with Probe: queries to be admitted first
	AheadNeed float64 // with Probe: their Need, in all
}

// Decision is the answer to Admit.
type Decision struct {
	Admitted bool
	Reserved float64 // USD held by the lease, when admitted

	// When refused (or probed): how long until the query could be
	// admitted if nothing else happened, and the limit that binds.
	// Known is false when only a settle can admit it (the budget is held
	// by reservations). The Sure fields ignore the reservations: before
	// SureWait the query surely cannot be admitted.
	Reason          Reason
	Wait            time.Duration
	Known           bool
	SureReason      Reason
	SureWait        time.Duration
	SureKnown       bool
	State           State // after the call; filled by shared stores
	FromLocalGuards bool  // a shared store answered from its local failover guards
}

// State is a store's figures at one moment.
type State struct {
	MinuteTokens, HourTokens float64       // -1: window off
	SpentUSD                 float64       // charged in the last hour
	ReservedUSD              float64       // held by live leases (a fleet's, for a shared store)
	PausedFor                time.Duration // until the pause ends, from the store's now; <= 0: none
}

// ErrStoreUnavailable is matched (errors.Is) by the error a shared store
// returns when it cannot reach its backend and its policy is to fail
// closed. The query was not admitted.
var ErrStoreUnavailable = errors.New("limiter: shared store unavailable")

// StoreError wraps an error of the store that refused a query.
type StoreError struct{ Err error }

// Error describes the failure.
func (e *StoreError) Error() string { return fmt.Sprintf("limiter: store: %v", e.Err) }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
