package breaker

import "time"

// windowBuckets is the number of buckets a failure-rate window is cut into.
const windowBuckets = 10

// window counts calls and failures over a rolling time window, in
// windowBuckets buckets: the sum covers the current bucket and the
// windowBuckets-1 before it, so what falls out of the window falls out a
// bucket at a time. It is part of the pure state machine: not safe for
// concurrent use, and it never allocates.
type window struct {
	width   time.Duration // of one bucket
	origin  time.Time     // bucket 0 starts here
	buckets [windowBuckets]bucket
}

type bucket struct {
	slot            int64 // absolute bucket number since origin; stale when old
	calls, failures int
}

func newWindow(length time.Duration, origin time.Time) window {
	return window{width: max(length/windowBuckets, 1), origin: origin}
}

func (w *window) slot(now time.Time) int64 {
	return int64(now.Sub(w.origin) / w.width)
}

func (w *window) bucket(slot int64) *bucket {
	i := slot % windowBuckets
	if i < 0 {
		i += windowBuckets
	}
	return &w.buckets[i]
}

// record counts one call at now.
func (w *window) record(now time.Time, failed bool) {
	s := w.slot(now)
	b := w.bucket(s)
	if b.slot != s {
		*b = bucket{slot: s}
	}
	b.calls++
	if failed {
		b.failures++
	}
}

// sum returns the calls and failures in the window ending at now.
func (w *window) sum(now time.Time) (calls, failures int) {
	s := w.slot(now)
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.slot <= s && b.slot > s-windowBuckets {
			calls += b.calls
			failures += b.failures
		}
	}
	return calls, failures
}

// reset forgets every call.
func (w *window) reset() {
	w.buckets = [windowBuckets]bucket{}
}
