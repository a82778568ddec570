// Package limiter admits queries under per-minute and per-hour rate
// windows, a rolling hourly cost budget, a concurrency cap and
// server-signalled pauses, serving waiters strictly first in, first out.
//
// A Limiter is an actor: one goroutine owns all its state and callers talk
// to it with request/reply messages. The arithmetic lives in a plain
// synchronous core whose methods take the current time.
package limiter

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Limiter admits queries. Acquire waits for admission and returns a
// Permit; every Permit must be settled with Settle once the query's cost is
// known (or the query failed, with cost 0) to free its concurrency slot
// and replace its cost reservation with the actual cost.
//
// The windows are token buckets: the per-minute window holds up to
// QueriesPerMinute tokens and refills that many per 60 s, continuously;
// the per-hour window likewise. An admission takes a token from every
// window or from none, so admissions in any interval of length T never
// exceed capacity + rate×T in any window.
//
// The cost budget counts what Settle charged in the last 60 minutes
// (spent) plus the reservation of each query in flight. A query's
// reservation is its cap (Permit.CapUSD): the smaller of what it asks for
// (Config.QueryBudget by default) and the budget unreserved at its
// admission. While less than its MinQueryBudget is unreserved, it waits
// for spend to leave the window or for settles. So at every admission
// spent + reserved <= budget, and a query that keeps within its cap keeps
// the hourly spend within the budget; Settle gives back at once what a
// query did not spend of its reservation.
//
// All the limiter's state belongs to one goroutine that callers talk to by
// messages; a waiting caller costs a queue entry, and the whole limiter
// arms one timer at a time, for the head of the queue.
//
// Create one with New; the zero Limiter is not usable. A Limiter is safe
// for concurrent use. It runs a goroutine from New until Close, so whoever
// calls New must call Close (or run Serve, which closes it when its context
// ends).
type Limiter struct {
	reqs    chan message   // unbuffered: the actor receives each request
	settles chan settleMsg // buffered, see New
	quit    chan struct{}  // closed by Close
	done    chan struct{}  // closed when the actor goroutine has ended

	closeOnce sync.Once
	pool      sync.Pool // of *acquireReq

	// Owned by the actor goroutine.
	core  *core
	queue queue // queries and sessions waiting, in arrival order
	// turns holds the waiting turns of open sessions, served before the
	// queue: a turn needs no slot, so it never waits behind a query or a
	// session waiting for one.
	turns     queue
	clock     clock.Clock
	log       *slog.Logger
	maxQueued int           // < 0: no cap
	maxWait   time.Duration // 0: none
	timer     *clock.Timer
	armed     bool      // timer is set for deadline
	deadline  time.Time // when the head of the queue may be admitted or must be refused
	current   message   // the message being handled, for panic recovery
	hook      func(message)
	budget    float64 // CostBudgetHourly, immutable: Acquire checks caps against it

	// With a shared store (see store_worker.go); nil channels otherwise.
	work       chan storeOp       // unbuffered: to the worker goroutine
	results    chan storeResult   // unbuffered: from the worker goroutine
	workDone   chan struct{}      // closed when the worker has ended
	changes    <-chan struct{}    // the store's change notifications
	cancelWork context.CancelFunc // ends the worker's calls at shutdown
	pending    []storeOp          // calls not yet handed to the worker, in order
	admitting  *acquireReq        // the waiter whose Admit is with the store
	notBefore  time.Time          // the head is not asked again before this
	waitKnown  bool               // the store said when (not: only a settle helps)
	lastReason Reason             // the limit of the store's latest refusal

	final Stats // the stats at close; read only after done is closed
}

// Permit is an admission granted by Acquire. Pass it to Settle of the
// same Limiter once the query is over; settling it again does nothing.
// The zero Permit is not an admission and Settle ignores it.
type Permit struct {
	id uint64

	// CapUSD is how many USD this query may spend: its reservation,
	// held for it until Settle. It is at least MinCapUSD when the budget
	// is on; with the budget off it is the cap the query asked for (0:
	// none).
	CapUSD float64

	// WaitedOn is the limit that held the admission last before it was
	// granted (the one whose freeing admitted it); the zero Reason when
	// it did not wait, or waited only behind others. Only a Wait whose
	// Request has Queued set gets it: naming the limit costs the actor
	// work that a caller who does not ask is spared.
	WaitedOn Reason
}

// Stats is a snapshot of a Limiter.
type Stats struct {
	MinuteTokens, HourTokens float64   // tokens left in each window; -1 when the window is off
	SpentUSD                 float64   // charged in the last 60 minutes
	ReservedUSD              float64   // reserved by queries in flight
	BudgetUSD                float64   // the hourly budget; Unlimited (-1) when off
	QueryBudgetUSD           float64   // the cap of a query that asks for none; Unlimited (-1) with the budget off
	InFlight                 int       // admitted, not yet settled
	Queued                   int       // waiting in Acquire
	PausedUntil              time.Time // the latest Pause, even if past; zero if none
	Admitted                 uint64    // admissions, minus those undone by a cancellation
	Refused                  uint64    // Acquire calls refused with ErrQueueFull or a *WaitError
}

// settleBuffer is the capacity of the settle channel. Settle needs no
// reply, so a buffer lets it return without waiting for the actor; the
// actor empties the buffer before handling any other request, so a
// Settle is always applied before anything the same caller does next.
// When the buffer is full, Settle sends its settle as a request instead.
const settleBuffer = 64

// New validates cfg, applies the defaults and starts the limiter's
// goroutine. The caller must call Close.
func New(cfg Config) (*Limiter, error) {
	return newLimiter(cfg, nil)
}

// newLimiter is New with a hook called by the actor before it handles
// each message; tests use it to make the actor panic.
func newLimiter(cfg Config, hook func(message)) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := &Limiter{
		reqs:      make(chan message),
		settles:   make(chan settleMsg, settleBuffer),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		core:      newCore(cfg),
		clock:     cfg.Clock,
		log:       cfg.Logger,
		maxQueued: cfg.MaxQueued,
		maxWait:   cfg.MaxWait,
		hook:      hook,
		budget:    cfg.CostBudgetHourly,
	}
	l.pool.New = func() any { return &acquireReq{reply: make(chan acquireResult, 2)} } // see acquireReq.reply
	l.timer = l.clock.Timer(time.Hour)
	l.timer.Stop()
	if cfg.Store != nil {
		l.startWorker(cfg.Store)
	}
	go l.run()
	return l, nil
}

// Acquire waits until the query may run and returns its Permit, which the
// caller must Settle. Waiters are served strictly in arrival order.
// capUSD is the most the query may spend (0: Config.QueryBudget); with
// the budget on, the Permit's CapUSD is capUSD or what is unreserved at
// admission, if less.
//
// It returns ctx's error if ctx ends first (the caller then consumed
// nothing), ErrQueueFull when MaxQueued callers are already waiting, a
// *WaitError when MaxWait is set and the wait would exceed it, ErrClosed
// when the limiter is closed, ErrInvalidCap for a capUSD that is negative,
// NaN, infinite, under MinCapUSD or over the budget, and a *PanicError if
// the limiter recovered from an internal panic while the caller waited.
func (l *Limiter) Acquire(ctx context.Context, capUSD float64) (Permit, error) {
	return l.Wait(ctx, Request{Kind: KindQuery, CapUSD: capUSD})
}

// AcquireSession waits for a concurrency slot for a session, which holds
// it until its Permit is settled (with a cost of 0: its turns are charged
// on their own permits). It takes no window token and no reservation, so
// neither the pause nor the budget keeps it waiting; it queues with the
// queries, in arrival order, and fails as Acquire does.
func (l *Limiter) AcquireSession(ctx context.Context) (Permit, error) {
	return l.Wait(ctx, Request{Kind: KindSession})
}

// AcquireTurn waits until a turn of an open session may run: it takes a
// token of every window and a reservation, as Acquire, but no concurrency
// slot (its session holds one). Turns wait in a queue of their own, served
// first, so a turn never waits behind a query or a session waiting for a
// slot. It fails as Acquire does.
func (l *Limiter) AcquireTurn(ctx context.Context, capUSD float64) (Permit, error) {
	return l.Wait(ctx, Request{Kind: KindTurn, CapUSD: capUSD})
}

// Request is one admission to wait for, as Wait takes it.
type Request struct {
	Kind   Kind
	CapUSD float64 // as Acquire's capUSD; a session's is ignored
	// Queued, when set, is called once in Wait's goroutine if the
	// admission must wait in the queue, with the limit it waits on (the
	// zero Reason: only behind others) and how many wait ahead of it; the
	// Permit then names the limit it waited on last (Permit.WaitedOn). It
	// must return quickly: the caller's wait goes on after it.
	Queued func(reason Reason, ahead int)
}

// Wait waits for the admission req asks for: Acquire, AcquireSession and
// AcquireTurn are Wait with req's Kind. It fails as Acquire does.
func (l *Limiter) Wait(ctx context.Context, req Request) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	capUSD := req.CapUSD
	if req.Kind == KindSession {
		capUSD = 0
	}
	if err := l.checkCap(capUSD); err != nil {
		return Permit{}, err
	}
	r := l.pool.Get().(*acquireReq)
	r.capUSD, r.kind, r.notify = capUSD, req.Kind, req.Queued != nil
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		l.pool.Put(r)
		return Permit{}, ctx.Err()
	case <-l.done:
		l.pool.Put(r)
		return Permit{}, ErrClosed
	}
	for {
		select {
		case res := <-r.reply:
			if res.queued {
				req.Queued(res.reason, res.ahead)
				continue
			}
			l.pool.Put(r)
			return res.permit, res.err
		case <-ctx.Done():
			// The actor may have granted r meanwhile; cancel undoes that.
			// r is not pooled again: the actor may still look at it.
			l.send(&cancelReq{req: r})
			return Permit{}, ctx.Err()
		case <-l.done:
			for {
				select {
				case res := <-r.reply:
					if !res.queued {
						return res.permit, res.err
					}
				default:
					return Permit{}, ErrClosed
				}
			}
		}
	}
}

// Settle charges costUSD for the query of p, replacing its reservation,
// and frees its concurrency slot. Settling a permit again, or the zero
// Permit, does nothing. A negative, NaN or infinite cost is logged and
// charged as the reservation. Settle never blocks on a closed limiter.
func (l *Limiter) Settle(p Permit, costUSD float64) {
	if p.id == 0 {
		return
	}
	m := settleMsg{id: p.id, cost: costUSD}
	if costUSD != 0 {
		m.at = l.clock.Now() // the time of the charge; a zero cost charges nothing
	}
	select {
	case l.settles <- m:
	default:
		l.send(&settleReq{m})
	}
}

// Release takes back the admission of p as if it never happened, as for
// an Acquire cancelled after its grant: its slot and reservation are freed
// and it is no longer counted as admitted; its window tokens are refunded
// if no admission came after it (otherwise they stay spent, which can only
// make the windows stricter). Use it instead of Settle for a query that
// was refused after admission without running. Releasing a settled or
// released permit, or the zero Permit, does nothing.
func (l *Limiter) Release(p Permit) {
	if p.id == 0 {
		return
	}
	l.send(&releaseReq{id: p.id})
}

// Pause forbids admissions before until, as after a rate-limit answer
// from the server. A later until extends the pause; an earlier one
// changes nothing.
func (l *Limiter) Pause(until time.Time) {
	l.send(&pauseReq{until: until})
}

// Unpause lifts the pause set by Pause at once: waiters held only by it
// are admitted, and Stats reports no pause. A later Pause pauses again.
func (l *Limiter) Unpause() {
	l.send(&unpauseReq{})
}

// Stats returns a snapshot of the limiter. After Close it returns the
// snapshot taken when the limiter closed.
func (l *Limiter) Stats() Stats {
	r := &statsReq{reply: make(chan Stats, 1)}
	if !l.send(r) {
		return l.final
	}
	select {
	case s := <-r.reply:
		return s
	case <-l.done:
		select {
		case s := <-r.reply:
			return s
		default:
			return l.final
		}
	}
}

// Close stops the limiter: every waiting Acquire returns ErrClosed, later
// calls fail at once, and the limiter's goroutine has ended when Close
// returns. With a shared store, the settles not yet sent are sent first
// (for at most closeFlush) and the store is closed. Close is idempotent and safe to call from many goroutines; it
// always returns nil.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() { close(l.quit) })
	<-l.done
	return nil
}

// Serve blocks until ctx ends, then closes the limiter and returns
// ctx.Err(), or until the limiter is closed by someone else, then returns
// ErrClosed (at once if it already is, so that a supervisor can tell a
// closed limiter from a failed one). It lets a supervisor such as suture
// own the limiter's lifetime; the limiter's work does not depend on Serve
// running.
func (l *Limiter) Serve(ctx context.Context) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	select {
	case <-ctx.Done():
		l.Close()
		return ctx.Err()
	case <-l.done:
		return ErrClosed
	}
}

// Budget returns the hourly budget in USD (CostBudgetHourly with its
// default applied), Unlimited when it is off. It is fixed at New, so it
// costs no round trip to the actor.
func (l *Limiter) Budget() float64 { return l.budget }

// checkCap returns ErrInvalidCap, wrapped with why, for a cap Acquire
// cannot grant.
func (l *Limiter) checkCap(capUSD float64) error {
	switch {
	case capUSD == 0:
		return nil
	case !(capUSD >= MinCapUSD) || math.IsInf(capUSD, 1):
		return fmt.Errorf("%w: %v USD: must be a finite amount of at least %v USD", ErrInvalidCap, capUSD, MinCapUSD)
	case l.budget >= 0 && capUSD > l.budget:
		return fmt.Errorf("%w: %v USD: more than the whole hourly budget (%v USD)", ErrInvalidCap, capUSD, l.budget)
	}
	return nil
}

// send hands m to the actor and reports whether it took it (false once
// the limiter is closed).
func (l *Limiter) send(m message) bool {
	select {
	case l.reqs <- m:
		return true
	case <-l.done:
		return false
	}
}
