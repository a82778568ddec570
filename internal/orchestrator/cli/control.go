package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// ControlHandler answers one control request of the CLI's (can_use_tool,
// hook_callback, mcp_message...). It runs on a goroutine of its own, off
// the path that reads the CLI, recovered, through Options.Callbacks (whose
// owner waits for it at Close); ctx ends when the CLI withdraws the request
// (control_cancel_request), is stopped, or ends. Requests of the CLI are
// routed by the reader of stdout as they come, whatever the stream's
// consumer is doing. Its response, any JSON value (nil: {}), or its error
// is sent back once; a panic is answered as an error. While a handler
// runs, the idle timeout does not count.
type ControlHandler func(ctx context.Context, req *protocol.ControlRequest) (response any, err error)

// ErrCLIEnded is the error of a control request of the host's still
// waiting when the CLI ended (every line it wrote has been read, so no
// answer can come) or was stopped.
var ErrCLIEnded = errors.New("agent: claude CLI ended before answering the control request")

// DefaultControlTimeout bounds a control request of the host's whose
// context has no earlier deadline.
const DefaultControlTimeout = 30 * time.Second

// Controller sends the host's control requests to a running CLI. Get one
// from Request.OnStart; it is safe for concurrent use, from the stream's
// loop body too, and valid until the stream ends (then every call fails
// with ErrCLIEnded or ErrStdinClosed). The answers are read by the reader
// of stdout, which runs ahead of the stream's consumer by up to 1 MiB of
// messages (inboxBytes): an answer behind more than that waits for the
// consumer to read.
type Controller struct{ c *control }

// Request sends a control request of subtype with fields next to
// "subtype" and waits for its answer, at most ctx and the controller's
// timeout, both of which also bound the wait to write it (behind a long
// turn, or to a CLI that does not read). An error answer is an error
// carrying its message.
func (k *Controller) Request(ctx context.Context, subtype string, fields map[string]any) (*protocol.ControlResponse, error) {
	return k.c.request(ctx, subtype, fields)
}

// Interrupt asks the CLI to stop the turn it is working on; the turn then
// ends with its result, and the CLI takes the next turn.
func (k *Controller) Interrupt(ctx context.Context) error {
	_, err := k.c.request(ctx, protocol.ControlInterrupt, nil)
	return err
}

// SetModel switches the model of the following turns.
func (k *Controller) SetModel(ctx context.Context, model string) error {
	_, err := k.c.request(ctx, protocol.ControlSetModel, map[string]any{"model": model})
	return err
}

// SetPermissionMode switches the permission mode (e.g. "acceptEdits").
func (k *Controller) SetPermissionMode(ctx context.Context, mode string) error {
	_, err := k.c.request(ctx, protocol.ControlSetPermissionMode, map[string]any{"mode": mode})
	return err
}

// control is one CLI's end of the control protocol: the writer of stdin
// that user turns and control lines share, the host's requests waiting for
// their answers, and the CLI's requests being handled.
type control struct {
	stdin    *os.File // written by writeLoop only
	handlers map[string]ControlHandler
	guard    *callback.Guard
	idle     *watchdog
	timeout  time.Duration
	ctx      context.Context // ends when the CLI is stopped or ends (end): handlers' contexts derive from it
	cancel   context.CancelFunc

	jobs       chan writeJob // to writeLoop; unbuffered: a handed line is being written
	closing    chan struct{} // closed by closeStdin
	writerDone chan struct{} // writeLoop returned
	// poke is sent to (never blocking: a buffer of one) after a control
	// line is written, with how long the reader of stdout should look for
	// the CLI's reply without waiting (see the follower's spin).
	poke chan time.Duration

	session bool // Request.Session: stdin stays open across results
	// ready is closed once the initialize (if any) is answered: no turn
	// is written before it.
	ready chan struct{}

	mu          sync.Mutex
	ownerClosed bool                                      // CloseInput was called
	turns       int                                       // user turns written whose result has not come yet
	closed      bool                                      // stdin closed
	ended       bool                                      // the CLI ended: no more answers
	nextID      uint64                                    // of the host's requests
	pending     map[string]chan *protocol.ControlResponse // the host's requests, by id
	running     map[string]context.CancelFunc             // the CLI's requests being handled, by id
}

func newControl(pctx context.Context, stdin *os.File, handlers map[string]ControlHandler, g *callback.Guard, idle *watchdog, timeout time.Duration, session bool) *control {
	ctx, cancel := context.WithCancel(pctx) // ends when the CLI is stopped, or ends (end)
	c := &control{
		stdin: stdin, handlers: handlers, guard: g, idle: idle, timeout: timeout, session: session,
		ctx: ctx, cancel: cancel, poke: make(chan time.Duration, 1), ready: make(chan struct{}),
		jobs: make(chan writeJob), closing: make(chan struct{}), writerDone: make(chan struct{}),
		pending: make(map[string]chan *protocol.ControlResponse),
		running: make(map[string]context.CancelFunc),
	}
	if session {
		idle.hold() // between turns until the first one
	}
	return c
}

// request sends a control request of the host's and waits for its answer.
func (c *control) request(ctx context.Context, subtype string, fields map[string]any) (*protocol.ControlResponse, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errNoAnswer)
	defer cancel()
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return nil, ErrCLIEnded
	}
	c.nextID++
	id := "req_" + strconv.FormatUint(c.nextID, 10)
	answer := make(chan *protocol.ControlResponse, 1) // the reader never blocks on it
	c.pending[id] = answer
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	line, err := protocol.ControlRequestLine(id, subtype, fields)
	if err != nil {
		return nil, err
	}
	if err := c.writeControl(ctx, line, requestSpin); err != nil {
		return nil, c.requestError(ctx, subtype, err)
	}
	select {
	case r, ok := <-answer:
		switch {
		case !ok:
			return nil, fmt.Errorf("agent: control request %s: %w", subtype, ErrCLIEnded)
		case r.Subtype == "error":
			return r, fmt.Errorf("agent: control request %s refused by the claude CLI: %s", subtype, r.Error)
		}
		return r, nil
	case <-ctx.Done():
		return nil, c.requestError(ctx, subtype, ctx.Err())
	}
}

// errNoAnswer is the cause of a host's request's context at its timeout.
var errNoAnswer = errors.New("no answer")

// requestError is the error of the host's request subtype that failed
// with err, saying so when its timeout, not its caller, ended it.
func (c *control) requestError(ctx context.Context, subtype string, err error) error {
	if errors.Is(context.Cause(ctx), errNoAnswer) {
		return fmt.Errorf("agent: control request %s: no answer within %v", subtype, c.timeout)
	}
	return fmt.Errorf("agent: control request %s: %w", subtype, err)
}

// route handles one control line the CLI wrote; it never blocks on a
// handler.
func (c *control) route(msg protocol.Message) {
	switch m := msg.(type) {
	case *protocol.ControlResponse:
		c.mu.Lock()
		answer := c.pending[m.RequestID]
		delete(c.pending, m.RequestID)
		c.mu.Unlock()
		if answer != nil { // else: an answer to nothing we asked, or too late
			answer <- m
		}
	case *protocol.ControlCancel:
		c.mu.Lock()
		cancel := c.running[m.RequestID]
		delete(c.running, m.RequestID) // withdrawn: never answered
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case *protocol.ControlRequest:
		c.handle(m)
	}
}

// handle starts the handler of one of the CLI's requests.
func (c *control) handle(r *protocol.ControlRequest) {
	c.mu.Lock()
	h := c.handlers[r.Subtype]
	c.mu.Unlock()
	if h == nil { // answered like any other: off the reading path
		h = func(context.Context, *protocol.ControlRequest) (any, error) {
			return nil, fmt.Errorf("unsupported control request subtype %s", strconv.Quote(r.Subtype))
		}
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		cancel()
		return
	}
	if _, dup := c.running[r.RequestID]; dup {
		c.mu.Unlock()
		cancel()
		c.guard.Go("control duplicate", func() { // off the reading path, like any answer
			c.write(c.ctx, protocol.ControlErrorLine(r.RequestID, "duplicate request_id "+strconv.Quote(r.RequestID)+" while the first is handled")) //nolint:errcheck // a CLI that is gone needs no answer
		})
		return
	}
	c.running[r.RequestID] = cancel
	c.mu.Unlock()
	name := "control " + r.Subtype
	c.guard.Go(name, func() {
		defer cancel()
		c.idle.hold() // the CLI waits for the answer: not idle
		defer c.idle.release()
		var resp any
		var herr error
		if perr := c.guard.Do(name, func() { resp, herr = h(ctx, r) }); perr != nil {
			herr = perr
		}
		c.answer(r.RequestID, resp, herr)
	})
}

// answer sends the answer to the CLI's request id, unless it was withdrawn
// or the CLI ended: each request is answered at most once.
func (c *control) answer(id string, resp any, err error) {
	c.mu.Lock()
	_, live := c.running[id]
	delete(c.running, id)
	c.mu.Unlock()
	if !live {
		return
	}
	var line []byte
	if err == nil {
		line, err = protocol.ControlSuccessLine(id, resp) // err: a response that does not marshal
	}
	if err != nil {
		line = protocol.ControlErrorLine(id, err.Error())
	}
	c.writeControl(c.ctx, line, answerSpin) //nolint:errcheck // a CLI that is gone needs no answer
}

// setHandlers replaces the handlers of the CLI's requests (a warm
// process's, at its claim and its release); a request being handled keeps
// its handler.
func (c *control) setHandlers(h map[string]ControlHandler) {
	c.mu.Lock()
	c.handlers = h
	c.mu.Unlock()
}

// end is called once every line of the CLI's has been read (by the reader
// of stdout, at the end), or when the CLI is stopped: the host's requests
// still waiting fail at once, the handlers' contexts end, stdin closes.
func (c *control) end() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	for id, answer := range c.pending {
		close(answer)
		delete(c.pending, id)
	}
	clear(c.running) // their contexts end with c.ctx: no answer goes out
	c.mu.Unlock()
	c.cancel()
}
