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

// atMost returns the earliest time, not before now, at which the spend in
// the window is at most limit, if charges leaving the window can bring it
// there (never for a negative limit). It subtracts in the same order as
// spent, so spent at the returned time is at most limit exactly.
func (l *ledger) atMost(now time.Time, limit float64) (time.Time, bool) {
	if limit < 0 {
		return time.Time{}, false
	}
	s := l.spent(now)
	if s <= limit {
		return now, true
	}
	last := len(l.charges) - 1
	for i := l.head; i <= last; i++ {
		s -= l.charges[i].usd
		if s <= limit || i == last { // with none left, spent is exactly 0
			return l.charges[i].at.Add(budgetWindow), true
		}
	}
	return time.Time{}, false
}

// validCost reports whether usd can be charged: finite and not negative.
func validCost(usd float64) bool {
	return usd >= 0 && !math.IsInf(usd, 1)
}
