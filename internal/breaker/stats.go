package breaker

import "time"

// Counts counts the calls of one stretch of the breaker's life: in an
// [Event], the state being left; in [Stats], everything since New.
type Counts struct {
	// Requests is the number of permits granted. Permits of the closed
	// state's fast path are added at the actor's next step, so in an Event a
	// few granted just before the change may count in the next state.
	Requests uint64
	// Successes, Failures and Ignored count the outcomes reported.
	Successes, Failures, Ignored uint64
	// ConsecutiveSuccesses and ConsecutiveFailures are the current runs,
	// counted only for permits of the current state (in Stats, the same
	// values as Stats.ConsecutiveSuccesses and Stats.ConsecutiveFailures).
	ConsecutiveSuccesses, ConsecutiveFailures int
}

// Stats is a snapshot of a Breaker.
type Stats struct {
	State State
	// ConsecutiveFailures and ConsecutiveSuccesses are the current runs of
	// outcomes in the current state; every change of state clears them.
	ConsecutiveFailures, ConsecutiveSuccesses int
	// Counts are totals since New. Outcomes of stale permits (granted before
	// the last change of state) count here although they changed nothing.
	Counts Counts
	// Refused counts the calls refused by Allow and by Check. The pipeline
	// calls Allow only after Check passed, so each refused query counts once.
	Refused uint64
	// Probes is the number of half-open probes in flight.
	Probes int
	// NextHalfOpen is when the open circuit turns half-open; zero when it
	// is not open, or forced open.
	NextHalfOpen time.Time
	// OpenTimeout is how long the circuit stays open: the current open
	// time while open, otherwise (and while forced open, which has no
	// timer) the one the next timed opening would use.
	OpenTimeout time.Duration
}
