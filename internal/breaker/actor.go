package breaker

import (
	"context"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"
)

// message is a request to the actor: *allowReq, *cancelReq, *reportReq,
// *statsReq, *subscribeReq or *unsubscribeReq. The notes that need no
// reply (see note) travel on their own buffered channel; *reportReq
// carries the others, and a note that found that buffer full.
type message interface{ isMessage() }

// allowReq asks for a permit (Allow) or whether one would be granted
// (Check). Allow takes one from the pool, and returns it there only after
// receiving the reply, so the actor never touches a request that a new
// Allow is using.
type allowReq struct {
	reply chan allowResult // buffer 1: the actor never blocks on it
	check bool

	// Owned by the actor.
	state  reqState
	permit Permit // the grant, from state reqFleet on
}

// allowResult is the reply to an allowReq.
type allowResult struct {
	permit Permit
	err    error
}

// reqState is where an allowReq is in its life, as the actor sees it.
type reqState int

const (
	reqNew     reqState = iota // received, not yet answered
	reqFleet                   // a probe granted locally, waiting for the fleet's slot
	reqGranted                 // answered with a permit
	reqDone                    // answered with an error, or cancelled
)

// cancelReq tells the actor that the Allow of req gave up: forget its wait
// for the fleet, or undo its grant if the grant raced with the cancel.
type cancelReq struct{ req *allowReq }

// note is what the actor learns without answering: a Report that cannot
// change the state (a success or an ignored outcome of a closed-state
// permit), or a refusal made from the published view. The actor applies
// the notes sent so far before it handles any request, so it does not
// listen for them: a note costs no wake-up.
type note struct {
	permit  Permit
	outcome Outcome
	refusal bool // a refusal of the open circuit, made from the view
}

// reportReq carries a Report that may change the state, answered once the
// new view is published, or a note that found the note buffer full.
type reportReq struct {
	note
	reply chan struct{} // buffer 1
}

// statsReq carries Stats.
type statsReq struct{ reply chan Stats } // buffer 1

// subscribeReq registers s; the reply says whether the actor took it.
type subscribeReq struct {
	s     *subscriber
	reply chan bool // buffer 1
}

// unsubscribeReq removes s.
type unsubscribeReq struct {
	s     *subscriber
	reply chan bool // buffer 1
}

func (*allowReq) isMessage()       {}
func (*cancelReq) isMessage()      {}
func (*reportReq) isMessage()      {}
func (*statsReq) isMessage()       {}
func (*subscribeReq) isMessage()   {}
func (*unsubscribeReq) isMessage() {}

// result is the answer of one call to the shared state, made off the loop
// by call. The fleet's state comes with every answer but ReturnProbe's.
type result struct {
	fleet Fleet
	err   error
	probe *allowReq // TakeProbe: the request waiting for the slot
	gen   uint64    // TakeProbe: the trip the slot was asked of
	ok    bool      // TakeProbe: the slot was taken
	none  bool      // no fleet state came with it (ReturnProbe)
}

// run is the actor goroutine. It closes done when it ends.
func (b *Breaker) run() {
	defer close(b.done)
	b.call(func(ctx context.Context) result { // a new process joins the fleet's state
		f, err := b.shared.Load(ctx)
		return result{fleet: f, err: err}
	})
	for !b.loop() {
	}
	b.shutdown()
}

// loop serves messages until the breaker closes (true) or a panic was
// recovered (false, after answering the callers; run calls loop again).
func (b *Breaker) loop() (closed bool) {
	defer func() {
		if v := recover(); v != nil {
			b.recovered(v)
		}
	}()
	for {
		select {
		case <-b.quit: // first, so that Close is prompt under load
			return true
		default:
		}
		var timerC <-chan time.Time
		if b.armed {
			timerC = b.timer.C
		}
		var ops chan<- op
		var next op
		if len(b.outbox) > 0 {
			ops, next = b.ops, b.outbox[0]
		}
		select {
		case ops <- next:
			b.outbox[0] = nil
			b.outbox = b.outbox[1:]
			continue
		case m := <-b.reqs:
			b.current = m
			if r, ok := m.(*allowReq); ok {
				r.state = reqNew // a pooled request keeps its last state until here
			}
			b.now = b.clock.Now() // a panic here or in the reports still answers m
			b.drainNotes()
			b.handle(m)
			b.current = nil
		case <-timerC:
			b.armed = false
			b.now = b.clock.Now()
			b.core.advance(b.now)
		case res := <-b.results:
			b.now = b.clock.Now()
			b.drainNotes()
			b.settle(res)
		case <-b.changed:
			b.call(func(ctx context.Context) result {
				f, err := b.shared.Load(ctx)
				return result{fleet: f, err: err}
			})
			continue
		case <-b.quit:
			return true
		}
		b.endStep()
	}
}

// handle applies one request at b.now.
func (b *Breaker) handle(m message) {
	if b.hook != nil {
		b.hook(m)
	}
	switch m := m.(type) {
	case *allowReq:
		b.allow(m)
	case *cancelReq:
		b.cancel(m.req)
	case *reportReq:
		b.apply(m.note)
		b.endStep() // the reporter's next Allow sees the new view
		b.current = nil
		m.reply <- struct{}{}
	case *statsReq:
		st := b.core.stats() // a panic here still answers m (recovered)
		b.current = nil
		m.reply <- st
	case *subscribeReq:
		b.subs = append(b.subs, m.s)
		b.subsWG.Go(m.s.deliver)
		m.reply <- true
	case *unsubscribeReq:
		b.unsubscribe(m.s)
		m.reply <- true
	}
}

// allow answers r, or, for a half-open probe, asks the fleet for a slot
// first (settle answers then).
func (b *Breaker) allow(r *allowReq) {
	if r.check {
		b.answer(r, Permit{}, b.core.check(b.now))
		return
	}
	p, err := b.core.allow(b.now)
	if err != nil || p.probe == 0 {
		b.answer(r, p, err)
		return
	}
	r.state, r.permit = reqFleet, p
	b.waiting = append(b.waiting, r)
	gen, id := b.core.fleet, b.probeID(p)
	if b.core.ownTrip != 0 {
		// This process's own trip, not answered yet: the worker runs the
		// calls in order, so its Trip reaches the fleet before this.
		gen = b.core.ownTrip
	}
	limit := b.core.cfg.HalfOpenRequests
	b.call(func(ctx context.Context) result {
		ok, f, err := b.shared.TakeProbe(ctx, gen, id, limit)
		return result{fleet: f, err: err, probe: r, gen: gen, ok: ok}
	})
}

// answer replies to r with p or err.
func (b *Breaker) answer(r *allowReq, p Permit, err error) {
	r.state = reqDone
	if err == nil && p.gen != 0 {
		r.state, r.permit = reqGranted, p
	}
	r.reply <- allowResult{permit: p, err: err}
}

// cancel handles an Allow that gave up on r.
func (b *Breaker) cancel(r *allowReq) {
	switch r.state {
	case reqFleet:
		b.unwait(r) // settle gives the fleet's slot back when the fleet answers
		b.core.undo(r.permit)
	case reqGranted:
		b.core.undo(r.permit)
		b.returnProbe(r.permit)
	}
	r.state = reqDone
}

// unwait takes r out of the requests waiting for the fleet.
func (b *Breaker) unwait(r *allowReq) {
	if i := slices.Index(b.waiting, r); i >= 0 {
		b.waiting = slices.Delete(b.waiting, i, i+1)
	}
}

// apply applies one note or Report.
func (b *Breaker) apply(n note) {
	if n.refusal {
		b.core.countRefusal()
		return
	}
	b.core.report(n.permit, n.outcome, b.now)
	b.returnProbe(n.permit)
}

// drainNotes applies the notes already sent, so that a request sees every
// Report and refusal that happened before it.
func (b *Breaker) drainNotes() {
	for {
		select {
		case n := <-b.notes:
			b.apply(n)
		default:
			return
		}
	}
}

// settle applies the answer of a shared call: the fleet's state, and for
// TakeProbe the answer to the waiting caller. A failed call leaves the
// local state in charge: a probe granted locally stays granted.
func (b *Breaker) settle(res result) {
	b.health(res.err)
	if res.err == nil && !res.none {
		b.core.adopt(res.fleet, b.now)
	}
	r := res.probe
	if r == nil {
		return
	}
	if r.state != reqFleet { // the caller gave up, or Close or a panic answered it: undone
		if res.ok {
			b.leases[r.permit.probe] = res.gen
			b.returnProbe(r.permit)
		}
		return
	}
	b.unwait(r)
	switch f := res.fleet; {
	case res.ok:
		b.leases[r.permit.probe] = res.gen
		b.answer(r, r.permit, nil)
	case res.err != nil, // the local state decides
		(f.Gen != res.gen || f.Closed) && b.core.current(r.permit):
		// The fleet does not know this trip (its publication failed, or
		// the fleet closed it): the local probe cap decides.
		b.answer(r, r.permit, nil)
	default: // all the trip's slots are taken, or the fleet moved on
		p, err := b.core.refuseProbe(r.permit, b.now)
		b.answer(r, p, err)
	}
}

// health logs each change between a reachable and an unreachable shared
// state once.
func (b *Breaker) health(err error) {
	switch {
	case err != nil && !b.down:
		b.down = true
		b.log.Warn("breaker: shared state unreachable, going on with the local state", "err", err)
	case err == nil && b.down:
		b.down = false
		b.log.Info("breaker: shared state reachable again")
	}
}

// returnProbe gives back the fleet-wide slot of p, if it holds one.
func (b *Breaker) returnProbe(p Permit) {
	gen, ok := b.leases[p.probe]
	if p.probe == 0 || !ok {
		return
	}
	delete(b.leases, p.probe)
	id := b.probeID(p)
	b.call(func(ctx context.Context) result {
		return result{err: b.shared.ReturnProbe(ctx, gen, id), none: true}
	})
}

// probeID is the fleet-wide id of probe p: unique among the breakers of
// this process.
func (b *Breaker) probeID(p Permit) uint64 { return b.id<<32 | p.probe&(1<<32-1) }

// op is one call to the shared state, run by the worker.
type op func(context.Context) result

// call queues f for the worker, which runs the calls off the loop one at a
// time in the order they were queued (so a probe slot given back is free
// before the next one is asked for).
func (b *Breaker) call(f op) { b.outbox = append(b.outbox, f) }

// work is the worker goroutine: it runs each op under a context that ends
// after the shared timeout or at Close, and brings its result back to the
// loop.
func (b *Breaker) work() {
	for {
		var f op
		select {
		case f = <-b.ops:
		case <-b.quit:
			return
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
		res := f(ctx)
		cancel()
		select {
		case b.results <- res:
		case <-b.quit:
			return
		}
	}
}

// endStep arms the timer for the open circuit's deadline, then delivers
// the step's changes of state, publishes the view and this process's own
// trip or close to the fleet. The timer comes first: a reader who sees
// the circuit open (a test advancing a mock clock) finds it armed.
func (b *Breaker) endStep() {
	b.arm()
	b.publishView()
	for _, ev := range b.core.takeEvents() {
		for _, s := range b.subs {
			s.push(ev)
		}
	}
	switch pub, seen := b.core.takePublish(); pub {
	case publishTrip:
		openFor, decided := b.core.openFor, b.now
		b.call(func(ctx context.Context) result {
			// What is left of the open time when the call runs: the shared
			// state counts it from then, and a call that waited must not
			// keep the fleet open past the trip's own deadline.
			left := max(openFor-b.clock.Now().Sub(decided), 0)
			f, err := b.shared.Trip(ctx, seen, left)
			return result{fleet: f, err: err}
		})
	case publishClose:
		b.call(func(ctx context.Context) result {
			f, err := b.shared.CloseCircuit(ctx, seen)
			return result{fleet: f, err: err}
		})
	}
}

// publishView stores a new view when the state, generation or deadline
// changed.
func (b *Breaker) publishView() {
	until, _ := b.core.deadline()
	v := b.view.Load()
	if v != nil && v.state == b.core.state && v.gen == b.core.gen && v.until.Equal(until) {
		return
	}
	b.view.Store(&view{state: b.core.state, gen: b.core.gen, until: until})
}

// arm sets the timer for the open circuit's deadline, or stops it.
func (b *Breaker) arm() {
	until, open := b.core.deadline()
	switch {
	case !open:
		b.disarm()
	case b.armed && until.Equal(b.deadline):
	default:
		b.timer.Reset(max(until.Sub(b.now), time.Nanosecond))
		b.armed, b.deadline = true, until
	}
}

// disarm stops the timer.
func (b *Breaker) disarm() {
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
}

func (b *Breaker) unsubscribe(s *subscriber) {
	if i := slices.Index(b.subs, s); i >= 0 {
		b.subs = slices.Delete(b.subs, i, i+1)
	}
	s.halt()
}

// failWaiting answers every caller waiting for the fleet with err.
func (b *Breaker) failWaiting(err error) {
	for _, r := range b.waiting {
		b.core.undo(r.permit)
		b.answer(r, Permit{}, err) // settle gives the fleet's slot back when the fleet answers
	}
	b.waiting = b.waiting[:0]
}

// shutdown fails the waiters with ErrClosed, stops the subscribers and the
// shared calls, and keeps the final stats. Fleet slots held by permits
// still out expire in the shared state.
func (b *Breaker) shutdown() {
	b.drainNotes()
	b.failWaiting(ErrClosed)
	b.unwatch()
	b.stop()
	b.disarm()
	for _, s := range b.subs {
		s.halt()
	}
	b.subs = nil
	b.final = b.core.stats()
}

// recovered handles a panic in the loop: it logs it, puts the core in a
// safe state (closed, new generation: outstanding permits turn stale,
// probe slots are cleared), and answers the request being handled and
// every caller waiting for the fleet with a *PanicError, so that no caller
// hangs. It reads no clock, which may be what panicked.
func (b *Breaker) recovered(v any) {
	err := &PanicError{Value: v}
	logPanic(b.log, "breaker: recovered from panic; circuit reset to closed",
		"panic", v, "stack", string(debug.Stack()))
	switch m := b.current.(type) {
	case *allowReq:
		if m.state == reqNew {
			b.answer(m, Permit{}, err)
		}
	case *statsReq:
		trySend(m.reply, Stats{})
	case *subscribeReq:
		b.unsubscribe(m.s)
		trySend(m.reply, false)
	case *unsubscribeReq:
		b.unsubscribe(m.s)
		trySend(m.reply, true)
	}
	b.current = nil
	b.failWaiting(err)
	b.core.recoverSafe(b.now)
	b.disarm()
	b.endStep()
}

// trySend sends v unless the buffer of one is already full (the handler
// answered before it panicked).
func trySend[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

// logPanic logs a recovered panic through the configured logger, which is
// user code and may panic itself: that second panic is dropped, so that it
// cannot kill the goroutine that is recovering.
func logPanic(log *slog.Logger, msg string, args ...any) {
	defer func() { _ = recover() }()
	log.Error(msg, args...)
}
