package otel

import (
	"container/list"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// openSpans are the spans of the queries not yet ended, by query id, in
// the order they started: bounded, the oldest evicted first. Safe for
// concurrent use: Trace adds from the queries' goroutines, the observer's
// goroutine takes.
type openSpans struct {
	mu    sync.Mutex
	max   int
	byID  map[uint64]*list.Element // of order, whose values are openSpan
	order list.List
}

type openSpan struct {
	id   uint64
	span trace.Span
}

func newOpenSpans(max int) *openSpans {
	return &openSpans{max: max, byID: make(map[uint64]*list.Element)}
}

// add keeps span as query id's. It returns the span it evicted to make
// room, or nil: the caller ends it, outside the lock.
func (s *openSpans) add(id uint64, span trace.Span) (evicted trace.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[id]; ok { // the same id twice: keep the newer
		evicted = s.order.Remove(old).(openSpan).span
		delete(s.byID, id)
	} else if len(s.byID) >= s.max {
		front := s.order.Front()
		o := s.order.Remove(front).(openSpan)
		delete(s.byID, o.id)
		evicted = o.span
	}
	s.byID[id] = s.order.PushBack(openSpan{id, span})
	return evicted
}

// get returns query id's span, or nil.
func (s *openSpans) get(id uint64) trace.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byID[id]; ok {
		return e.Value.(openSpan).span
	}
	return nil
}

// take removes query id's span and returns it, or nil.
func (s *openSpans) take(id uint64) trace.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return nil
	}
	delete(s.byID, id)
	return s.order.Remove(e).(openSpan).span
}

// each calls f for every open span, oldest first, under the lock.
func (s *openSpans) each(f func(trace.Span)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := s.order.Front(); e != nil; e = e.Next() {
		f(e.Value.(openSpan).span)
	}
}
