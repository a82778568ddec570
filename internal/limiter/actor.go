package limiter

import (
	"log/slog"
	"runtime/debug"
	"time"
)

// message is a request to the actor: *acquireReq, *cancelReq, *pauseReq,
// *unpauseReq, *releaseReq, *settleReq or *statsReq. Settles normally
// travel on their own buffered channel; *settleReq carries one when that
// buffer is full.
type message interface{ isMessage() }

// acquireReq asks for an admission. Acquire takes one from the pool, and
// returns it there only after receiving the reply, so the actor never
// touches a request that a new Acquire is using.
type acquireReq struct {
	// reply has room for both of the actor's sends (the queued notice,
	// then the answer), so the actor never blocks on it.
	reply  chan acquireResult
	capUSD float64 // the cap asked for; 0: the default
	kind   Kind
	notify bool // send the queued notice and name the limit in the Permit
	told   bool // the queued notice was sent

	// Owned by the actor.
	state      reqState
	ask        ask         // what the query needs of the budget
	deadline   time.Time   // refused if not admitted by then; zero: none
	id         uint64      // the permit granted, in state granted
	waitsOn    Reason      // the limit that held it when last looked at
	prev, next *acquireReq // links in the queue
}

// acquireResult is the reply to an acquireReq: its answer, or, before
// that, the notice that it waits in the queue (queued, with the limit it
// waits on and how many wait ahead of it).
type acquireResult struct {
	permit Permit
	err    error
	queued bool
	reason Reason
	ahead  int
}

// reqState is where an acquireReq is in its life, as the actor sees it.
type reqState int

const (
	reqNew     reqState = iota // received, not yet answered
	reqQueued                  // waiting in the queue
	reqGranted                 // answered with a permit
	reqDone                    // answered with an error, or cancelled
)

// cancelReq tells the actor that the Acquire of req gave up: take req out
// of the queue, or undo its grant if the grant raced with the cancel.
type cancelReq struct{ req *acquireReq }

// pauseReq carries Pause.
type pauseReq struct{ until time.Time }

// unpauseReq carries Unpause.
type unpauseReq struct{}

// releaseReq carries Release.
type releaseReq struct{ id uint64 }

// statsReq carries Stats.
type statsReq struct{ reply chan Stats } // buffer 1

// settleMsg carries Settle.
type settleMsg struct {
	id   uint64
	cost float64
	at   time.Time // when Settle was called: the time of the charge
}

// settleReq carries a Settle that found the settle buffer full.
type settleReq struct{ settleMsg }

func (*acquireReq) isMessage() {}
func (*cancelReq) isMessage()  {}
func (*pauseReq) isMessage()   {}
func (*unpauseReq) isMessage() {}
func (*releaseReq) isMessage() {}
func (*statsReq) isMessage()   {}
func (*settleReq) isMessage()  {}

// run is the actor goroutine. It closes done when it ends.
func (l *Limiter) run() {
	defer close(l.done)
	for !l.loop() {
	}
	l.shutdown()
}

// loop serves messages until the limiter closes (true) or a panic was
// recovered (false, after failing the waiters; run calls loop again).
func (l *Limiter) loop() (closed bool) {
	defer func() {
		if v := recover(); v != nil {
			l.recovered(v)
		}
	}()
	for {
		var timerC <-chan time.Time
		if l.armed {
			timerC = l.timer.C
		}
		// With nobody waiting a settle can change nothing anyone sees
		// before the next request, which drains the settles first; so
		// the actor listens for them only while someone waits, and a
		// Settle on an idle limiter costs no wake-up.
		var settles <-chan settleMsg
		if l.queue.len+l.turns.len > 0 || l.core.shared != nil { // a shared store waits for the settles
			settles = l.settles
		}
		// A shared store's calls go to the worker in order, one at a time
		// (see store_worker.go); the answers come back on results.
		var work chan<- storeOp
		var next storeOp
		if len(l.pending) > 0 {
			work, next = l.work, l.pending[0]
		}
		var changes <-chan struct{}
		if l.queue.len+l.turns.len > 0 && !l.waitKnown {
			changes = l.changes
		}
		select {
		case m := <-l.reqs:
			l.begin(m) // before the settles, so a panic in them still answers m
			l.drainSettles()
			now := l.clock.Now()
			l.handle(m, now)
			l.serve(now)
		case s := <-settles:
			l.settle(s)
			l.drainSettles()
			l.serve(l.clock.Now())
		case <-timerC:
			l.armed = false
			l.serve(l.clock.Now())
		case work <- next:
			l.pending[0] = storeOp{}
			l.pending = l.pending[1:]
		case res := <-l.results:
			now := l.clock.Now()
			l.result(res, now)
			l.serve(now)
		case <-changes:
			l.notBefore = time.Time{} // the fleet freed something: ask again
			l.serve(l.clock.Now())
		case <-l.quit:
			return true
		}
	}
}

// begin makes m the request being handled: a recovered panic answers it.
func (l *Limiter) begin(m message) {
	l.current = m
	if r, ok := m.(*acquireReq); ok {
		r.state, r.waitsOn, r.told = reqNew, 0, false // a pooled request keeps its last ones until here
	}
}

// handle applies one request; begin(m) was called.
func (l *Limiter) handle(m message, now time.Time) {
	if l.hook != nil {
		l.hook(m)
	}
	switch m := m.(type) {
	case *acquireReq:
		l.acquire(m, now)
	case *cancelReq:
		l.cancel(m.req)
	case *pauseReq:
		l.core.pause(m.until)
		if l.core.shared != nil {
			l.push(storeOp{kind: opPause, at: now, until: m.until})
			if m.until.After(l.notBefore) {
				l.lastReason = ReasonPaused // nobody is asked for before until
			}
			l.notBefore = later(l.notBefore, m.until)
		}
	case *unpauseReq:
		l.core.unpause()
		if l.core.shared != nil {
			l.push(storeOp{kind: opUnpause})
			l.notBefore = time.Time{}
		}
	case *releaseReq:
		l.undo(m.id)
	case *settleReq:
		l.settle(m.settleMsg)
	case *statsReq:
		st := l.stats(now) // a panic here still answers m (recovered)
		l.current = nil
		m.reply <- st
	}
	l.current = nil
}

// acquire admits r at once, queues it, or refuses it.
func (l *Limiter) acquire(r *acquireReq, now time.Time) {
	r.ask, r.deadline = l.core.askFor(r.kind, r.capUSD), time.Time{}
	if l.core.shared != nil {
		l.acquireShared(r, now)
		return
	}
	q := l.queueOf(r.kind)
	if q.len == 0 {
		if p, ok := l.core.admit(now, r.ask); ok {
			l.grant(r, p)
			return
		}
	}
	if l.maxQueued >= 0 && l.queue.len+l.turns.len >= l.maxQueued {
		l.refuse(r, ErrQueueFull)
		return
	}
	if l.maxWait > 0 {
		// Refused at once only when it surely cannot make it; a wait
		// that depends on running queries is waited for.
		at, reason, known := l.core.earliest(now, q.len, q.need, r.ask)
		if wait := at.Sub(now); known && wait > l.maxWait {
			l.refuse(r, &WaitError{Reason: reason, RetryAfter: wait})
			return
		}
		r.deadline = now.Add(l.maxWait)
	}
	if r.notify {
		r.waitsOn = l.core.waitsOn(now, q.len, q.need, r.ask)
	}
	r.state = reqQueued
	q.push(r)
	l.tell(r, q.len-1)
}

// tell sends r's caller, if it asked, the notice that r waits, with ahead
// waiters before it; once.
func (l *Limiter) tell(r *acquireReq, ahead int) {
	if r.notify && !r.told {
		r.told = true
		r.reply <- acquireResult{queued: true, reason: r.waitsOn, ahead: ahead}
	}
}

// queueOf is the queue where an admission of kind waits.
func (l *Limiter) queueOf(k Kind) *queue {
	if k == KindTurn {
		return &l.turns
	}
	return &l.queue
}

// refuse counts a refusal and answers r with err.
func (l *Limiter) refuse(r *acquireReq, err error) {
	l.core.refused++
	l.fail(r, err)
}

// cancel handles an Acquire that gave up on r.
func (l *Limiter) cancel(r *acquireReq) {
	switch r.state {
	case reqQueued:
		l.queueOf(r.kind).remove(r)
	case reqGranted:
		l.undo(r.id)
	}
	r.state = reqDone
}

// settle applies one Settle.
func (l *Limiter) settle(s settleMsg) {
	found, valid, charge := l.core.settleCharge(s.id, s.cost, s.at)
	if !valid {
		l.log.Warn("limiter: invalid cost settled, charged the reservation instead", "cost", s.cost)
	}
	if found && l.core.shared != nil {
		l.push(storeOp{kind: opSettle, id: s.id, usd: charge, at: s.at})
	}
}

// undo takes back the admission of permit id (Release, or a grant that
// raced a cancel).
func (l *Limiter) undo(id uint64) {
	if l.core.undo(id) && l.core.shared != nil {
		l.push(storeOp{kind: opRelease, id: id})
	}
}

// drainSettles applies the settles already sent, so that a request sees
// every Settle that happened before it.
func (l *Limiter) drainSettles() {
	for {
		select {
		case s := <-l.settles:
			l.settle(s)
		default:
			return
		}
	}
}

// serve admits waiters from the head of each queue (the turns first)
// while the limits allow, refuses a head whose MaxWait is over (or surely
// will be before it can be admitted), then arms the timer for the moment
// a head may be admitted or must be refused, whichever comes first.
func (l *Limiter) serve(now time.Time) {
	if l.core.shared != nil {
		l.serveShared(now)
		return
	}
	wake := l.serveQueue(&l.turns, now)
	if w := l.serveQueue(&l.queue, now); !w.IsZero() && (wake.IsZero() || w.Before(wake)) {
		wake = w
	}
	if wake.IsZero() {
		l.disarm() // nobody waits, or a settle will call serve again
		return
	}
	if l.armed && wake.Equal(l.deadline) {
		return
	}
	l.timer.Reset(max(wake.Sub(now), time.Nanosecond))
	l.armed, l.deadline = true, wake
}

// serveQueue is serve for one queue; it returns when its head may be
// admitted or must be refused (zero: not known, or nobody waits).
func (l *Limiter) serveQueue(q *queue, now time.Time) (wake time.Time) {
	for r := q.head; r != nil; r = q.head {
		if p, ok := l.core.admit(now, r.ask); ok {
			q.remove(r)
			l.grant(r, p)
			continue
		}
		if r.notify { // only a caller who asked pays for naming the limit
			r.waitsOn = l.core.waitsOn(now, 0, 0, r.ask)
		}
		if r.deadline.IsZero() {
			break
		}
		sure, reason, sureKnown := l.core.earliest(now, 0, 0, r.ask)
		hopeless := sureKnown && sure.After(r.deadline)
		if now.Before(r.deadline) && !hopeless {
			break
		}
		retry := sure.Sub(now)
		if !hopeless {
			var at time.Time
			var known bool
			at, reason, known = l.core.readyAt(now, 0, 0, r.ask)
			retry = 0
			if known {
				retry = at.Sub(now)
			}
		}
		q.remove(r)
		l.refuse(r, &WaitError{Reason: reason, RetryAfter: retry})
	}
	head := q.head
	if head == nil {
		return time.Time{}
	}
	wake = head.deadline // the earliest deadline: MaxWait is the same for all
	if at, _, known := l.core.readyAt(now, 0, 0, head.ask); known && (wake.IsZero() || at.Before(wake)) {
		wake = at
	}
	return wake
}

// disarm stops the timer.
func (l *Limiter) disarm() {
	if l.armed {
		l.timer.Stop()
		l.armed = false
	}
}

// grant answers r with p.
func (l *Limiter) grant(r *acquireReq, p Permit) {
	r.state, r.id = reqGranted, p.id
	p.WaitedOn = r.waitsOn
	r.reply <- acquireResult{permit: p}
}

// fail answers r with err.
func (l *Limiter) fail(r *acquireReq, err error) {
	r.state = reqDone
	r.reply <- acquireResult{err: err}
}

// failQueue answers every waiter with err.
func (l *Limiter) failQueue(err error) {
	for _, q := range []*queue{&l.turns, &l.queue} {
		for r := q.head; r != nil; r = q.head {
			q.remove(r)
			l.fail(r, err)
		}
	}
}

// stats returns the stats at now.
func (l *Limiter) stats(now time.Time) Stats {
	s := l.core.stats(now)
	s.Queued = l.queue.len + l.turns.len
	return s
}

// shutdown fails the waiters with ErrClosed and keeps the final stats.
func (l *Limiter) shutdown() {
	l.drainSettles()
	l.failQueue(ErrClosed)
	l.disarm()
	l.final = l.stats(l.clock.Now())
	if l.core.shared != nil {
		l.stopWorker()
	}
}

// recovered handles a panic in the loop: it logs it and fails the request
// being handled and every waiter with a *PanicError, so that no caller
// hangs; a shared store's answer still to come is for nobody. The windows
// and counts stay as they were.
func (l *Limiter) recovered(v any) {
	err := &PanicError{Value: v}
	logPanic(l.log, "limiter: recovered from panic", "panic", v, "stack", string(debug.Stack()))
	switch m := l.current.(type) {
	case *acquireReq:
		if m.state == reqNew {
			l.fail(m, err)
		}
	case *statsReq:
		m.reply <- Stats{}
	}
	l.current = nil
	l.failQueue(err)
	if l.admitting != nil {
		// Its answer is still to come, for a caller now failed whose
		// request may be reused: it goes to nobody (a grant is released).
		l.admitting = &acquireReq{state: reqDone}
	}
	l.disarm()
}

// queue is the FIFO of waiters, a doubly linked list through the requests
// themselves so that a cancelled waiter leaves in O(1) without allocating.
type queue struct {
	head, tail *acquireReq
	len        int
	need       float64 // sum of the waiters' ask.need
}

// push appends r.
func (q *queue) push(r *acquireReq) {
	q.need += r.ask.need
	r.prev, r.next = q.tail, nil
	if q.tail == nil {
		q.head = r
	} else {
		q.tail.next = r
	}
	q.tail = r
	q.len++
}

// remove unlinks r, which is in q.
func (q *queue) remove(r *acquireReq) {
	if r.prev == nil {
		q.head = r.next
	} else {
		r.prev.next = r.next
	}
	if r.next == nil {
		q.tail = r.prev
	} else {
		r.next.prev = r.prev
	}
	r.prev, r.next = nil, nil
	q.len--
	q.need -= r.ask.need
	if q.len == 0 {
		q.need = 0 // drop rounding left by the subtractions
	}
}

// logPanic logs a recovered panic through the configured logger, which is
// user code and may panic itself: that second panic is dropped, so that it
// cannot kill the actor while it recovers.
func logPanic(log *slog.Logger, msg string, args ...any) {
	defer func() { _ = recover() }()
	log.Error(msg, args...)
}
