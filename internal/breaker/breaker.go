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
// An open circuit's refusals take a fast path that does not wait for the
// actor: it reads a snapshot the actor publishes atomically on every change
// of state (the actor stays the only writer of state).
type Breaker struct {
	cfg   Config // defaults applied
	clock clock.Clock
	log   *slog.Logger

	reqs      chan request // unbuffered: a request is in the actor's hands when sent
	reports   chan report  // unbuffered, so a Report is taken before the caller's next request
	quit      chan struct{}
	done      chan struct{} // closed when the actor has stopped
	closeOnce sync.Once
	subsWG    sync.WaitGroup // delivery goroutines; Add only by the actor

	snap    atomic.Pointer[snapshot]
	refused atomic.Uint64 // refusals of the fast path
	final   Stats         // machine's last stats, written before done is closed
	allows  sync.Pool     // of *allowReq

	// Owned by the actor goroutine.
	m        *machine
	subs     []*subscriber
	timer    *clock.Timer
	timerC   <-chan time.Time // nil when the timer is not armed
	armedFor time.Time
	inflight request   // the request being handled, answered if it panics
	lastNow  time.Time // last time read from the clock
}

// snapshot is what the actor publishes for the fast path. It is immutable
// but for err, a cache of the last refusal so that refusals in the same
// millisecond share one *OpenError and allocate nothing.
type snapshot struct {
	state  State
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
		reports: make(chan report),
		quit:    make(chan struct{}),
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
	if err := b.fastRefusal(); err != nil {
		return Permit{}, err
	}
	r := b.allows.Get().(*allowReq)
	r.check = check
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		b.allows.Put(r)
		return Permit{}, ctx.Err()
	case <-b.done:
		b.allows.Put(r)
		return Permit{}, ErrClosed
	}
	// The actor answers at once, so there is no need to give up on ctx
	// here, and not giving up means a granted permit is never lost.
	select {
	case rep := <-r.reply:
		b.allows.Put(r)
		return rep.permit, rep.err
	case <-b.done:
		select {
		case rep := <-r.reply:
			return rep.permit, rep.err
		default:
			return Permit{}, ErrClosed
		}
	}
}

// fastRefusal refuses without the actor when the published snapshot says the
// circuit is open and its open time has not passed; otherwise it returns nil
// and the actor decides.
func (b *Breaker) fastRefusal() error {
	s := b.snap.Load()
	if s.state != StateOpen {
		return nil
	}
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
	select {
	case b.reports <- report{permit: p, outcome: o}:
	case <-b.done:
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
// may be called more than once, from fn too. After Close, Subscribe does
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
	case <-b.done:
		return false
	}
}

// Close stops the actor and the subscribers' goroutines and waits for them
// (a subscriber's call in progress runs to its end; queued events are
// dropped). Afterwards Allow and Check fail with ErrClosed. Close is
// idempotent and safe to call from many goroutines; it always returns nil.
func (b *Breaker) Close() error {
	b.closeOnce.Do(func() { close(b.quit) })
	<-b.done
	b.subsWG.Wait()
	return nil
}

// Serve blocks until ctx ends, then closes the breaker and returns ctx.Err(),
// or until the breaker is closed, then returns nil. It may be called again
// after it returned (it then returns at once). It lets a supervisor such as
// suture own the breaker's lifetime.
func (b *Breaker) Serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
		b.Close()
		return ctx.Err()
	case <-b.done:
		return nil
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
	b.final = b.m.stats()
}

// loop handles messages until quit; it returns true after it recovered from
// a panic, to be called again.
func (b *Breaker) loop() (again bool) {
	defer func() {
		if v := recover(); v != nil {
			b.recovered(v)
			again = true
		}
	}()
	for {
		select { // quit first, so that Close is prompt under load
		case <-b.quit:
			return false
		default:
		}
		select {
		case <-b.quit:
			return false
		case rep := <-b.reports:
			now := b.now()
			b.m.report(rep.permit, rep.outcome, now)
			b.afterStep(now)
		case r := <-b.reqs:
			b.inflight = r
			now := b.now()
			b.handle(r, now)
			b.inflight = nil
			b.afterStep(now)
		case <-b.timerC:
			b.timerC, b.armedFor = nil, time.Time{}
			now := b.now()
			b.m.advance(now)
			b.afterStep(now)
		}
	}
}

func (b *Breaker) now() time.Time {
	b.lastNow = b.clock.Now()
	return b.lastNow
}

func (b *Breaker) handle(r request, now time.Time) {
	b.m.advance(now)
	switch r := r.(type) {
	case *allowReq:
		var rep allowReply
		if r.check {
			rep.err = b.m.check(now)
		} else {
			rep.permit, rep.err = b.m.allow(now)
		}
		r.reply <- rep
	case *statsReq:
		s := b.m.stats()
		s.Refused += b.refused.Load()
		r.reply <- s
	case *controlReq:
		if r.open {
			b.m.forceOpen(now)
		} else {
			b.m.reset(now)
		}
		r.reply <- struct{}{}
	case *subscribeReq:
		b.subs = append(b.subs, r.s)
		b.subsWG.Add(1)
		go func() {
			defer b.subsWG.Done()
			r.s.deliver()
		}()
		r.reply <- true
	case *unsubscribeReq:
		b.unsubscribe(r.s)
		r.reply <- struct{}{}
	}
}

func (b *Breaker) unsubscribe(s *subscriber) {
	if i := slices.Index(b.subs, s); i >= 0 {
		b.subs = slices.Delete(b.subs, i, i+1)
	}
	s.halt()
}

// afterStep delivers the step's changes of state, publishes the snapshot and
// arms the timer for the next open-to-half-open deadline.
func (b *Breaker) afterStep(now time.Time) {
	for _, ev := range b.m.takeEvents() {
		for _, s := range b.subs {
			s.push(ev)
		}
	}
	b.publish()
	b.armTimer(now)
}

// publish stores a new snapshot when the state the fast path needs changed.
func (b *Breaker) publish() {
	until, _ := b.m.deadline()
	cur := b.snap.Load()
	if cur != nil && cur.state == b.m.state && cur.forced == b.m.forced && cur.until.Equal(until) {
		return
	}
	s := &snapshot{state: b.m.state, forced: b.m.forced, until: until}
	if s.forced {
		s.err.Store(&OpenError{State: StateOpen})
	}
	b.snap.Store(s)
}

func (b *Breaker) armTimer(now time.Time) {
	until, ok := b.m.deadline()
	switch {
	case !ok:
		b.stopTimer()
	case b.timerC != nil && b.armedFor.Equal(until):
	case b.timer == nil:
		b.timer = b.clock.Timer(until.Sub(now))
		b.timerC, b.armedFor = b.timer.C, until
	default:
		b.stopTimer()
		b.timer.Reset(until.Sub(now))
		b.timerC, b.armedFor = b.timer.C, until
	}
}

func (b *Breaker) stopTimer() {
	if b.timer == nil || b.timerC == nil {
		return
	}
	if !b.timer.Stop() {
		select { // a mock clock's timer may hold a value already
		case <-b.timer.C:
		default:
		}
	}
	b.timerC, b.armedFor = nil, time.Time{}
}

// recovered handles a panic of the loop: it logs it, puts the machine in a
// safe state (closed, new generation: outstanding permits turn stale, probe
// slots are cleared), and answers the request being handled with an error
// wrapping ErrInternal. It reads no clock, which may be what panicked.
func (b *Breaker) recovered(v any) {
	b.log.Error("breaker: recovered from panic; circuit reset to closed",
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
	b.stopTimer() // re-armed by afterStep if needed
	b.afterStep(b.lastNow)
}

// trySend sends v unless the buffer of one is already full (the handler
// answered before it panicked).
func trySend[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}
