package cli

import (
	"errors"
	"sync"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// JSON lines out: one goroutine per process (read) reads the CLI's stdout
// to its end, whoever consumes it and however slowly. Control lines go to
// the control protocol as they are read, so that an answer to the host or
// a request of the CLI never waits for the stream's consumer (a loop body
// may call Controller.Interrupt); every other message goes to an inbox
// that the stream's iterator takes from, in order.

// inboxBytes is how far (in line bytes) the reader runs ahead of the
// stream's consumer before it waits for room; a control line further
// behind waits for the consumer. The inbox always takes one message,
// however long.
const inboxBytes = 1 << 20

// inboxItem is one message for the consumer, or a message that did not
// decode (err, a *protocol.DecodeError).
type inboxItem struct {
	msg  protocol.Message
	err  error
	size int
}

// inbox holds the messages the reader has read and the consumer has not
// taken, up to inboxBytes. Once the consumer has left (leave), what it did
// not take, and every message read after, goes to drain instead, from one
// goroutine at a time. Safe for concurrent use by the reader and the
// consumer.
type inbox struct {
	drain func(protocol.Message) // Request.Drain; may be nil

	mu     sync.Mutex
	items  []inboxItem
	bytes  int
	closed bool  // the reader is done: no more items
	err    error // why it is done, when the consumer must be told (a line too long)
	left   bool  // the consumer has left: items go to drain
	// ready wakes the consumer (an item or the end), room wakes the reader
	// (space, or the consumer left); each has a buffer of one: a wake-up
	// pending is as good as many.
	ready, room chan struct{}
}

func newInbox(drain func(protocol.Message)) *inbox {
	return &inbox{drain: drain, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// put adds an item for the consumer, waiting while the inbox is full and
// the consumer is there; hold and release bracket that wait (the idle
// watchdog's: a consumer that reads slowly is not a silent CLI).
func (b *inbox) put(it inboxItem, hold, release func()) {
	b.mu.Lock()
	for !b.left && len(b.items) > 0 && b.bytes+it.size > inboxBytes {
		b.mu.Unlock()
		hold()
		<-b.room
		release()
		b.mu.Lock()
	}
	if b.left {
		queued := b.takeAll()
		b.mu.Unlock()
		b.drainAll(append(queued, it))
		return
	}
	b.items = append(b.items, it)
	b.bytes += it.size
	b.mu.Unlock()
	wake(b.ready)
}

// fail records why the reader stops early (a line too long), before the
// CLI is stopped for it: the consumer is then given the items read before
// it, then err (a stop of any other cause cuts the items short).
func (b *inbox) fail(err error) {
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
}

// failed reports whether fail was called.
func (b *inbox) failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err != nil
}

// close is the reader's last call: no item follows.
func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	var queued []inboxItem
	if b.left {
		queued = b.takeAll()
	}
	b.mu.Unlock()
	b.drainAll(queued)
	wake(b.ready)
}

// take returns the next item, waiting for one; ok is false once the reader
// is done and every item was taken, with the reader's final error.
func (b *inbox) take() (it inboxItem, ok bool, err error) {
	for {
		b.mu.Lock()
		if len(b.items) > 0 {
			it = b.items[0]
			b.items[0] = inboxItem{}
			b.items = b.items[1:]
			b.bytes -= it.size
			b.mu.Unlock()
			wake(b.room)
			return it, true, nil
		}
		if b.closed {
			err = b.err
			b.mu.Unlock()
			return inboxItem{}, false, err
		}
		b.mu.Unlock()
		<-b.ready
	}
}

// leave is the consumer's last call: what it did not take goes to drain,
// here if the reader is done, else from the reader's goroutine.
func (b *inbox) leave() {
	b.mu.Lock()
	if b.left {
		b.mu.Unlock()
		return
	}
	b.left = true
	var queued []inboxItem
	if b.closed {
		queued = b.takeAll()
	}
	b.mu.Unlock()
	b.drainAll(queued)
	wake(b.room)
}

// setDrain sets where the messages the consumer leaves go (a warm
// process's, at its claim).
func (b *inbox) setDrain(drain func(protocol.Message)) {
	b.mu.Lock()
	b.drain = drain
	b.mu.Unlock()
}

// detach empties the inbox and unsets drain, for a warm process handed
// back after its stream (which has not left): it returns what was queued.
func (b *inbox) detach() []inboxItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drain = nil
	return b.takeAll()
}

// takeAll empties the inbox; b.mu is held.
func (b *inbox) takeAll() []inboxItem {
	items := b.items
	b.items, b.bytes = nil, 0
	return items
}

func (b *inbox) drainAll(items []inboxItem) {
	b.mu.Lock()
	drain := b.drain
	b.mu.Unlock()
	if drain == nil {
		return
	}
	for _, it := range items {
		if it.err == nil && it.msg != nil {
			drain(it.msg)
		}
	}
}

// read is the reader goroutine: it reads stdout to its end (the CLI's
// exit, or its stop), routes control lines, gives the rest to p.inbox,
// closes stdout, and then fails the host's control requests still waiting
// (every answer the CLI wrote has been read by then).
func (p *process) read(maxLine int) {
	defer close(p.stdoutDone)
	defer p.stdout.Close()
	lines := newLineReader(p.stdout, maxLine)
	var prevCost float64 // the process's cumulative cost at the last result
	for {
		line, err := lines.next()
		if err != nil {
			var tooLong *protocol.LineTooLongError
			if errors.As(err, &tooLong) {
				p.inbox.fail(err)
				p.stop(err)
			}
			break // EOF, stopped, or stdout closed under us: the end either way
		}
		p.idle.reset()
		msg, ok, err := decodeLine(line)
		switch {
		case !ok:
			continue // noise, e.g. a warning printed on stdout
		case err != nil:
			p.inbox.put(inboxItem{err: err, size: len(line)}, p.idle.hold, p.idle.release)
			continue
		}
		switch m := msg.(type) {
		case *protocol.ControlRequest, *protocol.ControlResponse, *protocol.ControlCancel:
			p.ctl.route(msg) // the transport's business: never yielded
			continue
		case *protocol.ResultMessage:
			m.TurnCostUSD = turnCost(m, &prevCost)
			p.ctl.resultDone() // a one-shot's stdin closes: its one turn is done
		}
		p.inbox.put(inboxItem{msg: msg, size: len(line)}, p.idle.hold, p.idle.release)
	}
	p.ctl.end()
	p.inbox.close()
}
