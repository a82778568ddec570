package breaker

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Permit is the permission to make one call; give it back with
// [Breaker.Report]. The zero Permit is what a disabled breaker grants;
// reporting it does nothing.
type Permit struct {
	gen   uint64 // generation that granted it; 0 never is one
	probe uint64 // half-open probe number; 0 in closed
}

// machine is the breaker's state machine: pure, synchronous, with the time
// passed in by the caller of each method. It is not safe for concurrent use;
// in a Breaker only the actor goroutine touches it.
//
// Every change of state starts a new generation. A permit carries the
// generation that granted it, and an outcome reported for an older
// generation changes nothing. Half-open probes are counted per generation by
// their numbers, so a stale or repeated report can never free a slot it does
// not hold.
type machine struct {
	cfg Config // defaults applied
	rnd rand.Source

	state  State
	gen    uint64
	forced bool // open until reset, not on a timer

	counts  Counts // of the current generation
	totals  Counts // since creation
	refused uint64

	openUntil time.Time     // while open and not forced
	openFor   time.Duration // length of the current or last open time
	reopens   int           // consecutive re-opens from half-open

	probes    []uint64 // numbers of the half-open probes in flight
	lastProbe uint64

	window window // failure-rate rule, closed state only

	events []Event // transitions not yet taken by the owner

	// version counts the changes of state, forced or deadline, so that the
	// owner can tell when there is nothing to publish.
	version uint64
}

func newMachine(cfg Config, now time.Time) *machine {
	return &machine{
		cfg:     cfg,
		rnd:     cfg.Rand,
		gen:     1,
		openFor: cfg.Timeout,
		probes:  make([]uint64, 0, cfg.HalfOpenRequests),
		window:  newWindow(cfg.FailureRateWindow, now),
	}
}

// advance moves an open circuit whose open time has passed to half-open.
func (m *machine) advance(now time.Time) {
	if m.state == StateOpen && !m.forced && !now.Before(m.openUntil) {
		m.setState(StateHalfOpen, now)
	}
}

// allow grants a permit or refuses with an *OpenError.
func (m *machine) allow(now time.Time) (Permit, error) {
	if err := m.check(now); err != nil {
		return Permit{}, err
	}
	m.counts.Requests++
	m.totals.Requests++
	if m.state != StateHalfOpen {
		return Permit{gen: m.gen}, nil
	}
	m.lastProbe++
	m.probes = append(m.probes, m.lastProbe)
	return Permit{gen: m.gen, probe: m.lastProbe}, nil
}

// addRequests counts n permits granted for the closed state outside allow
// (the Breaker's fast path); they count in the current generation.
func (m *machine) addRequests(n uint64) {
	m.counts.Requests += n
	m.totals.Requests += n
}

// check returns the error allow would return now, without granting a permit.
func (m *machine) check(now time.Time) error {
	m.advance(now)
	switch {
	case m.state == StateOpen:
		m.refused++
		return m.openError(now)
	case m.state == StateHalfOpen && len(m.probes) >= m.cfg.HalfOpenRequests:
		m.refused++
		return &OpenError{State: StateHalfOpen}
	}
	return nil
}

func (m *machine) openError(now time.Time) *OpenError {
	if m.forced {
		return &OpenError{State: StateOpen}
	}
	return &OpenError{State: StateOpen, RetryAfter: retryAfter(m.openUntil.Sub(now))}
}

// report takes the outcome of a call made with p.
func (m *machine) report(p Permit, o Outcome, now time.Time) {
	if p.gen == 0 {
		return
	}
	m.advance(now)
	current := p.gen == m.gen
	if current && m.state == StateHalfOpen {
		i := slices.Index(m.probes, p.probe)
		if i < 0 {
			return // reported twice
		}
		m.probes = slices.Delete(m.probes, i, i+1)
	}
	if o != Success && o != Failure {
		o = Ignored
	}
	count(&m.totals, o)
	if !current {
		return
	}
	count(&m.counts, o)
	switch {
	case o == Ignored:
	case m.state == StateClosed:
		m.closedOutcome(o == Failure, now)
	case m.state == StateHalfOpen && o == Failure:
		m.setState(StateOpen, now)
	case m.state == StateHalfOpen && m.counts.ConsecutiveSuccesses >= m.cfg.SuccessThreshold:
		m.setState(StateClosed, now)
	}
}

func count(c *Counts, o Outcome) {
	switch o {
	case Success:
		c.Successes++
		c.ConsecutiveSuccesses++
		c.ConsecutiveFailures = 0
	case Failure:
		c.Failures++
		c.ConsecutiveFailures++
		c.ConsecutiveSuccesses = 0
	case Ignored:
		c.Ignored++
	}
}

// closedOutcome applies the trip rules of the closed state.
func (m *machine) closedOutcome(failed bool, now time.Time) {
	if m.cfg.FailureRate > 0 {
		m.window.record(now, failed)
	}
	if !failed {
		return
	}
	if m.counts.ConsecutiveFailures >= m.cfg.FailureThreshold || m.rateExceeded(now) {
		m.setState(StateOpen, now)
	}
}

func (m *machine) rateExceeded(now time.Time) bool {
	if m.cfg.FailureRate <= 0 {
		return false
	}
	calls, failures := m.window.sum(now)
	return calls >= m.cfg.FailureRateMinCalls && float64(failures) >= m.cfg.FailureRate*float64(calls)
}

// forceOpen holds the circuit open until reset.
func (m *machine) forceOpen(now time.Time) {
	m.version++
	if m.state == StateOpen {
		m.forced = true
		m.openUntil = time.Time{}
		return
	}
	m.forced = true
	m.setState(StateOpen, now)
}

// reset closes the circuit and clears its runs and backoff.
func (m *machine) reset(now time.Time) {
	m.reopens = 0
	if m.state != StateClosed {
		m.setState(StateClosed, now)
		return
	}
	// Already closed: a new generation all the same, so that outcomes of
	// permits granted before the reset do not count after it.
	m.version++
	m.gen++
	m.counts = Counts{}
	m.window.reset()
}

// setState moves to state to and starts a new generation.
func (m *machine) setState(to State, now time.Time) {
	m.version++
	m.events = append(m.events, Event{From: m.state, To: to, At: now, Counts: m.counts})
	from := m.state
	m.state = to
	m.gen++
	m.counts = Counts{}
	m.probes = m.probes[:0]
	switch to {
	case StateClosed:
		m.forced = false
		m.reopens = 0
		m.openFor = m.cfg.Timeout
		m.openUntil = time.Time{}
		m.window.reset()
	case StateOpen:
		if m.forced {
			m.openUntil = time.Time{}
			break
		}
		if from == StateHalfOpen {
			m.reopens++
		} else {
			m.reopens = 0
		}
		m.openFor = m.openTime()
		m.openUntil = now.Add(m.openFor)
	case StateHalfOpen:
		m.openUntil = time.Time{}
	}
}

// openTime is Timeout on a trip from closed and, on the k-th consecutive
// re-open, Timeout·2^k capped at MaxTimeout plus a jitter of up to a tenth
// of that, the sum capped again at MaxTimeout.
func (m *machine) openTime() time.Duration {
	base := m.backoff(m.reopens)
	if m.reopens == 0 {
		return base
	}
	span := min(base/jitterFraction, m.cfg.MaxTimeout-base)
	if span <= 0 {
		return base
	}
	return base + time.Duration(m.rnd.Uint64()%uint64(span+1))
}

// backoff is Timeout doubled k times, capped at MaxTimeout.
func (m *machine) backoff(k int) time.Duration {
	d := m.cfg.Timeout
	for range k {
		if d >= m.cfg.MaxTimeout/2 {
			return m.cfg.MaxTimeout
		}
		d *= 2
	}
	return min(d, m.cfg.MaxTimeout)
}

// deadline returns when the open circuit turns half-open, if it is on a
// timer.
func (m *machine) deadline() (time.Time, bool) {
	return m.openUntil, m.state == StateOpen && !m.forced
}

// takeEvents returns the transitions since the last call, oldest first. The
// slice is reused: the caller must be done with it before the next step.
func (m *machine) takeEvents() []Event {
	ev := m.events
	m.events = m.events[:0]
	return ev
}

// recoverSafe puts the machine back in a consistent state after a panic
// interrupted one of its methods: closed, in a new generation (so every
// outstanding permit is stale), with no probes, runs or backoff.
func (m *machine) recoverSafe(now time.Time) {
	m.version++
	m.forced = false
	if m.state != StateClosed {
		m.setState(StateClosed, now)
		return
	}
	m.gen++
	m.counts = Counts{}
	m.probes = m.probes[:0]
	m.reopens = 0
	m.openFor = m.cfg.Timeout
	m.window.reset()
}

// stats returns the machine's part of Stats (Refused counts only the
// machine's own refusals).
func (m *machine) stats() Stats {
	s := Stats{
		State:                m.state,
		ConsecutiveFailures:  m.counts.ConsecutiveFailures,
		ConsecutiveSuccesses: m.counts.ConsecutiveSuccesses,
		Counts:               m.totals,
		Refused:              m.refused,
		Probes:               len(m.probes),
		OpenTimeout:          m.openFor,
	}
	s.Counts.ConsecutiveFailures = m.counts.ConsecutiveFailures
	s.Counts.ConsecutiveSuccesses = m.counts.ConsecutiveSuccesses
	if until, ok := m.deadline(); ok {
		s.NextHalfOpen = until
	}
	switch m.state {
	case StateClosed:
		s.OpenTimeout = m.cfg.Timeout
	case StateHalfOpen:
		s.OpenTimeout = m.backoff(m.reopens + 1)
	}
	return s
}
