package breaker

import (
	"log/slog"
	"sync"
	"time"
)

// Event is a change of state, as delivered to subscribers.
type Event struct {
	From, To State
	// At is when the change happened, on the breaker's clock (for the
	// reset that follows a recovered panic: the last time the breaker read
	// its clock, which may be earlier).
	At time.Time
	// Counts are the counts of the state being left, from the moment it was
	// entered until this change.
	Counts Counts
}

// subscriber delivers events to one callback, in order, on its own
// goroutine, so that a slow, blocked or panicking callback can neither stall
// nor kill the breaker. Its queue is unbounded but owned: only the actor
// pushes, only the delivery goroutine pops. Changes of state are rare (each
// open lasts at least Timeout), so a stuck callback grows it slowly.
type subscriber struct {
	fn  func(Event)
	log *slog.Logger

	mu    sync.Mutex
	queue []Event

	wake     chan struct{} // buffer 1: one pending wake-up is enough
	stop     chan struct{} // closed by stopOnce
	stopOnce sync.Once
}

func newSubscriber(fn func(Event), log *slog.Logger) *subscriber {
	return &subscriber{
		fn:   fn,
		log:  log,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
}

// push queues ev without blocking.
func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// halt makes the delivery goroutine return before its next event; the call
// in progress, if any, runs to its end. Safe to call more than once.
func (s *subscriber) halt() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// deliver is the delivery goroutine: it runs until halt.
func (s *subscriber) deliver() {
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			ev, ok := s.pop()
			if !ok {
				break
			}
			s.call(ev)
		}
	}
}

func (s *subscriber) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Event{}, false
	}
	ev := s.queue[0]
	s.queue[0] = Event{}
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	return ev, true
}

// call runs the callback, recovering and logging a panic.
func (s *subscriber) call(ev Event) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(s.log, "breaker: subscriber panicked", "panic", v, "from", ev.From.String(), "to", ev.To.String())
		}
	}()
	s.fn(ev)
}
