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
	fast  bool   // granted from the published view: counted when reported
}

// core is the breaker's state machine: the state, the counts, the backoff
// and the half-open probe slots. It knows nothing of goroutines, channels
// or the shared state's transport; every time-dependent method takes now.
// It is not safe for concurrent use: the Breaker's actor goroutine owns it
// (it is the one owner of the counts), and tests drive it directly.
//
// Every change of state starts a new generation. A permit carries the
// generation that granted it, and an outcome reported for an older
// generation changes nothing. Half-open probes are counted per generation
// by their numbers, so a stale or repeated report can never free a slot it
// does not hold.
//
// The fleet's state (see [SharedState]) comes in through adopt; the
// trips and closes of this process's own outcomes go out through
// takePublish.
type core struct {
	cfg Config // defaults applied
	rnd rand.Source

	state   State
	gen     uint64
	counts  Counts // of the current generation
	totals  Counts // since creation
	refused uint64

	openUntil time.Time     // while open
	openFor   time.Duration // length of the current or last open time
	reopens   int           // consecutive re-opens from half-open

	probes    []uint64 // numbers of the half-open probes in flight
	lastProbe uint64

	fleet       uint64 // the fleet's trip generation last adopted or published over
	fleetClosed bool   // and whether that trip had ended closed
	ownTrip     uint64 // the generation this process's own trip takes if the fleet stores it (0: none pending)
	publish     publication

	events []Event // transitions not yet taken by the owner
}

// publication is what the owner must tell the fleet after a step.
type publication int

const (
	publishNone  publication = iota
	publishTrip              // this process's outcomes opened the circuit
	publishClose             // this process's probes closed it
)

func newCore(cfg Config) *core {
	return &core{
		cfg:     cfg,
		rnd:     cfg.Rand,
		gen:     1,
		openFor: cfg.Timeout,
		probes:  make([]uint64, 0, cfg.HalfOpenRequests),
	}
}

// advance moves an open circuit whose open time has passed to half-open.
func (c *core) advance(now time.Time) {
	if c.state == StateOpen && !now.Before(c.openUntil) {
		c.setState(StateHalfOpen, now)
	}
}

// allow grants a permit or refuses with an *OpenError.
func (c *core) allow(now time.Time) (Permit, error) {
	if err := c.check(now); err != nil {
		return Permit{}, err
	}
	c.counts.Requests++
	c.totals.Requests++
	if c.state != StateHalfOpen {
		return Permit{gen: c.gen}, nil
	}
	c.lastProbe++
	c.probes = append(c.probes, c.lastProbe)
	return Permit{gen: c.gen, probe: c.lastProbe}, nil
}

// check returns the error allow would return now, without granting a
// permit; a refusal counts.
func (c *core) check(now time.Time) error {
	c.advance(now)
	switch {
	case c.state == StateOpen:
		c.refused++
		return &OpenError{State: StateOpen, RetryAfter: retryAfter(c.openUntil.Sub(now))}
	case c.state == StateHalfOpen && len(c.probes) >= c.cfg.HalfOpenRequests:
		c.refused++
		return &OpenError{State: StateHalfOpen}
	}
	return nil
}

// undo takes back the grant of p as if it never happened: it no longer
// counts as a request and its probe slot, if any, is free again. It is for
// a grant its caller never received (a cancel raced it) or that the fleet
// refused.
func (c *core) undo(p Permit) {
	if p.gen == 0 {
		return
	}
	c.totals.Requests--
	if p.gen != c.gen {
		return
	}
	c.counts.Requests--
	if i := slices.Index(c.probes, p.probe); p.probe != 0 && i >= 0 {
		c.probes = slices.Delete(c.probes, i, i+1)
	}
}

// current reports whether p was granted in the current generation.
func (c *core) current(p Permit) bool { return p.gen == c.gen }

// countRefusal counts a refusal made from the published view.
func (c *core) countRefusal() { c.refused++ }

// refuseProbe takes back probe p, which the fleet refused a slot, and
// returns what the caller gets instead: after what the fleet said was
// adopted, a permit of the closed state or a counted refusal (never a
// probe: the fleet's slots are taken).
func (c *core) refuseProbe(p Permit, now time.Time) (Permit, error) {
	c.undo(p)
	if c.state == StateHalfOpen && len(c.probes) < c.cfg.HalfOpenRequests {
		c.refused++
		return Permit{}, &OpenError{State: StateHalfOpen}
	}
	return c.allow(now)
}

// report takes the outcome of a call made with p.
func (c *core) report(p Permit, o Outcome, now time.Time) {
	if p.gen == 0 {
		return
	}
	c.advance(now)
	current := p.gen == c.gen
	if p.fast {
		c.totals.Requests++
		if current {
			c.counts.Requests++
		}
	}
	if current && c.state == StateHalfOpen {
		i := slices.Index(c.probes, p.probe)
		if i < 0 {
			return // reported twice
		}
		c.probes = slices.Delete(c.probes, i, i+1)
	}
	if o != Success && o != Failure {
		o = Ignored
	}
	count(&c.totals, o)
	if !current {
		return
	}
	count(&c.counts, o)
	switch {
	case o == Ignored:
	case c.state == StateClosed && o == Failure && c.counts.ConsecutiveFailures >= c.cfg.FailureThreshold,
		c.state == StateHalfOpen && o == Failure:
		c.setState(StateOpen, now)
		c.decide(publishTrip)
	case c.state == StateHalfOpen && c.counts.ConsecutiveSuccesses >= c.cfg.SuccessThreshold:
		c.setState(StateClosed, now)
		c.decide(publishClose)
	}
}

// decide records that this process's own outcomes moved past the fleet's
// trip c.fleet (opened or closed the circuit again), to be published: from
// now on no news of that trip, such as the answer of a call made before,
// is adopted.
func (c *core) decide(p publication) {
	c.publish = p
	c.fleetClosed = true
	c.ownTrip = 0
	if p == publishTrip {
		c.ownTrip = c.fleet + 1
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

// adopt follows the fleet's state f, read or learnt at now, when it is
// newer than what the core last adopted or decided (see decide): a trip opens the circuit for what
// is left of the trip's open time (an open circuit stays open at least
// until its own deadline), a trip whose open time is over finds a closed
// circuit half-open, and a trip that ended closed closes it. An older or
// already adopted f changes nothing.
func (c *core) adopt(f Fleet, now time.Time) {
	if f.Gen < c.fleet || (f.Gen == c.fleet && (c.fleetClosed || !f.Closed)) {
		return
	}
	if f.Gen == c.ownTrip && !f.Closed {
		// The fleet's answer to this process's own trip (or to the trip
		// another process made first at the same time): the local open
		// time stands. The answer may come after that time is over, and
		// its open time, counted from when the shared state stored it,
		// must not re-open a circuit that has gone half-open since.
		c.fleet, c.fleetClosed, c.ownTrip = f.Gen, false, 0
		return
	}
	c.fleet, c.fleetClosed = f.Gen, f.Closed
	c.advance(now)
	switch {
	case f.Closed:
		if c.state != StateClosed {
			c.setState(StateClosed, now)
		}
	case f.Open > 0:
		until := now.Add(f.Open)
		if c.state != StateOpen {
			c.setState(StateOpen, now)
			c.openUntil, c.openFor = until, f.Open
		} else if until.After(c.openUntil) {
			c.openUntil = until
		}
	case c.state == StateClosed:
		c.setState(StateHalfOpen, now)
	}
}

// takePublish returns what the owner must publish to the fleet after this
// step, with the fleet generation it was decided over, and clears it.
func (c *core) takePublish() (publication, uint64) {
	p := c.publish
	c.publish = publishNone
	return p, c.fleet
}

// setState moves to state to and starts a new generation.
func (c *core) setState(to State, now time.Time) {
	c.events = append(c.events, Event{From: c.state, To: to, At: now, Counts: c.counts})
	from := c.state
	c.state = to
	c.gen++
	c.counts = Counts{}
	c.probes = c.probes[:0]
	switch to {
	case StateClosed:
		c.reopens = 0
		c.openFor = c.cfg.Timeout
		c.openUntil = time.Time{}
	case StateOpen:
		if from == StateHalfOpen {
			c.reopens++
		} else {
			c.reopens = 0
		}
		c.openFor = c.openTime()
		c.openUntil = now.Add(c.openFor)
	case StateHalfOpen:
		c.openUntil = time.Time{}
	}
}

// openTime is Timeout on a trip from closed and, on the k-th consecutive
// re-open, Timeout·2^k capped at MaxTimeout plus a jitter of up to a tenth
// of that, the sum capped again at MaxTimeout.
func (c *core) openTime() time.Duration {
	base := c.backoff(c.reopens)
	if c.reopens == 0 {
		return base
	}
	span := min(base/jitterFraction, c.cfg.MaxTimeout-base)
	if span <= 0 {
		return base
	}
	return base + time.Duration(c.rnd.Uint64()%uint64(span+1))
}

// backoff is Timeout doubled k times, capped at MaxTimeout.
func (c *core) backoff(k int) time.Duration {
	d := c.cfg.Timeout
	for range k {
		if d >= c.cfg.MaxTimeout/2 {
			return c.cfg.MaxTimeout
		}
		d *= 2
	}
	return min(d, c.cfg.MaxTimeout)
}

// deadline returns when the open circuit turns half-open, if it is open.
func (c *core) deadline() (time.Time, bool) {
	return c.openUntil, c.state == StateOpen
}

// takeEvents returns the transitions since the last call, oldest first.
// The slice is reused: the caller must be done with it before the next
// step.
func (c *core) takeEvents() []Event {
	ev := c.events
	c.events = c.events[:0]
	return ev
}

// recoverSafe puts the core back in a consistent state after a panic
// interrupted one of its methods: closed, in a new generation (so every
// outstanding permit is stale), with no probes, runs or backoff, and
// nothing left to publish.
func (c *core) recoverSafe(now time.Time) {
	c.publish = publishNone
	if c.state != StateClosed {
		c.setState(StateClosed, now)
		return
	}
	c.gen++
	c.counts = Counts{}
	c.probes = c.probes[:0]
	c.reopens = 0
	c.openFor = c.cfg.Timeout
}

// stats returns the core's Stats.
func (c *core) stats() Stats {
	s := Stats{
		State:                c.state,
		ConsecutiveFailures:  c.counts.ConsecutiveFailures,
		ConsecutiveSuccesses: c.counts.ConsecutiveSuccesses,
		Counts:               c.totals,
		Refused:              c.refused,
		Probes:               len(c.probes),
		OpenTimeout:          c.openFor,
	}
	s.Counts.ConsecutiveFailures = c.counts.ConsecutiveFailures
	s.Counts.ConsecutiveSuccesses = c.counts.ConsecutiveSuccesses
	if until, ok := c.deadline(); ok {
		s.NextHalfOpen = until
	}
	switch c.state {
	case StateClosed:
		s.OpenTimeout = c.cfg.Timeout
	case StateHalfOpen:
		s.OpenTimeout = c.backoff(c.reopens + 1)
	}
	return s
}
