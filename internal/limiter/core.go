package limiter

import (
	"math"
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
	maxInFlight int     // < 0: off

	spend    ledger
	estimate estimator
	reserved float64            // sum of permits
	permits  map[uint64]float64 // reservation of each admitted, unsettled query
	lastID   uint64             // id of the latest admission
	undoable uint64             // id whose window tokens undo may refund; 0: none

	pausedUntil       time.Time
	admitted, refused uint64
}

// newCore returns the core for a validated config with defaults applied.
func newCore(cfg Config) *core {
	return &core{
		win:         newMemWindows(cfg.QueriesPerMinute, cfg.QueriesPerHour),
		budget:      cfg.CostBudgetHourly,
		maxInFlight: cfg.MaxConcurrent,
		estimate:    estimator{fixed: cfg.CostEstimate},
		permits:     make(map[uint64]float64),
	}
}

// budgetOn reports whether the cost budget limits admissions.
func (c *core) budgetOn() bool { return c.budget >= 0 }

// budgetSlack is the least budget left that admits a query: a micro-dollar.
// Sums of costs carry rounding (0.7 + 0.2 + 0.1 < 1.0), and a query must
// not be admitted with a few femto-dollars to spend: the CLI's cap is in
// whole micro-dollars, and a cap of 0 would be no cap at all.
const budgetSlack = 1e-6

// spendLimit returns the spend below which a query that has ahead queries
// admitted before it may be admitted, with at least budgetSlack left: the
// budget minus what is reserved now, what the ahead queries will reserve,
// and budgetSlack.
func (c *core) spendLimit(ahead int) float64 {
	return c.budget - c.reserved - float64(ahead)*c.estimate.value() - budgetSlack
}

// admit admits one query at now if every limit allows it, taking a token
// from every window, reserving its estimated cost and a concurrency slot.
func (c *core) admit(now time.Time) (Permit, bool) {
	if now.Before(c.pausedUntil) {
		return Permit{}, false
	}
	if c.maxInFlight >= 0 && len(c.permits) >= c.maxInFlight {
		return Permit{}, false
	}
	remaining := math.Inf(1)
	if c.budgetOn() {
		limit := c.spendLimit(0)
		spent := c.spend.spent(now)
		if spent >= limit {
			return Permit{}, false
		}
		remaining = limit + budgetSlack - spent
	}
	if !c.win.take(now) {
		return Permit{}, false
	}
	c.lastID++
	reserve := min(c.estimate.value(), remaining)
	c.permits[c.lastID] = reserve
	c.reserved += reserve
	c.undoable = c.lastID
	c.admitted++
	return Permit{id: c.lastID, BudgetRemaining: remaining}, true
}

// readyAt returns the earliest time, not before now, at which a query
// with ahead queries to be admitted before it could be admitted if
// nothing else happened, and the limit that binds (the zero Reason when
// that time is now). known is false when no such time can be computed:
// a concurrency slot, or budget held by reservations, frees only when a
// query settles.
func (c *core) readyAt(now time.Time, ahead int) (at time.Time, reason Reason, known bool) {
	at, reason = c.win.readyAt(now, ahead)
	if c.pausedUntil.After(at) {
		at, reason = c.pausedUntil, ReasonPaused
	}
	if c.maxInFlight >= 0 && len(c.permits)+ahead >= c.maxInFlight {
		return at, ReasonConcurrency, false
	}
	if c.budgetOn() {
		t, ok := c.spend.below(now, c.spendLimit(ahead))
		if !ok {
			return at, ReasonBudget, false
		}
		if t.After(at) {
			at, reason = t, ReasonBudget
		}
	}
	return at, reason, true
}

// settle charges usd for the query of permit id at now and frees its
// reservation and slot. Unknown ids (settled, undone, zero) are ignored.
// A cost that is negative, NaN or infinite is charged as the reservation.
func (c *core) settle(id uint64, usd float64, now time.Time) (valid bool) {
	reserve, ok := c.release(id)
	if !ok {
		return true
	}
	valid = validCost(usd)
	if !valid {
		usd = reserve
	}
	c.estimate.observe(usd)
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
	if _, ok := c.release(id); !ok {
		return
	}
	c.admitted--
	if latest {
		c.win.refund()
	}
}

// release forgets permit id and frees its reservation and slot.
func (c *core) release(id uint64) (reserve float64, ok bool) {
	reserve, ok = c.permits[id]
	if !ok {
		return 0, false
	}
	delete(c.permits, id)
	c.reserved -= reserve
	if len(c.permits) == 0 {
		c.reserved = 0 // drop rounding left by the subtractions
	}
	if c.undoable == id {
		c.undoable = 0
	}
	return reserve, true
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
		SpentUSD:    c.spend.spent(now),
		ReservedUSD: c.reserved,
		BudgetUSD:   c.budget,
		InFlight:    len(c.permits),
		PausedUntil: c.pausedUntil,
		Admitted:    c.admitted,
		Refused:     c.refused,
	}
	s.MinuteTokens, s.HourTokens = c.win.tokens(now)
	return s
}
