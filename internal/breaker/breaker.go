package breaker

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// Breaker is a circuit breaker run by one goroutine of its own, the actor,
// which owns all of its state (the core: state, counts, backoff, probe
// slots); every method talks to it with messages. The zero value is not
// usable: create one with New. A Breaker is safe for concurrent use.
// Whoever created it must call Close (or run Serve until its context ends)
// to stop the actor, the subscribers' goroutines and the calls to the
// shared state.
//
// Two answers do not wait for the actor: in the closed state Allow and
// Check answer from a view (state, generation, deadline) that the actor
// publishes on every change, and so do the refusals of an open circuit.
// The actor stays the only writer of the view and the only owner of the
// counts: a permit granted from the view is counted when reported, a
// refusal is counted from a note. A Report that may change the state (a
// failure, or any outcome of a probe) waits until the actor has applied
// it and published the new view, so a caller always sees the effect of
// what it reported; half-open probes always ask the actor.
type Breaker struct {
	reqs    chan message // unbuffered: the actor receives each request
	notes   chan note    // buffered, see noteBuffer
	view    atomic.Pointer[view]
	changed chan struct{} // buffer 1: the shared state announced a change
	ops     chan op       // unbuffered: calls to the shared state, to the worker
	results chan result   // unbuffered: their answers, to the actor
	quit    chan struct{} // closed by Close
	done    chan struct{} // closed when the actor has ended

	closeOnce sync.Once
	pool      sync.Pool      // of *allowReq
	subsWG    sync.WaitGroup // subscribers' deliveries; Add only by the actor
	workerWG  sync.WaitGroup // the worker, which makes the calls to the shared state
	disabled  bool

	// Owned by the actor goroutine.
	core     *core
	clock    clock.Clock
	log      *slog.Logger
	shared   SharedState
	timeout  time.Duration      // of each shared call
	ctx      context.Context    // parent of the shared calls' contexts
	stop     context.CancelFunc // ends ctx, in shutdown
	unwatch  func()             // ends the subscription to the shared state
	id       uint64             // this breaker's part of a fleet probe id
	leases   map[uint64]uint64  // fleet-wide probe slots held: probe number → trip generation
	outbox   []op               // calls not yet taken by the worker
	down     bool               // the last shared call failed
	subs     []*subscriber
	timer    *clock.Timer
	armed    bool        // timer is set for deadline
	deadline time.Time   // when the open circuit turns half-open
	now      time.Time   // the time of the step being taken
	current  message     // the message being handled, for panic recovery
	waiting  []*allowReq // probes waiting for the fleet's slot
	hook     func(message)

	final Stats // the stats at close; read only after done is closed
}

// noteBuffer is the capacity of the note channel. A note needs no reply,
// so a buffer lets its sender go on without waiting for the actor; the
// actor empties the buffer before handling any request, so a note is
// always applied before anything the same caller asks next. When the
// buffer is full, the note goes as a request instead.
const noteBuffer = 64

// view is what the actor publishes for the answers that do not wait for
// it. It is immutable.
type view struct {
	state State
	gen   uint64
	until time.Time // the open circuit's deadline
}

// breakerIDs numbers the breakers of the process, so that their fleet
// probe ids differ when they share a SharedState.
var breakerIDs atomic.Uint64

// New validates cfg and starts the breaker's goroutine. The circuit starts
// closed, and follows the fleet's state as soon as Config.Shared answers.
func New(cfg Config) (*Breaker, error) {
	return newBreaker(cfg, nil)
}

// newBreaker is New with a hook called by the actor before it handles
// each message; tests use it to make the actor panic.
func newBreaker(cfg Config, hook func(message)) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Breaker{
		reqs:     make(chan message),
		notes:    make(chan note, noteBuffer),
		changed:  make(chan struct{}, 1),
		ops:      make(chan op),
		results:  make(chan result),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		disabled: cfg.Disabled,
		core:     newCore(cfg),
		clock:    cfg.Clock,
		log:      cfg.Logger,
		shared:   cfg.Shared,
		timeout:  cfg.SharedTimeout,
		id:       breakerIDs.Add(1),
		leases:   make(map[uint64]uint64),
		hook:     hook,
	}
	// The shared calls outlive the request that caused them (a trip is
	// published after the Report that tripped it returned): they run
	// under the breaker's own lifetime, which Close ends.
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.pool.New = func() any { return &allowReq{reply: make(chan allowResult, 1)} }
	b.timer = b.clock.Timer(time.Hour)
	b.timer.Stop()
	b.publishView()
	b.unwatch = b.shared.Subscribe(b.notify)
	b.workerWG.Go(b.work)
	go b.run()
	return b, nil
}

// notify is the shared state's callback: it wakes the actor to Load.
func (b *Breaker) notify() {
	select {
	case b.changed <- struct{}{}:
	default: // a Load is due already
	}
}

// Allow asks for permission to make one call. It returns a Permit, to be
// given back with Report, or an [*OpenError] matching [ErrCircuitOpen]
// when the circuit is open or all half-open probe slots are taken (with a
// SharedState, those of the whole fleet). It fails with ctx.Err() if ctx
// ends first (the caller then holds nothing), with [ErrClosed] after Close
// and with a [*PanicError] if the actor recovered from a panic while the
// caller waited. It never waits for the backend; a half-open probe waits
// for the shared state at most Config.SharedTimeout.
func (b *Breaker) Allow(ctx context.Context) (Permit, error) {
	return b.ask(ctx, false)
}

// Check returns the error Allow would return now, without granting a
// permit or taking a probe slot: the caller's cheap question before it
// spends anything else (such as a rate-limit token) on a call. A refusal
// counts in Stats.Refused; see there.
func (b *Breaker) Check(ctx context.Context) error {
	_, err := b.ask(ctx, true)
	return err
}

func (b *Breaker) ask(ctx context.Context, check bool) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	if b.disabled {
		return Permit{}, nil
	}
	select {
	case <-b.done:
		return Permit{}, ErrClosed
	default:
	}
	switch v := b.view.Load(); v.state {
	case StateClosed:
		if check {
			return Permit{}, nil
		}
		return Permit{gen: v.gen, fast: true}, nil
	case StateOpen:
		if left := retryAfter(v.until.Sub(b.clock.Now())); left > 0 {
			b.note(note{refusal: true})
			return Permit{}, &OpenError{State: StateOpen, RetryAfter: left}
		}
	}
	r := b.pool.Get().(*allowReq)
	r.check = check
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		b.pool.Put(r)
		return Permit{}, ctx.Err()
	case <-b.done:
		b.pool.Put(r)
		return Permit{}, ErrClosed
	}
	select {
	case res := <-r.reply:
		b.pool.Put(r)
		return res.permit, res.err
	case <-ctx.Done():
		// The actor may have granted r meanwhile; cancel undoes that. r
		// is not pooled again: the actor may still look at it.
		b.send(&cancelReq{req: r})
		return Permit{}, ctx.Err()
	case <-b.done:
		select {
		case res := <-r.reply:
			return res.permit, res.err
		default:
			return Permit{}, ErrClosed
		}
	}
}

// Report gives back a permit with the outcome of its call. Report each
// permit once (a half-open probe reported twice counts once; in the closed
// state a second report would count again). An outcome for a permit
// granted before the last change of state changes nothing. Report never
// blocks on a stopped breaker; after Close it does nothing.
func (b *Breaker) Report(p Permit, o Outcome) {
	if p.gen == 0 {
		return
	}
	n := note{permit: p, outcome: o}
	if o == Failure || p.probe != 0 {
		b.request(n) // may change the state: wait until the view shows it
		return
	}
	b.note(n)
}

// note hands n to the actor without waiting for it, unless the note
// buffer is full.
func (b *Breaker) note(n note) {
	select {
	case b.notes <- n:
	default:
		b.request(n)
	}
}

// request hands n to the actor as a request and waits until it is
// applied (or the actor stopped).
func (b *Breaker) request(n note) {
	r := &reportReq{note: n, reply: make(chan struct{}, 1)}
	if b.send(r) {
		select {
		case <-r.reply:
		case <-b.done:
		}
	}
}

// Stats returns a snapshot of the breaker; after Close, the one taken when
// it closed.
func (b *Breaker) Stats() Stats {
	r := &statsReq{reply: make(chan Stats, 1)}
	if !b.send(r) {
		return b.final
	}
	select {
	case s := <-r.reply:
		return s
	case <-b.done:
		select {
		case s := <-r.reply:
			return s
		default:
			return b.final
		}
	}
}

// Subscribe calls fn with every later change of state, in order, on a
// goroutine of its own: a slow, blocked or panicking fn (a panic is
// recovered and logged) does not stall the breaker or other subscribers.
// unsubscribe stops the deliveries (a call in progress runs to its end);
// it may be called more than once, from fn too. fn must not call Close:
// Close waits for the deliveries in progress. After Close, Subscribe
// does nothing.
func (b *Breaker) Subscribe(fn func(Event)) (unsubscribe func()) {
	s := newSubscriber(fn, b.log)
	r := &subscribeReq{s: s, reply: make(chan bool, 1)}
	if !b.send(r) || !b.receive(r.reply) {
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u := &unsubscribeReq{s: s, reply: make(chan bool, 1)}
			if b.send(u) {
				b.receive(u.reply)
			}
		})
	}
}

// receive waits for the reply of a request the actor took; false if the
// actor stopped first or refused.
func (b *Breaker) receive(reply chan bool) bool {
	select {
	case ok := <-reply:
		return ok
	case <-b.done:
		return false
	}
}

// send hands m to the actor and reports whether it took it (false once
// the breaker is closed).
func (b *Breaker) send(m message) bool {
	select {
	case b.reqs <- m:
		return true
	case <-b.done:
		return false
	}
}

// Close stops the actor, the subscribers' goroutines and the shared
// state's calls in flight, and waits for them (a subscriber's call in
// progress runs to its end; queued events are dropped). Afterwards Allow
// and Check fail with ErrClosed. Close does not close Config.Shared. It
// is idempotent and safe to call from many goroutines; it always returns
// nil.
func (b *Breaker) Close() error {
	b.closeOnce.Do(func() { close(b.quit) })
	<-b.done
	b.subsWG.Wait()
	b.workerWG.Wait()
	return nil
}

// Serve blocks until ctx ends, then closes the breaker and returns
// ctx.Err(), or until the breaker is closed by someone else, then returns
// ErrClosed (at once if it already is, so that a supervisor can tell a
// closed breaker from a failed one). It lets a supervisor such as suture
// own the breaker's lifetime; the breaker's work does not depend on Serve
// running.
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
