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

// acquireShared queues r: with a shared store every admission is a round
// trip, answered in result.
func (l *Limiter) acquireShared(r *acquireReq, now time.Time) {
	if l.maxQueued >= 0 && l.queue.len >= l.maxQueued {
		l.refuse(r, ErrQueueFull)
		return
	}
	if l.maxWait > 0 {
		r.deadline = now.Add(l.maxWait)
	}
	r.state = reqQueued
	l.queue.push(r)
}

// serveShared refuses the waiters whose MaxWait is over, then asks the
// store to admit the head unless an answer is on its way, a concurrency
// slot is missing, or the store said the head cannot be admitted yet; the
// timer is armed for the earlier of that time and the head's deadline.
func (l *Limiter) serveShared(now time.Time) {
	if l.admitting != nil {
		return // result serves again
	}
	for r := l.queue.head; r != nil; r = l.queue.head {
		if r.deadline.IsZero() || now.Before(r.deadline) {
			break
		}
		l.queue.remove(r)
		retry := time.Duration(0)
		if l.waitKnown && l.notBefore.After(now) {
			retry = l.notBefore.Sub(now)
		}
		l.refuse(r, &WaitError{Reason: l.lastReason, RetryAfter: retry})
	}
	head := l.queue.head
	switch {
	case head == nil:
		l.disarm()
	case !l.core.slotFree(0):
		l.lastReason, l.waitKnown = ReasonConcurrency, false
		l.armAt(head.deadline, now) // a settle serves again
	case now.Before(l.notBefore):
		l.armAt(earlier(l.notBefore, head.deadline), now)
	default:
		l.admitting = head
		l.push(storeOp{kind: opAdmit, query: l.core.query(now, head.ask)})
		l.armAt(head.deadline, now)
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
		for w := l.queue.head; w != nil; w = l.queue.head {
			l.queue.remove(w)
			l.refuse(w, err)
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
		l.queue.remove(r)
		l.grant(r, l.core.granted(res.id, d.Reserved))
		l.notBefore = time.Time{}
		return
	}
	l.lastReason, l.waitKnown = d.Reason, d.Known
	wait := sharedRecheck
	if d.Known {
		wait = max(d.Wait, time.Microsecond)
	}
	l.notBefore = now.Add(wait)
	if waiting && !r.deadline.IsZero() && d.SureKnown && now.Add(d.SureWait).After(r.deadline) {
		l.queue.remove(r) // surely cannot make it within MaxWait
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
