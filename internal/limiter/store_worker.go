package limiter

import (
	"context"
	"time"
)

// A shared store is called off the actor's loop: the actor appends each
// call to pending, hands them one at a time to the worker goroutine (a
// nil channel switches that case off when none is pending), and gets the
// answers back as messages on results. So a slow round trip delays only
// the admissions that wait for it; cancellations, Stats, Settle and Close
// are served by the loop meanwhile. One worker keeps the calls in order:
// a settle reaches the store before the admission that follows it.

// sharedRecheck bounds how long a waiter that only a settle can admit
// waits before asking the store again, should a change notification be
// lost (pub/sub is not reliable across reconnects).
const sharedRecheck = time.Second

// closeFlush bounds how long Close spends sending the settles and
// releases still pending to the store.
const closeFlush = 2 * time.Second

// opKind names a store call.
type opKind int

const (
	opAdmit opKind = iota + 1
	opSettle
	opRelease
	opPause
	opUnpause
)

// storeOp is one call for the worker.
type storeOp struct {
	kind      opKind
	query     Query     // opAdmit
	id        uint64    // opSettle, opRelease
	usd       float64   // opSettle
	at, until time.Time // opSettle (at), opPause
}

// storeResult is the worker's answer to one storeOp.
type storeResult struct {
	kind opKind
	id   uint64 // the lease
	dec  Decision
	err  error
}

// startWorker starts the goroutine that calls store; stopWorker ends it.
func (l *Limiter) startWorker(store Shared) {
	// The worker's calls live as long as the limiter: this is the root
	// of their contexts, cancelled by shutdown.
	ctx, cancel := context.WithCancel(context.Background())
	l.work = make(chan storeOp)
	l.results = make(chan storeResult)
	l.workDone = make(chan struct{})
	l.changes = store.Changes()
	l.cancelWork = cancel
	go l.worker(ctx, store)
}

// worker makes the store's calls in order until work is closed. Every
// answer is sent back: the actor receives on results until the worker
// is done.
func (l *Limiter) worker(ctx context.Context, store Shared) {
	defer close(l.workDone)
	for op := range l.work {
		res := storeResult{kind: op.kind, id: op.id}
		switch op.kind {
		case opAdmit:
			res.id = op.query.ID
			res.dec, res.err = store.Admit(ctx, op.query)
		case opSettle:
			res.err = store.Settle(ctx, op.id, op.usd, op.at)
		case opRelease:
			res.err = store.Release(ctx, op.id)
		case opPause:
			res.err = store.Pause(ctx, op.at, op.until)
		case opUnpause:
			res.err = store.Unpause(ctx)
		}
		l.results <- res
	}
}

// stopWorker sends what is pending (for at most closeFlush), ends the
// worker, waits for it and closes the store.
func (l *Limiter) stopWorker() {
	// The waiters are gone: an admission still pending is not wanted.
	kept := l.pending[:0]
	for _, op := range l.pending {
		if op.kind != opAdmit {
			kept = append(kept, op)
		}
	}
	l.pending = kept
	bound := time.AfterFunc(closeFlush, l.cancelWork) // real time: network I/O
	defer bound.Stop()
	for len(l.pending) > 0 {
		select {
		case l.work <- l.pending[0]:
			l.pending = l.pending[1:]
		case res := <-l.results:
			l.releaseStray(res)
		}
	}
	close(l.work)
	for {
		select {
		case res := <-l.results:
			l.releaseStray(res)
			continue
		case <-l.workDone:
		}
		break
	}
	l.cancelWork()
	if err := l.core.shared.Close(); err != nil {
		l.log.Warn("limiter: closing the shared store", "err", err)
	}
}

// releaseStray gives back, at shutdown, a lease granted to nobody.
func (l *Limiter) releaseStray(res storeResult) {
	if res.kind == opAdmit && res.err == nil && res.dec.Admitted {
		l.pending = append(l.pending, storeOp{kind: opRelease, id: res.id})
	}
}

// push appends a call for the worker.
func (l *Limiter) push(op storeOp) { l.pending = append(l.pending, op) }

// acquireShared queues r in the queue of its kind: with a shared store
// every admission that takes tokens is a round trip, asked for by
// serveShared and answered in result. A session, which takes a slot only,
// is admitted there without one.
func (l *Limiter) acquireShared(r *acquireReq, now time.Time) {
	if l.maxQueued >= 0 && l.queue.len+l.turns.len >= l.maxQueued {
		l.refuse(r, ErrQueueFull)
		return
	}
	if l.maxWait > 0 {
		r.deadline = now.Add(l.maxWait)
	}
	// It waits for a round trip in any case; it is told it waits when
	// it surely does: for a slot, while the store said no one is admitted
	// yet (with the store's reason), or behind others (with none: the
	// store has not been asked); else when the store refuses it, in
	// result.
	q := l.queueOf(r.kind)
	r.state = reqQueued
	q.push(r)
	switch {
	case l.core.slotsFull(r.kind, q.len-1):
		r.waitsOn = ReasonConcurrency
		l.tell(r, q.len-1)
	case !r.kind.takesTokens():
	case now.Before(l.notBefore):
		r.waitsOn = l.lastReason // the store's latest refusal, or the pause
		l.tell(r, q.len-1)
	case q.len > 1:
		l.tell(r, q.len-1) // behind others only, until the store is asked
	}
}

// serveShared refuses the waiters whose MaxWait is over, admits the
// sessions at the head of the queue while slots are free, then asks the
// store to admit the first head (the turns' first) that needs it, unless
// an answer is on its way, its concurrency slot is missing, or the store
// said it cannot be admitted yet; the timer is armed for the earlier of
// that time and the heads' deadlines.
func (l *Limiter) serveShared(now time.Time) {
	if l.admitting != nil {
		return // result serves again
	}
	var next *acquireReq // the head to ask the store for
	var wake time.Time
	for _, q := range []*queue{&l.turns, &l.queue} {
		l.expireShared(q, now)
		for r := q.head; r != nil; r = q.head {
			if l.core.slotsFull(r.kind, 0) {
				r.waitsOn = ReasonConcurrency
				l.tell(r, 0)
				break // a settle serves again
			}
			if r.kind.takesTokens() {
				if next == nil {
					next = r
				}
				break
			}
			p, _ := l.core.admit(now, r.ask) // a session: a slot only
			q.remove(r)
			l.grant(r, p)
		}
		if q.head != nil {
			wake = earlier(wake, q.head.deadline)
		}
	}
	switch {
	case next == nil:
	case now.Before(l.notBefore):
		wake = earlier(wake, l.notBefore)
	default:
		l.admitting = next
		l.push(storeOp{kind: opAdmit, query: l.core.query(now, next.ask)})
	}
	l.armAt(wake, now)
}

// expireShared refuses the waiters of q whose MaxWait is over, with the
// limit that holds them: their slot, or the store's latest refusal.
func (l *Limiter) expireShared(q *queue, now time.Time) {
	for r := q.head; r != nil; r = q.head {
		if r.deadline.IsZero() || now.Before(r.deadline) {
			return
		}
		q.remove(r)
		if l.core.slotsFull(r.kind, 0) {
			l.refuse(r, &WaitError{Reason: ReasonConcurrency})
			continue
		}
		retry := time.Duration(0)
		if l.waitKnown && l.notBefore.After(now) {
			retry = l.notBefore.Sub(now)
		}
		l.refuse(r, &WaitError{Reason: l.lastReason, RetryAfter: retry})
	}
}

// result applies the worker's answer to one call.
func (l *Limiter) result(res storeResult, now time.Time) {
	if res.kind != opAdmit {
		if res.err != nil {
			l.log.Debug("limiter: shared store call failed", "op", int(res.kind), "err", res.err)
		}
		return
	}
	r := l.admitting
	l.admitting = nil
	waiting := r != nil && r.state == reqQueued
	if res.err != nil {
		// The store's policy refused: every waiter gets the same answer
		// now rather than one round trip each.
		err := &StoreError{Err: res.err}
		for _, q := range []*queue{&l.turns, &l.queue} {
			for w := q.head; w != nil; {
				next := w.next
				if w.kind.takesTokens() { // a session asks no store
					q.remove(w)
					l.refuse(w, err)
				}
				w = next
			}
		}
		return
	}
	d := res.dec
	l.core.seen = d.State
	if d.Admitted {
		if !waiting { // the caller gave up while the store admitted it
			l.push(storeOp{kind: opRelease, id: res.id})
			return
		}
		l.queueOf(r.kind).remove(r)
		l.grant(r, l.core.granted(res.id, grant{reserve: d.Reserved, kind: r.kind}))
		l.notBefore = time.Time{}
		return
	}
	l.lastReason, l.waitKnown = d.Reason, d.Known
	if waiting {
		r.waitsOn = d.Reason
		l.tell(r, 0) // the head of its queue
	}
	wait := sharedRecheck
	if d.Known {
		wait = max(d.Wait, time.Microsecond)
	}
	l.notBefore = now.Add(wait)
	if waiting && !r.deadline.IsZero() && d.SureKnown && now.Add(d.SureWait).After(r.deadline) {
		l.queueOf(r.kind).remove(r) // surely cannot make it within MaxWait
		l.refuse(r, &WaitError{Reason: d.SureReason, RetryAfter: d.SureWait})
	}
}

// armAt arms the timer for at (zero: disarms).
func (l *Limiter) armAt(at, now time.Time) {
	if at.IsZero() {
		l.disarm()
		return
	}
	if l.armed && at.Equal(l.deadline) {
		return
	}
	l.timer.Reset(max(at.Sub(now), time.Nanosecond))
	l.armed, l.deadline = true, at
}

// earlier returns the earlier of a and b, a zero time counting as none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
