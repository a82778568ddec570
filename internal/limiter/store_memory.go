package limiter

import (
	"context"
	"time"
)

// memStore is the in-memory Store: one process's windows, ledger,
// reservations and pause. The Limiter's loop calls its ...At methods
// directly (no context, no error, no allocation); the Store methods wrap
// them for the seam's other users (the failover guards of a shared store,
// the property test beside the Redis script). It is not safe for
// concurrent use.
type memStore struct {
	win         memWindows
	budget      float64 // USD per rolling hour; < 0: off
	spend       ledger
	reserved    float64            // sum of leases
	leases      map[uint64]float64 // reservation of each live lease
	undoable    uint64             // the lease whose window tokens release may refund; 0: none
	pausedUntil time.Time
}

var _ Store = (*memStore)(nil)

// NewMemoryStore returns an in-memory Store for lim, its windows full, no
// spend and no pause. Use it where a Store is wanted outside a Limiter
// (a Limiter makes its own).
func NewMemoryStore(lim Limits) Store { return newMemStore(lim) }

func newMemStore(lim Limits) *memStore {
	return &memStore{
		win:    newMemWindows(lim.PerMinute, lim.PerHour),
		budget: lim.Budget,
		leases: make(map[uint64]float64),
	}
}

// micro truncates t to whole microseconds, the unit of both stores.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// microUp rounds t up to whole microseconds: a charge stays in the
// window no shorter than an hour.
func microUp(t time.Time) time.Time {
	if u := micro(t); u.Before(t) {
		return u.Add(time.Microsecond)
	}
	return micro(t)
}

func (m *memStore) budgetOn() bool { return m.budget >= 0 }

// unreserved returns the budget neither the spend nor the leases hold.
func (m *memStore) unreserved(now time.Time) float64 {
	return m.budget - m.reserved - m.spend.spent(now)
}

// admitAt admits lease id at now if the pause, the budget and both
// windows allow it, reserving the smaller of a.cap and what is
// unreserved (at least a.need).
func (m *memStore) admitAt(now time.Time, id uint64, a ask) (reserve float64, ok bool) {
	now = micro(now)
	if now.Before(m.pausedUntil) {
		return 0, false
	}
	reserve = a.cap
	if m.budgetOn() {
		free := m.unreserved(now)
		if free < a.need {
			return 0, false
		}
		reserve = min(a.cap, free)
	}
	if !m.win.take(now) {
		return 0, false
	}
	m.leases[id] = reserve
	m.reserved += reserve
	m.undoable = id
	return reserve, true
}

// readyAt returns the earliest time, not before now, at which a query
// asking need, after ahead queries asking aheadNeed in all, could be
// admitted if nothing else happened, and the limit that binds; known is
// false when only a settle can bring that about.
func (m *memStore) readyAt(now time.Time, ahead int, aheadNeed, need float64) (time.Time, Reason, bool) {
	now = micro(now)
	at, reason := m.notBefore(now, ahead)
	return m.budgetFree(now, at, reason, m.budget-m.reserved-aheadNeed-need)
}

// earliest is readyAt ignoring the reservations: before it the query
// surely cannot be admitted, whatever the running queries do.
func (m *memStore) earliest(now time.Time, ahead int, aheadNeed, need float64) (time.Time, Reason, bool) {
	now = micro(now)
	at, reason := m.notBefore(now, ahead)
	return m.budgetFree(now, at, reason, m.budget-aheadNeed-need)
}

// budgetFree returns the later of at and the time the spend falls to
// limit, with the budget as the reason if that binds; false when the
// spend rolling off cannot bring it there.
func (m *memStore) budgetFree(now, at time.Time, reason Reason, limit float64) (time.Time, Reason, bool) {
	if !m.budgetOn() {
		return at, reason, true
	}
	t, ok := m.spend.atMost(now, limit)
	if !ok {
		return at, ReasonBudget, false
	}
	if t.After(at) {
		at, reason = t, ReasonBudget
	}
	return at, reason, true
}

// notBefore is what settles cannot change: the windows and the pause.
func (m *memStore) notBefore(now time.Time, ahead int) (time.Time, Reason) {
	at, reason := m.win.readyAt(now, ahead)
	if m.pausedUntil.After(at) {
		at, reason = m.pausedUntil, ReasonPaused
	}
	return at, reason
}

// settleAt charges usd at now for lease id and drops it; an unknown lease
// charges nothing.
func (m *memStore) settleAt(id uint64, usd float64, now time.Time) {
	if _, ok := m.drop(id); ok && usd > 0 {
		m.spend.add(microUp(now), usd)
	}
}

// release drops lease id, refunding its window tokens if it was the
// latest admission.
func (m *memStore) release(id uint64) {
	latest := m.undoable == id
	if _, ok := m.drop(id); ok && latest {
		m.win.refund()
	}
}

func (m *memStore) drop(id uint64) (float64, bool) {
	reserve, ok := m.leases[id]
	if !ok {
		return 0, false
	}
	delete(m.leases, id)
	m.reserved -= reserve
	if len(m.leases) == 0 {
		m.reserved = 0 // drop rounding left by the subtractions
	}
	if m.undoable == id {
		m.undoable = 0
	}
	return reserve, true
}

func (m *memStore) pause(until time.Time) {
	if until = microUp(until); until.After(m.pausedUntil) {
		m.pausedUntil = until
	}
}

func (m *memStore) unpause() { m.pausedUntil = time.Time{} }

// stateAt returns the figures at now.
func (m *memStore) stateAt(now time.Time) State {
	now = micro(now)
	s := State{SpentUSD: m.spend.spent(now), ReservedUSD: m.reserved, PausedFor: m.pausedUntil.Sub(now)}
	if m.pausedUntil.IsZero() {
		s.PausedFor = 0
	}
	s.MinuteTokens, s.HourTokens = m.win.tokens(now)
	return s
}

// Admit implements Store.
func (m *memStore) Admit(_ context.Context, q Query) (Decision, error) {
	a := ask{cap: q.Cap, need: q.Need}
	if !q.Probe {
		if reserve, ok := m.admitAt(q.Now, q.ID, a); ok {
			return Decision{Admitted: true, Reserved: reserve}, nil
		}
	}
	now := micro(q.Now)
	var d Decision
	var at, sure time.Time
	at, d.Reason, d.Known = m.readyAt(now, q.Ahead, q.AheadNeed, q.Need)
	sure, d.SureReason, d.SureKnown = m.earliest(now, q.Ahead, q.AheadNeed, q.Need)
	d.Wait, d.SureWait = at.Sub(now), sure.Sub(now)
	return d, nil
}

// Settle implements Store.
func (m *memStore) Settle(_ context.Context, id uint64, usd float64, at time.Time) error {
	m.settleAt(id, usd, at)
	return nil
}

// Release implements Store.
func (m *memStore) Release(_ context.Context, id uint64) error {
	m.release(id)
	return nil
}

// Pause implements Store.
func (m *memStore) Pause(_ context.Context, _, until time.Time) error {
	m.pause(until)
	return nil
}

// Unpause implements Store.
func (m *memStore) Unpause(context.Context) error {
	m.unpause()
	return nil
}

// State implements Store.
func (m *memStore) State(_ context.Context, now time.Time, _ Limits) (State, error) {
	return m.stateAt(now), nil
}

// Close implements Store; it does nothing.
func (m *memStore) Close() error { return nil }
