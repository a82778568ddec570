package limiter

import (
	"time"
)

// core is the limiter's state machine over its Store: what stays per
// process (the concurrency cap, the permits in flight, the counters) and,
// for the in-memory store, the synchronous calls into it. It knows nothing
// of goroutines, channels or the queue of waiters; every time-dependent
// method takes now. It is not safe for concurrent use: the Limiter's actor
// goroutine owns it, and tests drive it directly.
//
// With a shared store (mem nil) the actor makes the store's calls off its
// loop and reports their answers back with granted and seen.
type core struct {
	mem    *memStore // the in-memory store; nil with a shared one
	shared Shared    // the shared store; nil with the in-memory one
	limits Limits

	budget      float64 // USD per rolling hour; < 0: off
	queryBudget float64 // a query's cap unless it asks for another
	minBudget   float64 // the least cap a query is admitted with
	maxInFlight int     // < 0: off

	permits map[uint64]grant // each admitted, unsettled query, session or turn
	slots   int              // permits that hold a concurrency slot
	lastID  uint64           // id of the latest admission (or lease asked for)

	seen              State     // a shared store's figures, as its latest answer gave them
	pausedUntil       time.Time // the latest Pause, for Stats
	admitted, refused uint64
}

// newCore returns the core for a validated config with defaults applied.
func newCore(cfg Config) *core {
	c := &core{
		limits:      Limits{PerMinute: cfg.QueriesPerMinute, PerHour: cfg.QueriesPerHour, Budget: cfg.CostBudgetHourly},
		budget:      cfg.CostBudgetHourly,
		queryBudget: cfg.QueryBudget,
		minBudget:   cfg.MinQueryBudget,
		maxInFlight: cfg.MaxConcurrent,
		permits:     make(map[uint64]grant),
	}
	c.shared = cfg.Store
	if c.shared == nil {
		c.mem = newMemStore(c.limits)
	}
	return c
}

// budgetOn reports whether the cost budget limits admissions.
func (c *core) budgetOn() bool { return c.budget >= 0 }

// Kind is what an admission takes: a query takes a token of every window,
// a reservation and a concurrency slot; a session holds a slot for its
// life; each turn of a session takes tokens and a reservation, but no
// slot. Slots are per process; tokens and reservations are the Store's
// (a fleet's, with a shared one).
type Kind uint8

// The kinds of admission.
const (
	KindQuery   Kind = iota // tokens, a reservation and a slot
	KindSession             // a slot only
	KindTurn                // tokens and a reservation, no slot
)

// takesSlot reports whether the kind holds a concurrency slot.
func (k Kind) takesSlot() bool { return k != KindTurn }

// takesTokens reports whether the kind takes window tokens and a
// reservation (and so waits for the pause and the budget, and asks the
// store).
func (k Kind) takesTokens() bool { return k != KindSession }

// grant is what one permit holds.
type grant struct {
	reserve float64 // USD
	kind    Kind
}

// ask is what one admission asks for: its kind, its cap, and the least
// cap it is admitted with. Both amounts are 0 when the budget is off or
// the kind takes no reservation.
type ask struct {
	kind Kind
	cap  float64 // USD: the reservation when that much is unreserved
	need float64 // USD: the least unreserved budget that admits the query
}

// askFor returns the ask of an admission of kind that wants capUSD (0:
// the default).
func (c *core) askFor(kind Kind, capUSD float64) ask {
	switch {
	case !kind.takesTokens():
		return ask{kind: kind}
	case !c.budgetOn():
		return ask{kind: kind, cap: capUSD}
	}
	if capUSD == 0 {
		capUSD = c.queryBudget
	}
	return ask{kind: kind, cap: capUSD, need: min(capUSD, c.minBudget)}
}

// slotsFull reports whether a kind that takes a slot must wait for one,
// with ahead such admissions before it.
func (c *core) slotsFull(k Kind, ahead int) bool {
	return k.takesSlot() && c.maxInFlight >= 0 && c.slots+ahead >= c.maxInFlight
}

// admit admits one admission of a at now if every limit allows it: a
// concurrency slot if its kind takes one, and, if it takes tokens, a
// token from every window and a reservation of its cap (the smaller of
// a.cap and the unreserved budget, at least a.need). The tokens and the
// reservation come from the in-memory store: with a shared one the actor
// asks the store and calls granted.
func (c *core) admit(now time.Time, a ask) (Permit, bool) {
	if c.slotsFull(a.kind, 0) {
		return Permit{}, false
	}
	if !a.kind.takesTokens() {
		c.lastID++
		return c.granted(c.lastID, grant{kind: a.kind}), true
	}
	reserve, ok := c.mem.admitAt(now, c.lastID+1, a)
	if !ok {
		return Permit{}, false
	}
	c.lastID++
	return c.granted(c.lastID, grant{reserve: reserve, kind: a.kind}), true
}

// query returns the Query that asks a shared store to admit a, under a
// new lease id.
func (c *core) query(now time.Time, a ask) Query {
	c.lastID++
	return Query{Now: now, ID: c.lastID, Limits: c.limits, Cap: a.cap, Need: a.need}
}

// granted records permit id holding g; an admission that takes tokens
// counts as admitted.
func (c *core) granted(id uint64, g grant) Permit {
	c.permits[id] = g
	if g.kind.takesSlot() {
		c.slots++
	}
	if g.kind.takesTokens() {
		c.admitted++
	}
	return Permit{id: id, CapUSD: g.reserve}
}

// readyAt returns the earliest time, not before now, at which an
// admission asking a, with ahead admissions needing aheadNeed in all
// before it, could be admitted if nothing else happened, and the limit
// that binds (the zero Reason when that time is now). known is false when
// no such time can be computed: a concurrency slot, or budget held by
// reservations, frees only when a query settles. The windows, spend and
// reservations are the in-memory store's.
func (c *core) readyAt(now time.Time, ahead int, aheadNeed float64, a ask) (at time.Time, reason Reason, known bool) {
	if c.slotsFull(a.kind, ahead) {
		return now, ReasonConcurrency, false
	}
	if !a.kind.takesTokens() {
		return now, Reason(0), true
	}
	return c.mem.readyAt(now, ahead, aheadNeed, a.need)
}

// waitsOn names the limit that keeps an admission asking a, with ahead
// admissions needing aheadNeed in all before it, waiting at now: first a
// limit that no settle can lift (a window, the pause, the spend of the
// last hour), then the concurrency cap, then the budget reserved by
// running queries; none when it waits only behind others. In-memory store
// only.
func (c *core) waitsOn(now time.Time, ahead int, aheadNeed float64, a ask) Reason {
	reserved := false
	if a.kind.takesTokens() {
		now := micro(now)
		if at, reason, known := c.mem.earliest(now, ahead, aheadNeed, a.need); !known || at.After(now) {
			return reason
		}
		at, _, known := c.mem.readyAt(now, ahead, aheadNeed, a.need)
		reserved = !known || at.After(now)
	}
	switch {
	case c.slotsFull(a.kind, ahead):
		return ReasonConcurrency
	case reserved:
		return ReasonBudget
	}
	return 0
}

// earliest returns a time before which an admission asking a, with ahead
// admissions needing aheadNeed in all before it, surely cannot be
// admitted, whatever the running queries do when they settle: the
// windows, the pause, and the spend already charged. known is false when
// even that cannot be told (the queries ahead need more than the whole
// budget). In-memory store only.
func (c *core) earliest(now time.Time, ahead int, aheadNeed float64, a ask) (at time.Time, reason Reason, known bool) {
	if !a.kind.takesTokens() {
		return now, Reason(0), true // a slot may free at any time
	}
	return c.mem.earliest(now, ahead, aheadNeed, a.need)
}

// settle charges usd for the query of permit id at now and frees its
// reservation and slot. Unknown ids (settled, undone, zero) are ignored.
// A cost that is negative, NaN or infinite is charged as the reservation.
func (c *core) settle(id uint64, usd float64, now time.Time) (valid bool) {
	_, valid, _ = c.settleCharge(id, usd, now)
	return valid
}

// settleCharge is settle, which with a shared store only frees the slot:
// it also reports whether id holds a lease in the store (a query or a
// turn in flight) and what the store is to charge for it. A session's
// permit holds no lease: settling it frees its slot and charges nothing
// (its turns are charged on their own permits).
func (c *core) settleCharge(id uint64, usd float64, now time.Time) (leased, valid bool, charge float64) {
	g, ok := c.release(id)
	if !ok {
		return false, true, 0
	}
	valid = validCost(usd)
	if !g.kind.takesTokens() {
		return false, valid, 0
	}
	if !valid {
		usd = g.reserve
	}
	if c.mem != nil {
		c.mem.settleAt(id, usd, now)
	}
	return true, valid, usd
}

// undo takes back the admission of permit id as if it never happened:
// its reservation and slot are freed, and, with the in-memory store, its
// window tokens are refunded if no admission came after it (otherwise
// they stay spent, which can only make the windows stricter). It reports
// whether id held a lease in the store.
func (c *core) undo(id uint64) bool {
	g, ok := c.release(id)
	if !ok || !g.kind.takesTokens() {
		return false
	}
	c.admitted--
	if c.mem != nil {
		c.mem.release(id)
	}
	return true
}

// release forgets permit id and frees its slot.
func (c *core) release(id uint64) (g grant, ok bool) {
	g, ok = c.permits[id]
	if !ok {
		return grant{}, false
	}
	delete(c.permits, id)
	if g.kind.takesSlot() {
		c.slots--
	}
	return g, true
}

// pause forbids admissions before until; an earlier until changes nothing.
func (c *core) pause(until time.Time) {
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
	if c.mem != nil {
		c.mem.pause(until)
	}
}

// unpause lifts the pause: admissions are no longer held by it.
func (c *core) unpause() {
	c.pausedUntil = time.Time{}
	if c.mem != nil {
		c.mem.unpause()
	}
}

// stats returns the counters at now; Queued is left to the caller. With a
// shared store the windows, spend and reservations are the fleet's, as
// last seen.
func (c *core) stats(now time.Time) Stats {
	st := c.seen
	if c.mem != nil {
		st = c.mem.stateAt(now)
	} else if st.PausedFor > 0 && now.Add(st.PausedFor).After(c.pausedUntil) {
		c.pausedUntil = now.Add(st.PausedFor) // a pause another process set
	}
	s := Stats{
		MinuteTokens:   st.MinuteTokens,
		HourTokens:     st.HourTokens,
		SpentUSD:       st.SpentUSD,
		ReservedUSD:    st.ReservedUSD,
		BudgetUSD:      c.budget,
		QueryBudgetUSD: c.queryBudget,
		InFlight:       c.slots,
		PausedUntil:    c.pausedUntil,
		Admitted:       c.admitted,
		Refused:        c.refused,
	}
	if !c.budgetOn() {
		s.QueryBudgetUSD = Unlimited
	}
	return s
}
