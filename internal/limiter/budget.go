package limiter

import (
	"math"
	"time"
)

// budgetWindow is the length of the rolling window of the cost budget.
const budgetWindow = time.Hour

// ledger holds the costs charged in the last budgetWindow, oldest first,
// each with the time it was charged. It keeps one entry per settled query
// of non-zero cost while that entry is in the window.
type ledger struct {
	charges []charge
	head    int     // charges[:head] have left the window
	total   float64 // sum of charges[head:]
}

// charge is one settled cost.
type charge struct {
	at  time.Time
	usd float64
}

// add charges usd at now.
func (l *ledger) add(now time.Time, usd float64) {
	if n := len(l.charges); n > l.head && now.Before(l.charges[n-1].at) {
		now = l.charges[n-1].at // keep the entries in time order
	}
	l.charges = append(l.charges, charge{at: now, usd: usd})
	l.total += usd
}

// spent prunes the charges that left the window at now and returns the
// sum of the others.
func (l *ledger) spent(now time.Time) float64 {
	cutoff := now.Add(-budgetWindow)
	for l.head < len(l.charges) && !l.charges[l.head].at.After(cutoff) {
		l.total -= l.charges[l.head].usd
		l.head++
	}
	switch {
	case l.head == len(l.charges):
		l.charges, l.head, l.total = l.charges[:0], 0, 0
	case l.head >= 1024 && 2*l.head >= len(l.charges):
		n := copy(l.charges, l.charges[l.head:])
		l.charges, l.head = l.charges[:n], 0
	}
	return l.total
}

// below returns the earliest time, not before now, at which the spend in
// the window is below limit, if charges leaving the window can bring it
// there. It subtracts in the same order as spent, so spent at the
// returned time is below limit exactly.
func (l *ledger) below(now time.Time, limit float64) (time.Time, bool) {
	s := l.spent(now)
	if s < limit {
		return now, true
	}
	for _, c := range l.charges[l.head:] {
		s -= c.usd
		if s < limit {
			return c.at.Add(budgetWindow), true
		}
	}
	return time.Time{}, false
}

// estimator gives the USD to reserve for a new query: a fixed amount, or
// the mean of the last recentCosts settled costs (0 before any).
type estimator struct {
	fixed  float64 // 0: use the mean
	recent [recentCosts]float64
	n      int // number of valid entries in recent
	next   int // where the next cost goes
	mean   float64
}

// recentCosts is how many settled costs the mean estimate covers.
const recentCosts = 16

// value returns the current estimate.
func (e *estimator) value() float64 {
	if e.fixed > 0 {
		return e.fixed
	}
	return e.mean
}

// observe records a settled cost.
func (e *estimator) observe(usd float64) {
	e.recent[e.next] = usd
	e.next = (e.next + 1) % recentCosts
	e.n = min(e.n+1, recentCosts)
	sum := 0.0
	for _, c := range e.recent[:e.n] {
		sum += c
	}
	e.mean = sum / float64(e.n)
}

// validCost reports whether usd can be charged: finite and not negative.
func validCost(usd float64) bool {
	return usd >= 0 && !math.IsInf(usd, 1)
}
