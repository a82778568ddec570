package limiter

import (
	"math"
	"time"
)

// memWindows keeps the per-minute and per-hour windows of the in-memory
// store. It is used by one goroutine at a time.
type memWindows struct {
	minute, hour bucket
}

// newMemWindows returns windows of perMinute and perHour tokens;
// Unlimited turns a window off.
func newMemWindows(perMinute, perHour int) memWindows {
	return memWindows{
		minute: newBucket(perMinute, time.Minute),
		hour:   newBucket(perHour, time.Hour),
	}
}

// readyAt returns the earliest time, not before now, at which ahead+1
// more admissions fit in every window (the ahead first ones taken as early
// as possible), and the window that binds, or the zero Reason when that
// time is now.
func (w *memWindows) readyAt(now time.Time, ahead int) (time.Time, Reason) {
	at, reason := now, Reason(0)
	if t := w.minute.readyAt(now, ahead); t.After(at) {
		at, reason = t, ReasonMinute
	}
	if t := w.hour.readyAt(now, ahead); t.After(at) {
		at, reason = t, ReasonHour
	}
	return at, reason
}

// take takes one token from every window at now, or from none, and
// reports whether it did.
func (w *memWindows) take(now time.Time) bool {
	if !w.minute.allows(now) || !w.hour.allows(now) {
		return false
	}
	w.minute.take(now)
	w.hour.take(now)
	return true
}

// refund gives back the tokens of the latest take. The caller refunds
// only when no take happened since, which keeps the refund exact or
// stricter.
func (w *memWindows) refund() {
	w.minute.refund()
	w.hour.refund()
}

// tokens reports the tokens left at now in the minute and the hour
// window, -1 for a window that is off.
func (w *memWindows) tokens(now time.Time) (minute, hour float64) {
	return w.minute.tokens(now), w.hour.tokens(now)
}

// bucket is one token bucket of capacity tokens refilled continuously at
// capacity per period. It is kept in the form of the generic cell rate
// algorithm (GCRA): instead of a token count it stores the time at which
// the bucket is full again, in whole microseconds (the store truncates now
// to them), so the arithmetic is exact and matches the Redis script's,
// whose numbers are doubles. The refill interval of one token is
// period/capacity rounded up to a microsecond, so rounding can only make
// the bucket stricter, by under a microsecond per token.
//
// The zero bucket is off: it always allows and never counts.
type bucket struct {
	capacity int64         // tokens when full; 0: off
	interval time.Duration // refill time of one token
	full     time.Time     // the bucket holds capacity tokens from this time on
}

// newBucket returns a full bucket of capacity tokens per period, or an
// off bucket for Unlimited.
func newBucket(capacity int, period time.Duration) bucket {
	if capacity <= 0 {
		return bucket{}
	}
	c := int64(capacity)
	us := (int64(period/time.Microsecond) + c - 1) / c // whole microseconds, rounded up
	return bucket{capacity: c, interval: time.Duration(us) * time.Microsecond}
}

// on reports whether the bucket limits anything.
func (b *bucket) on() bool { return b.capacity > 0 }

// fullAt returns when the bucket is full, never before now.
func (b *bucket) fullAt(now time.Time) time.Time {
	if b.full.After(now) {
		return b.full
	}
	return now
}

// allows reports whether a token can be taken at now.
func (b *bucket) allows(now time.Time) bool {
	if !b.on() {
		return true
	}
	return b.fullAt(now).Sub(now) <= mulDuration(b.capacity-1, b.interval)
}

// take takes one token at now; the caller checked allows.
func (b *bucket) take(now time.Time) {
	if b.on() {
		b.full = b.fullAt(now).Add(b.interval)
	}
}

// refund gives back the token of the latest take.
func (b *bucket) refund() {
	if b.on() {
		b.full = b.full.Add(-b.interval)
	}
}

// readyAt returns the earliest time, not before now, at which a token can
// be taken after ahead more takes made as early as possible.
func (b *bucket) readyAt(now time.Time, ahead int) time.Time {
	if !b.on() {
		return now
	}
	// After ahead takes the bucket is full at fullAt(now)+ahead*interval;
	// the next take fits once that is at most (capacity-1)*interval away.
	wait := mulDuration(int64(ahead)-(b.capacity-1), b.interval)
	if t := b.fullAt(now).Add(wait); t.After(now) {
		return t
	}
	return now
}

// tokens returns the tokens in the bucket at now, -1 when off.
func (b *bucket) tokens(now time.Time) float64 {
	if !b.on() {
		return -1
	}
	missing := float64(b.fullAt(now).Sub(now)) / float64(b.interval)
	return max(0, float64(b.capacity)-missing)
}

// mulDuration returns n*d, saturated at the extremes of time.Duration.
func mulDuration(n int64, d time.Duration) time.Duration {
	if n == 0 || d == 0 {
		return 0
	}
	p := n * int64(d)
	if p/int64(d) != n {
		if (n < 0) != (d < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return time.Duration(p)
}
