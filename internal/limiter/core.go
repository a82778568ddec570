package limiter

import (
	"time"
)

// core is the limiter's state machine: the windows, the cost budget, the
// concurrency cap and the pause. It knows nothing of goroutines, channels
// or the queue of waiters; every time-dependent method takes now. It is
// not safe for concurrent use: the Limiter's actor goroutine owns it, and
// tests drive it directly.
type core struct {
	win         windows
	budget      float64 // USD per rolling hour; < 0: off
	queryBudget float64 // a query's cap unless it asks for another
	minBudget   float64 // the least cap a query is admitted with
	maxInFlight int     // < 0: off

	spend    ledger
	reserved float64          // sum of permits
	permits  map[uint64]grant // each admitted, unsettled query or session
	slots    int              // permits that hold a concurrency slot
	lastID   uint64           // id of the latest admission
	undoable uint64           // id whose window tokens undo may refund; 0: none

	pausedUntil       time.Time
	admitted, refused uint64
}

// newCore returns the core for a validated config with defaults applied.
func newCore(cfg Config) *core {
	return &core{
		win:         newMemWindows(cfg.QueriesPerMinute, cfg.QueriesPerHour),
		budget:      cfg.CostBudgetHourly,
		queryBudget: cfg.QueryBudget,
		minBudget:   cfg.MinQueryBudget,
		maxInFlight: cfg.MaxConcurrent,
		permits:     make(map[uint64]grant),
	}
}

// budgetOn reports whether the cost budget limits admissions.
func (c *core) budgetOn() bool { return c.budget >= 0 }

// Kind is what an admission takes: a query takes a token of every window,
// a reservation and a concurrency slot; a session holds a slot for its
// life; each turn of a session takes tokens and a reservation, but no
// slot.
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
// reservation (and so waits for the pause and the budget).
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

// unreserved returns the budget that neither the spend of the last hour
// nor the reservations of the running queries hold at now.
func (c *core) unreserved(now time.Time) float64 {
	return c.budget - c.reserved - c.spend.spent(now)
}

// admit admits one query at now if every limit allows it, taking a token
// from every window, reserving its cap (the smaller of a.cap and the
// unreserved budget, at least a.need) and a concurrency slot.
func (c *core) admit(now time.Time, a ask) (Permit, bool) {
	if c.slotsFull(a.kind, 0) {
		return Permit{}, false
	}
	if !a.kind.takesTokens() {
		return c.permit(grant{kind: a.kind}), true
	}
	if now.Before(c.pausedUntil) {
		return Permit{}, false
	}
	reserve := a.cap
	if c.budgetOn() {
		free := c.unreserved(now)
		if free < a.need {
			return Permit{}, false
		}
		reserve = min(a.cap, free)
	}
	if !c.win.take(now) {
		return Permit{}, false
	}
	p := c.permit(grant{reserve: reserve, kind: a.kind})
	c.undoable = p.id
	c.admitted++
	return p, true
}

// permit records a new permit holding g.
func (c *core) permit(g grant) Permit {
	c.lastID++
	c.permits[c.lastID] = g
	c.reserved += g.reserve
	if g.kind.takesSlot() {
		c.slots++
	}
	return Permit{id: c.lastID, CapUSD: g.reserve}
}

// readyAt returns the earliest time, not before now, at which a query
// asking a, with ahead queries asking aheadNeed in all to be admitted
// before it, could be admitted if nothing else happened, and the limit
// that binds (the zero Reason when that time is now). known is false when
// no such time can be computed: a concurrency slot, or budget held by
// reservations, frees only when a query settles.
func (c *core) readyAt(now time.Time, ahead int, aheadNeed float64, a ask) (at time.Time, reason Reason, known bool) {
	if c.slotsFull(a.kind, ahead) {
		return now, ReasonConcurrency, false
	}
	if !a.kind.takesTokens() {
		return now, Reason(0), true
	}
	at, reason = c.notBefore(now, ahead)
	return c.budgetFree(now, at, reason, c.budget-c.reserved-aheadNeed-a.need)
}

// earliest returns a time before which a query asking a, with ahead
// queries asking aheadNeed in all before it, surely cannot be admitted,
// whatever the running queries do when they settle: the windows, the
// pause, and the spend already charged. known is false when even that
// cannot be told (the queries ahead need more than the whole budget).
func (c *core) earliest(now time.Time, ahead int, aheadNeed float64, a ask) (at time.Time, reason Reason, known bool) {
	if !a.kind.takesTokens() {
		return now, Reason(0), true // a slot may free at any time
	}
	at, reason = c.notBefore(now, ahead)
	return c.budgetFree(now, at, reason, c.budget-aheadNeed-a.need)
}

// budgetFree takes the time at and its reason, and returns the later of it
// and the time the spend of the last hour falls to limit, with the budget
// as the reason if that binds; known is false when the spend rolling off
// cannot bring it there.
func (c *core) budgetFree(now, at time.Time, reason Reason, limit float64) (time.Time, Reason, bool) {
	if !c.budgetOn() {
		return at, reason, true
	}
	t, ok := c.spend.atMost(now, limit)
	if !ok {
		return at, ReasonBudget, false
	}
	if t.After(at) {
		at, reason = t, ReasonBudget
	}
	return at, reason, true
}

// notBefore is the part of readyAt and earliest that settles cannot
// change: the windows and the pause.
func (c *core) notBefore(now time.Time, ahead int) (time.Time, Reason) {
	at, reason := c.win.readyAt(now, ahead)
	if c.pausedUntil.After(at) {
		at, reason = c.pausedUntil, ReasonPaused
	}
	return at, reason
}

// settle charges usd for the query of permit id at now and frees its
// reservation and slot. Unknown ids (settled, undone, zero) are ignored.
// A cost that is negative, NaN or infinite is charged as the reservation.
func (c *core) settle(id uint64, usd float64, now time.Time) (valid bool) {
	g, ok := c.release(id)
	reserve := g.reserve
	if !ok {
		return true
	}
	valid = validCost(usd)
	if !valid {
		usd = reserve
	}
	if usd > 0 {
		c.spend.add(now, usd)
	}
	return valid
}

// undo takes back the admission of permit id as if it never happened:
// its reservation and slot are freed, and its window tokens are refunded
// if no admission came after it (otherwise they stay spent, which can
// only make the windows stricter).
func (c *core) undo(id uint64) {
	latest := c.undoable == id
	g, ok := c.release(id)
	if !ok || !g.kind.takesTokens() {
		return
	}
	c.admitted--
	if latest {
		c.win.refund()
	}
}

// release forgets permit id and frees its reservation and slot.
func (c *core) release(id uint64) (g grant, ok bool) {
	g, ok = c.permits[id]
	if !ok {
		return grant{}, false
	}
	delete(c.permits, id)
	c.reserved -= g.reserve
	if g.kind.takesSlot() {
		c.slots--
	}
	if len(c.permits) == 0 {
		c.reserved = 0 // drop rounding left by the subtractions
	}
	if c.undoable == id {
		c.undoable = 0
	}
	return g, true
}

// pause forbids admissions before until; an earlier until changes nothing.
func (c *core) pause(until time.Time) {
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
}

// unpause lifts the pause: admissions are no longer held by it.
func (c *core) unpause() { c.pausedUntil = time.Time{} }

// stats returns the counters at now; Queued is left to the caller.
func (c *core) stats(now time.Time) Stats {
	s := Stats{
		SpentUSD:       c.spend.spent(now),
		ReservedUSD:    c.reserved,
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
	s.MinuteTokens, s.HourTokens = c.win.tokens(now)
	return s
}
