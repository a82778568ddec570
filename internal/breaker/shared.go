package breaker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// SharedState is the seam between a Breaker and the state the breakers of
// a fleet share: the fleet's last trip, and the half-open probe slots of
// that trip. [NewMemoryState] keeps it in memory (the default: a fleet of
// one process); package redisstate keeps it in Redis.
//
// What is shared, and what is not: each process counts its own outcomes
// (runs of failures and successes, totals, Stats) and decides by itself
// when they trip its circuit. It then publishes the trip, and the other
// processes open too, for what is left of the trip's open time. When the
// open time is over, the half-open probes of the whole fleet are limited
// to HalfOpenRequests at once; the process whose probes close the circuit
// publishes that, and the others close too. No lock is held while a call
// runs: each method is one short atomic step on the shared state
// (compare-and-set, or a script), and a probe slot is a lease taken before
// the call and given back after it.
//
// The Breaker makes these calls off its actor's loop, each under a
// context with Config.SharedTimeout; when one fails, the breaker goes on
// with its local state (its own trips and its own probe cap), so a shared
// state that is down or slow never hangs a caller for longer than the
// timeout.
//
// Implementations must be safe for concurrent use.
type SharedState interface {
	// Trip publishes that this process's circuit opened for openFor,
	// decided over the fleet trip seen (0: none). If the fleet's last
	// trip is still seen, a new trip (generation seen+1, open for
	// openFor, with no probes) is stored and announced; if another
	// process tripped first, its trip stands. Trip returns the fleet's
	// state after the call.
	Trip(ctx context.Context, seen uint64, openFor time.Duration) (Fleet, error)
	// CloseCircuit publishes that this process's probes closed the
	// circuit after trip gen. It changes nothing if the fleet has moved
	// past gen. It returns the fleet's state after the call.
	CloseCircuit(ctx context.Context, gen uint64) (Fleet, error)
	// Load returns the fleet's state.
	Load(ctx context.Context) (Fleet, error)
	// TakeProbe takes a half-open probe slot of trip gen, identified by
	// id (unique within this process), if fewer than limit are taken
	// fleet-wide; ok is false when all are, or when the fleet's last trip
	// is not gen or is not half-open. It returns the fleet's state too.
	TakeProbe(ctx context.Context, gen, id uint64, limit int) (ok bool, f Fleet, err error)
	// ReturnProbe gives back the slot id of trip gen. Slots of a process
	// that dies holding them expire (see the implementation).
	ReturnProbe(ctx context.Context, gen, id uint64) error
	// Subscribe calls notify, which must not block, whenever the fleet's
	// state may have changed (the Breaker then calls Load), until cancel.
	Subscribe(notify func()) (cancel func())
}

// Fleet is the fleet's state, as read from a SharedState.
type Fleet struct {
	// Gen is the generation of the fleet's last trip; 0: none yet.
	Gen uint64
	// Closed says that trip Gen ended: probes closed the circuit.
	Closed bool
	// Open is what was left of trip Gen's open time when it was read;
	// 0 once it is over (the fleet is half-open, unless Closed).
	Open time.Duration
}

// MemoryState is a SharedState in memory, shared by the breakers of one
// process that are given the same one: the default of a Breaker, which
// then makes a fleet of one. Its zero value is not usable: create one with
// NewMemoryState. It is safe for concurrent use and starts no goroutine.
type MemoryState struct {
	clock clock.Clock

	mu     sync.Mutex
	gen    uint64
	closed bool
	until  time.Time
	probes []uint64
	subs   Notifiers
}

var _ SharedState = (*MemoryState)(nil)

// NewMemoryState returns an empty MemoryState reading time from clk (nil:
// the real clock).
func NewMemoryState(clk clock.Clock) *MemoryState {
	if clk == nil {
		clk = clock.New()
	}
	return &MemoryState{clock: clk}
}

// Trip implements SharedState.
func (s *MemoryState) Trip(_ context.Context, seen uint64, openFor time.Duration) (Fleet, error) {
	s.mu.Lock()
	changed := s.gen == seen
	if changed {
		s.gen++
		s.closed, s.until, s.probes = false, s.clock.Now().Add(openFor), s.probes[:0]
	}
	f := s.fleetLocked()
	s.mu.Unlock()
	if changed {
		s.subs.Announce()
	}
	return f, nil
}

// CloseCircuit implements SharedState.
func (s *MemoryState) CloseCircuit(_ context.Context, gen uint64) (Fleet, error) {
	s.mu.Lock()
	changed := s.gen == gen && !s.closed
	if changed {
		s.closed, s.until, s.probes = true, time.Time{}, s.probes[:0]
	}
	f := s.fleetLocked()
	s.mu.Unlock()
	if changed {
		s.subs.Announce()
	}
	return f, nil
}

// Load implements SharedState.
func (s *MemoryState) Load(context.Context) (Fleet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fleetLocked(), nil
}

// TakeProbe implements SharedState.
func (s *MemoryState) TakeProbe(_ context.Context, gen, id uint64, limit int) (bool, Fleet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fleetLocked()
	if f.Gen != gen || f.Closed || f.Open > 0 || len(s.probes) >= limit {
		return false, f, nil
	}
	s.probes = append(s.probes, id)
	return true, f, nil
}

// ReturnProbe implements SharedState.
func (s *MemoryState) ReturnProbe(_ context.Context, gen, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.probes, id); s.gen == gen && i >= 0 {
		s.probes = slices.Delete(s.probes, i, i+1)
	}
	return nil
}

// Subscribe implements SharedState.
func (s *MemoryState) Subscribe(notify func()) (cancel func()) {
	return s.subs.Subscribe(notify)
}

func (s *MemoryState) fleetLocked() Fleet {
	f := Fleet{Gen: s.gen, Closed: s.closed}
	if !s.closed && s.gen > 0 {
		f.Open = max(0, s.until.Sub(s.clock.Now()))
	}
	return f
}

// Notifiers is the set of notify functions a SharedState implementation
// hands its subscribers' announcements to (SharedState.Subscribe). The
// zero value is ready; it is safe for concurrent use.
type Notifiers struct {
	mu   sync.Mutex
	subs map[*func()]struct{}
}

// Subscribe adds notify; cancel removes it.
func (n *Notifiers) Subscribe(notify func()) (cancel func()) {
	key := &notify
	n.mu.Lock()
	if n.subs == nil {
		n.subs = make(map[*func()]struct{})
	}
	n.subs[key] = struct{}{}
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		delete(n.subs, key)
		n.mu.Unlock()
	}
}

// Announce calls every notify, outside the lock.
func (n *Notifiers) Announce() {
	n.mu.Lock()
	fns := make([]func(), 0, len(n.subs))
	for fn := range n.subs {
		fns = append(fns, *fn)
	}
	n.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
