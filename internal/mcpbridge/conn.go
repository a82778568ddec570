package mcpbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrClosed is the error of a message handed to a closed Conn, or of a
// call still waiting when its session closed.
var ErrClosed = errors.New("mcpbridge: connection closed")

// Conn is one CLI process's connection to a Server: a server session of
// the SDK's over an in-memory transport, whose other end this type holds
// for the CLI. The CLI may initialize again (2.1.197 sends a second
// initialize, with the same id, once the first is answered): each
// initialize after the first starts a new session, as a new MCP client
// would, and the old one is closed. Open one with Server.Open; it is safe
// for concurrent use (the CLI sends calls concurrently). Its owner must
// Close it, which stops its goroutines (the sessions' and the ones reading
// responses) and waits for them.
type Conn struct {
	srv *Server
	run Runner

	mu          sync.Mutex
	closed      bool
	cur         *session
	initialized bool // cur has had its initialize
}

// session is one server session and the CLI's end of its transport.
type session struct {
	srv      *Server
	ss       *mcp.ServerSession
	conn     mcp.Connection // the CLI's end
	readDone chan struct{}  // closed when read returns

	mu      sync.Mutex
	pending map[any]chan *jsonrpc.Response // the CLI's calls, by id (ID.Raw)
}

// Open connects the server for one CLI process, whose tool handlers run
// through run. ctx's values reach the sessions; its end does not (the
// connection lasts until Close).
func (s *Server) Open(ctx context.Context, run Runner) (*Conn, error) {
	if run == nil {
		return nil, errors.New("mcpbridge: Open needs a Runner")
	}
	c := &Conn{srv: s, run: run}
	cur, err := s.connect(ctx, run)
	if err != nil {
		return nil, err
	}
	c.cur = cur
	return c, nil
}

// connect starts a session of the server.
func (s *Server) connect(ctx context.Context, run Runner) (*session, error) {
	ctx = context.WithoutCancel(ctx)
	serverEnd, cliEnd := mcp.NewInMemoryTransports()
	ss, err := s.mcp.Connect(ctx, serverEnd, nil)
	if err != nil {
		return nil, fmt.Errorf("mcpbridge: connecting server %s: %w", s.name, err)
	}
	// Registered before the CLI's first message is written: every call
	// of the session finds its runner.
	s.mu.Lock()
	s.runners[ss] = run
	s.mu.Unlock()
	conn, err := cliEnd.Connect(ctx)
	if err != nil {
		s.forget(ss)
		ss.Close()
		ss.Wait()
		return nil, fmt.Errorf("mcpbridge: connecting server %s: %w", s.name, err)
	}
	se := &session{srv: s, ss: ss, conn: conn, readDone: make(chan struct{}), pending: make(map[any]chan *jsonrpc.Response)}
	go se.read(ctx)
	return se, nil
}

func (s *Server) forget(ss *mcp.ServerSession) {
	s.mu.Lock()
	delete(s.runners, ss)
	s.mu.Unlock()
}

// Handle hands the server one JSON-RPC message of the CLI's and returns
// the server's JSON-RPC response. A notification (no id) gets an empty
// result, as the CLI expects an answer to every mcp_message. When ctx ends
// before the response (the turn ended, or the CLI withdrew the request),
// the call is cancelled on the server (notifications/cancelled: the
// handler's context ends) and Handle returns ctx's error; the session goes
// on serving.
func (c *Conn) Handle(ctx context.Context, message json.RawMessage) (json.RawMessage, error) {
	msg, err := jsonrpc.DecodeMessage(message)
	if err != nil {
		return nil, fmt.Errorf("mcpbridge: server %s: %w", c.srv.name, err)
	}
	req, _ := msg.(*jsonrpc.Request)
	se, err := c.session(ctx, req)
	if err != nil {
		return nil, err
	}
	if req == nil || !req.ID.IsValid() { // a response to nothing the server asked, or a notification
		if req != nil {
			if err := se.conn.Write(ctx, req); err != nil {
				return nil, se.writeError(err)
			}
		}
		return jsonrpc.EncodeMessage(&jsonrpc.Response{Result: json.RawMessage("{}")})
	}
	return se.call(ctx, req)
}

// session is the session req goes to: a new one for an initialize after
// the first.
func (c *Conn) session(ctx context.Context, req *jsonrpc.Request) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if req == nil || req.Method != "initialize" {
		return c.cur, nil
	}
	if !c.initialized {
		c.initialized = true
		return c.cur, nil
	}
	next, err := c.srv.connect(ctx, c.run)
	if err != nil {
		return nil, err
	}
	old := c.cur
	c.cur = next
	old.close()
	return next, nil
}

// call sends the CLI's call req and waits for its response.
func (se *session) call(ctx context.Context, req *jsonrpc.Request) (json.RawMessage, error) {
	id := req.ID.Raw()
	answer := make(chan *jsonrpc.Response, 1) // read never blocks on it
	se.mu.Lock()
	if _, dup := se.pending[id]; dup {
		se.mu.Unlock()
		return nil, fmt.Errorf("mcpbridge: server %s: request id %v is already waiting", se.srv.name, id)
	}
	se.pending[id] = answer
	se.mu.Unlock()
	defer func() {
		se.mu.Lock()
		delete(se.pending, id)
		se.mu.Unlock()
	}()
	if err := se.conn.Write(ctx, req); err != nil {
		return nil, se.writeError(err)
	}
	select {
	case r := <-answer:
		return jsonrpc.EncodeMessage(r)
	case <-se.readDone:
		return nil, ErrClosed
	case <-ctx.Done():
		se.cancel(context.WithoutCancel(ctx), req.ID, context.Cause(ctx))
		return nil, fmt.Errorf("mcpbridge: server %s: %s: %w", se.srv.name, req.Method, context.Cause(ctx))
	}
}

// cancel tells the server that the CLI's call id is no longer wanted:
// the SDK ends its handler's context.
func (se *session) cancel(ctx context.Context, id jsonrpc.ID, cause error) {
	params, err := json.Marshal(&mcp.CancelledParams{RequestID: id.Raw(), Reason: cause.Error()})
	if err != nil { // an id and a string: never
		return
	}
	se.conn.Write(ctx, &jsonrpc.Request{Method: "notifications/cancelled", Params: params}) //nolint:errcheck // a closed connection has cancelled every call
}

func (se *session) writeError(err error) error {
	select {
	case <-se.readDone:
		return ErrClosed
	default:
		return fmt.Errorf("mcpbridge: server %s: %w", se.srv.name, err)
	}
}

// read hands each response of the server's to the call waiting for it,
// until the connection closes. The server's own requests (sampling,
// roots, elicitation: the CLI's mcp_message carries none back) are
// answered with an error; its notifications are dropped.
func (se *session) read(ctx context.Context) {
	defer close(se.readDone)
	for {
		msg, err := se.conn.Read(ctx)
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *jsonrpc.Response:
			se.mu.Lock()
			answer := se.pending[m.ID.Raw()]
			delete(se.pending, m.ID.Raw())
			se.mu.Unlock()
			if answer != nil { // else: a call its caller gave up on
				answer <- m
			}
		case *jsonrpc.Request:
			if m.ID.IsValid() {
				se.conn.Write(ctx, &jsonrpc.Response{ID: m.ID, Error: &jsonrpc.Error{ //nolint:errcheck // a closed connection ends the loop
					Code: jsonrpc.CodeMethodNotFound, Message: "the claude CLI's connection does not serve " + m.Method,
				}})
			}
		}
	}
}

// close ends the session: its calls still running are cancelled (their
// handlers' contexts end; a handler that goes on is left to its Runner),
// and close waits for the session's goroutines.
func (se *session) close() {
	se.conn.Close() //nolint:errcheck // in memory: nothing to flush
	se.ss.Close()   //nolint:errcheck // as above
	se.ss.Wait()    //nolint:errcheck // the end of a closed session
	<-se.readDone
	se.srv.forget(se.ss)
}

// Close ends the connection (see session.close). It is idempotent.
func (c *Conn) Close() error {
	c.mu.Lock()
	cur := c.cur
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		cur.close()
	}
	return nil
}
