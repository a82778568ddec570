package breaker

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// Breaker is a circuit breaker run by one goroutine of its own, the actor,
// which owns all of its state; every method talks to it with messages. The
// zero value is not usable: create one with New. A Breaker is safe for
// concurrent use. Whoever created it must call Close (or run Serve until its
// context ends) to stop the actor and the subscribers' goroutines.
//
// Two fast paths do not wait for the actor: in the closed state Allow and
// Check answer from a snapshot the actor publishes atomically on every change
// of state, and so do the refusals of an open circuit. The actor stays the
// only writer of state. A caller's own failure reports, sent but not yet
// applied, turn the closed fast path off, so a caller always sees the effect
// of what it reported before; half-open probes always ask the actor.
type Breaker struct {
	cfg   Config // defaults applied
	clock clock.Clock
	log   *slog.Logger

	reqs chan request // unbuffered: a request sent is in the actor's hands
	// reports is buffered (reportBuffer) so that Report does not wait for
	// the actor. An outcome that may change the state (a failure, or any
	// outcome of a half-open probe) also sends a kick to wake the actor;
	// the others (success or ignored of a permit granted while closed) wait
	// in the buffer until the actor's next step, which drains it first. So
	// every reader (Allow, Check, State, Stats) sees the reports sent
	// before it, and the hot closed path does not wake the actor.
	reports   chan report
	kick      chan struct{} // buffer 1: one pending wake-up drains all reports
	quitting  atomic.Bool   // set by Close, then a kick wakes the actor
	done      chan struct{} // closed when the actor has stopped
	closeOnce sync.Once
	subsWG    sync.WaitGroup // delivery goroutines; Add only by the actor

	snap    atomic.Pointer[snapshot]
	refused atomic.Uint64 // refusals of the fast path
	granted atomic.Uint64 // permits of the fast path, not yet added to the machine's counts
	// unsettled counts the reports that may change the state (failures,
	// probes) sent but not yet applied and published; the closed fast path
	// is off while it is not zero.
	unsettled atomic.Int64
	final     Stats     // machine's last stats, written before done is closed
	allows    sync.Pool // of *allowReq

	// Owned by the actor goroutine.
	m    *machine
	subs []*subscriber
	// timer wakes the actor (through kick) at armedFor, the open circuit's
	// deadline: one timer for the actor, and the loop's select keeps two
	// cases, which makes a round trip cheaper than a third timer case.
	timer    *clock.Timer
	armedFor time.Time // zero when the timer is not armed
	inflight request   // the request being handled, answered if it panics
	lastNow  time.Time // last time read from the clock
	timeRead bool      // lastNow was read in this step
	seen     uint64    // machine version last published
	settled  int64     // reports counted in unsettled, applied in this step
	dirty    bool      // publish and re-arm even if the version is seen (after a panic)
}

// reportBuffer is the capacity of Breaker.reports.
const reportBuffer = 64

// snapshot is what the actor publishes for the fast path. It is immutable
// but for err, a cache of the last refusal so that refusals in the same
// millisecond share one *OpenError and allocate nothing.
type snapshot struct {
	state  State
	gen    uint64
	forced bool
	until  time.Time
	err    atomic.Pointer[OpenError]
}

// New validates cfg and starts the breaker's goroutine. The circuit starts
// closed.
func New(cfg Config) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	now := cfg.Clock.Now()
	b := &Breaker{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		reqs:    make(chan request),
		reports: make(chan report, reportBuffer),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		m:       newMachine(cfg, now),
		lastNow: now,
	}
	b.allows.New = func() any { return &allowReq{reply: make(chan allowReply, 1)} }
	b.publish()
	go b.run()
	return b, nil
}

// Allow asks for permission to make one call. It returns a Permit, to be
// given back with Report, or an [*OpenError] matching [ErrCircuitOpen] when
// the circuit is open or all half-open probe slots are taken. It fails with
// ctx.Err() if ctx ends first and with [ErrClosed] after Close. It never
// waits for the backend, only for the actor's answer.
func (b *Breaker) Allow(ctx context.Context) (Permit, error) {
	return b.ask(ctx, false)
}

// Check returns the error Allow would return now, without granting a permit
// or taking a probe slot: the caller's cheap question before it spends
// anything else (such as a rate-limit token) on a call. A refusal counts in
// Stats.Refused; see there.
func (b *Breaker) Check(ctx context.Context) error {
	_, err := b.ask(ctx, true)
	return err
}

func (b *Breaker) ask(ctx context.Context, check bool) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	select {
	case <-b.done:
		return Permit{}, ErrClosed
	default:
	}
	if b.cfg.Disabled {
		return Permit{}, nil
	}
	// unsettled is read before the snapshot: seeing it zero means the
	// actor has published the effect of this caller's earlier reports.
	quiet := b.unsettled.Load() == 0
	s := b.snap.Load()
	switch {
	case s.state == StateClosed && quiet:
		if check {
			return Permit{}, nil
		}
		b.granted.Add(1)
		return Permit{gen: s.gen}, nil
	case s.state == StateOpen:
		if err := b.fastRefusal(s); err != nil {
			return Permit{}, err
		}
	}
	r := b.allows.Get().(*allowReq)
	r.check = check
	select {
	case b.reqs <- r: // the actor is waiting: no need for the full select
	default:
		select {
		case b.reqs <- r:
		case <-ctx.Done():
			b.allows.Put(r)
			return Permit{}, ctx.Err()
		case <-b.done:
			b.allows.Put(r)
			return Permit{}, ErrClosed
		}
	}
	// The actor answers every request it has taken, at once, even when it
	// panics (see recovered), so this wait needs neither ctx nor done; and not
	// giving up on ctx means a granted permit is never lost.
	rep := <-r.reply
	b.allows.Put(r)
	return rep.permit, rep.err
}

// fastRefusal refuses without the actor when the open circuit's open time
// (in snapshot s) has not passed; otherwise it returns nil and the actor
// decides.
func (b *Breaker) fastRefusal(s *snapshot) error {
	if s.forced {
		b.refused.Add(1)
		return s.err.Load()
	}
	left := retryAfter(s.until.Sub(b.clock.Now()))
	if left <= 0 {
		return nil
	}
	e := s.err.Load()
	if e == nil || e.RetryAfter != left {
		e = &OpenError{State: StateOpen, RetryAfter: left}
		s.err.Store(e)
	}
	b.refused.Add(1)
	return e
}

// Report gives back a permit with the outcome of its call. Report each permit
// once (a half-open probe reported twice counts once; in the closed state a
// second report would count again). An outcome for a permit granted before
// the last change of state changes nothing. Report never blocks on a stopped
// breaker; after Close it does nothing.
func (b *Breaker) Report(p Permit, o Outcome) {
	if p.gen == 0 {
		return
	}
	rep := report{permit: p, outcome: o}
	mayChange := rep.mayChange()
	if mayChange {
		b.unsettled.Add(1)
	}
	select {
	case b.reports <- rep:
	default: // full: have the actor drain it, and wait for room
		b.wake()
		select {
		case b.reports <- rep:
		case <-b.done:
			return
		}
	}
	if mayChange {
		b.wake()
	}
}

// wake makes sure the actor drains the reports soon.
func (b *Breaker) wake() {
	select {
	case b.kick <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// State returns the state of the circuit. An open circuit whose open time
// has passed is half-open, whether or not its timer has been handled yet.
func (b *Breaker) State() State {
	return b.Stats().State
}

// Stats returns a snapshot of the breaker; after Close, the last one.
func (b *Breaker) Stats() Stats {
	r := &statsReq{reply: make(chan Stats, 1)}
	if b.send(r) {
		select {
		case s := <-r.reply:
			return s
		case <-b.done:
		}
	}
	s := b.final
	s.Refused += b.refused.Load()
	s.Counts.Requests += b.granted.Load()
	return s
}

// ForceOpen opens the circuit and holds it open, without a timer, until
// Reset. Refusals then have RetryAfter 0. It does nothing when the breaker
// is disabled, or after Close.
func (b *Breaker) ForceOpen() { b.control(true) }

// Reset closes the circuit, clears its runs of outcomes and its backoff, and
// makes every outstanding permit stale. It does nothing when the breaker is
// disabled, or after Close.
func (b *Breaker) Reset() { b.control(false) }

func (b *Breaker) control(open bool) {
	if b.cfg.Disabled {
		return
	}
	r := &controlReq{open: open, reply: make(chan struct{}, 1)}
	if b.send(r) {
		select {
		case <-r.reply:
		case <-b.done:
		}
	}
}

// Subscribe calls fn with every later change of state, in order, on a
// goroutine of its own: a slow, blocked or panicking fn (a panic is
// recovered and logged) does not stall the breaker or other subscribers.
// unsubscribe stops the deliveries (a call in progress runs to its end); it
// may be called more than once, from fn too. fn must not call Close: Close
// waits for the deliveries in progress. After Close, Subscribe does
// nothing.
func (b *Breaker) Subscribe(fn func(Event)) (unsubscribe func()) {
	s := newSubscriber(fn, b.log)
	r := &subscribeReq{s: s, reply: make(chan bool, 1)}
	if !b.send(r) {
		return func() {}
	}
	select {
	case ok := <-r.reply:
		if !ok {
			return func() {}
		}
	case <-b.done:
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u := &unsubscribeReq{s: s, reply: make(chan struct{}, 1)}
			if b.send(u) {
				select {
				case <-u.reply:
				case <-b.done:
				}
			}
		})
	}
}

// send hands r to the actor; false if the actor has stopped.
func (b *Breaker) send(r request) bool {
	select {
	case b.reqs <- r:
		return true
	default:
	}
	select {
	case b.reqs <- r:
		return true
	case <-b.done:
		return false
	}
}

// Close stops the actor and the subscribers' goroutines and waits for them
// (a subscriber's call in progress runs to its end; queued events are
// dropped). Afterwards Allow and Check fail with ErrClosed. Close is
// idempotent and safe to call from many goroutines; it always returns nil.
func (b *Breaker) Close() error {
	b.closeOnce.Do(func() {
		b.quitting.Store(true)
		b.wake()
	})
	<-b.done
	b.subsWG.Wait()
	return nil
}

// Serve blocks until ctx ends, then closes the breaker and returns ctx.Err(),
// or until the breaker is closed by someone else, then returns ErrClosed
// (at once if it already is, so that a supervisor can tell a closed breaker
// from a failed one). It lets a supervisor such as suture own the breaker's
// lifetime.
func (b *Breaker) Serve(ctx context.Context) error {
	select {
	case <-b.done:
		return ErrClosed
	default:
	}
	select {
	case <-ctx.Done():
		b.Close()
		return ctx.Err()
	case <-b.done:
		return ErrClosed
	}
}

// run is the actor goroutine.
func (b *Breaker) run() {
	defer close(b.done)
	for b.loop() {
	}
	b.stopTimer()
	for _, s := range b.subs {
		s.halt()
	}
	b.subs = nil
	b.drainReports()
	b.final = b.m.stats()
	b.final.Refused += b.refused.Swap(0)
}

// loop handles messages until Close; it returns true after it recovered
// from a panic, to be called again.
func (b *Breaker) loop() (again bool) {
	defer func() {
		if v := recover(); v != nil {
			b.recovered(v)
			again = true
		}
	}()
	for !b.quitting.Load() { // checked before each step, so Close is prompt under load
		b.timeRead = false
		select {
		case <-b.kick: // reports, the timer, or Close
			b.drainReports()
			if !b.armedFor.IsZero() && !b.now().Before(b.armedFor) {
				b.timer, b.armedFor = nil, time.Time{}
				b.m.advance(b.now())
			}
			b.endStep()
		case r := <-b.reqs:
			b.inflight = r
			b.drainReports()
			b.handle(r)
			b.endStep() // publish before answering: the caller's next call sees it
			b.answer(r)
			b.inflight = nil
		}
	}
	return false
}

// drainReports applies the reports sent so far, in order, so that the step
// being taken sees them.
func (b *Breaker) drainReports() {
	if n := b.granted.Swap(0); n > 0 {
		b.m.addRequests(n)
	}
	for len(b.reports) > 0 {
		select {
		case rep := <-b.reports:
			if rep.mayChange() {
				b.settled++
			}
			b.m.report(rep.permit, rep.outcome, b.now())
		default:
			return
		}
	}
}

// now reads the clock at most once per step, and only when the step needs
// the time.
func (b *Breaker) now() time.Time {
	if !b.timeRead {
		b.lastNow = b.clock.Now()
		b.timeRead = true
	}
	return b.lastNow
}

// stepTime is the time handle passes to the machine: the clock's, except
// for a question whose answer in the closed state does not depend on the
// time (Allow, Check, Stats), which then reads no clock.
func (b *Breaker) stepTime(r request) time.Time {
	if b.m.state == StateClosed {
		switch r.(type) {
		case *allowReq, *statsReq:
			return b.lastNow
		}
	}
	return b.now()
}

// handle carries out r; answer replies after the step is published.
func (b *Breaker) handle(r request) {
	now := b.stepTime(r)
	b.m.advance(now)
	switch r := r.(type) {
	case *allowReq:
		if r.check {
			r.rep = allowReply{err: b.m.check(now)}
		} else {
			r.rep.permit, r.rep.err = b.m.allow(now)
		}
	case *statsReq:
		r.stats = b.m.stats()
		r.stats.Refused += b.refused.Load()
	case *controlReq:
		if r.open {
			b.m.forceOpen(now)
		} else {
			b.m.reset(now)
		}
	case *subscribeReq:
		b.subs = append(b.subs, r.s)
		b.subsWG.Add(1)
		go func() {
			defer b.subsWG.Done()
			r.s.deliver()
		}()
	case *unsubscribeReq:
		b.unsubscribe(r.s)
	}
}

func (b *Breaker) answer(r request) {
	switch r := r.(type) {
	case *allowReq:
		rep := r.rep
		r.rep = allowReply{}
		r.reply <- rep
	case *statsReq:
		r.reply <- r.stats
	case *controlReq:
		r.reply <- struct{}{}
	case *subscribeReq:
		r.reply <- true
	case *unsubscribeReq:
		r.reply <- struct{}{}
	}
}

func (b *Breaker) unsubscribe(s *subscriber) {
	if i := slices.Index(b.subs, s); i >= 0 {
		b.subs = slices.Delete(b.subs, i, i+1)
	}
	s.halt()
}

// endStep delivers the step's changes of state, publishes the snapshot, arms
// the timer for the next open-to-half-open deadline, and only then settles
// the reports applied in the step.
func (b *Breaker) endStep() {
	b.afterStep()
	if b.settled > 0 {
		b.unsettled.Add(-b.settled)
		b.settled = 0
	}
}

// afterStep is endStep but for the settling.
func (b *Breaker) afterStep() {
	if b.m.version == b.seen && !b.dirty {
		return // nothing changed: no events, same snapshot, same deadline
	}
	b.seen, b.dirty = b.m.version, false
	for _, ev := range b.m.takeEvents() {
		for _, s := range b.subs {
			s.push(ev)
		}
	}
	b.publish()
	b.armTimer()
}

// publish stores a new snapshot when the state the fast path needs changed.
func (b *Breaker) publish() {
	until, _ := b.m.deadline()
	cur := b.snap.Load()
	if cur != nil && cur.gen == b.m.gen && cur.state == b.m.state && cur.forced == b.m.forced && cur.until.Equal(until) {
		return
	}
	s := &snapshot{state: b.m.state, gen: b.m.gen, forced: b.m.forced, until: until}
	if s.forced {
		s.err.Store(&OpenError{State: StateOpen})
	}
	b.snap.Store(s)
}

func (b *Breaker) armTimer() {
	until, ok := b.m.deadline()
	switch {
	case !ok:
		b.stopTimer()
	case b.armedFor.Equal(until):
	default:
		b.stopTimer()
		b.timer = b.clock.AfterFunc(until.Sub(b.now()), b.wake)
		b.armedFor = until
	}
}

func (b *Breaker) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer, b.armedFor = nil, time.Time{}
}

// recovered handles a panic of the loop: it logs it, puts the machine in a
// safe state (closed, new generation: outstanding permits turn stale, probe
// slots are cleared), and answers the request being handled with an error
// wrapping ErrInternal. It reads no clock, which may be what panicked.
func (b *Breaker) recovered(v any) {
	logPanic(b.log, "breaker: recovered from panic; circuit reset to closed",
		"panic", v, "stack", string(debug.Stack()))
	err := fmt.Errorf("%w: panic: %v", ErrInternal, v)
	b.m.recoverSafe(b.lastNow)
	switch r := b.inflight.(type) {
	case *allowReq:
		trySend(r.reply, allowReply{err: err})
	case *statsReq:
		trySend(r.reply, b.m.stats())
	case *controlReq:
		trySend(r.reply, struct{}{})
	case *subscribeReq:
		b.unsubscribe(r.s)
		trySend(r.reply, false)
	case *unsubscribeReq:
		b.unsubscribe(r.s)
		trySend(r.reply, struct{}{})
	}
	b.inflight = nil
	b.stopTimer()     // re-armed by afterStep if needed
	b.timeRead = true // the clock may be what panicked: use the last time read
	b.dirty = true
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
