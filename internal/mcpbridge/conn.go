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

// Conn is one CLI process's connection to a Server: one server session of
// the SDK's over an in-memory transport, whose other end this type holds
// for the CLI. The CLI (2.1.197) opens the server twice, as two MCP
// clients whose messages interleave and whose JSON-RPC ids collide (both
// send initialize id 0, tools/list id 1...). The session serves both:
// the first initialize is forwarded and its answer kept, a later one gets
// that answer; the bridge sends notifications/initialized itself, once,
// when the first initialize is answered (so a call never reaches the
// server before it); and every call goes to the server under an id of the
// bridge's own, its answer carrying the CLI's id back. Open one with
// Server.Open; it is safe for concurrent use (the CLI sends calls
// concurrently). Its owner must Close it, which stops its goroutines (the
// session's and the one reading responses) and waits for them.
type Conn struct {
	srv *Server
	run Runner
	cur *session

	initMu   sync.Mutex        // one initialize at a time: the first is forwarded
	initResp *jsonrpc.Response // the first initialize's answer, once it came

	mu     sync.Mutex
	closed bool
	nextID int64
	ids    map[any]jsonrpc.ID // the CLI's id of a call in flight -> the bridge's (last one wins on a collision)
}

// session is one server session and the CLI's end of its transport.
type session struct {
	srv      *Server
	ss       *mcp.ServerSession
	conn     mcp.Connection // the CLI's end
	readDone chan struct{}  // closed when read returns

	mu      sync.Mutex
	pending map[any]chan *jsonrpc.Response // calls by the bridge's id (ID.Raw)
}

// Open connects the server for one CLI process, whose tool handlers run
// through run. ctx's values reach the sessions; its end does not (the
// connection lasts until Close).
func (s *Server) Open(ctx context.Context, run Runner) (*Conn, error) {
	if run == nil {
		return nil, errors.New("mcpbridge: Open needs a Runner")
	}
	c := &Conn{srv: s, run: run, ids: make(map[any]jsonrpc.ID)}
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
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	se := c.cur
	req, _ := msg.(*jsonrpc.Request)
	switch {
	case req == nil: // a response to nothing the server asked: dropped
	case req.Method == "initialize" && req.ID.IsValid():
		return c.initialize(ctx, req)
	case req.Method == "notifications/initialized":
		// Sent by the bridge with the first initialize's answer.
	case req.Method == "notifications/cancelled":
		if err := se.conn.Write(ctx, c.cancelled(req)); err != nil {
			return nil, se.writeError(err)
		}
	case !req.ID.IsValid(): // another notification
		if err := se.conn.Write(ctx, req); err != nil {
			return nil, se.writeError(err)
		}
	default:
		return c.call(ctx, req)
	}
	return jsonrpc.EncodeMessage(&jsonrpc.Response{Result: json.RawMessage("{}")})
}

// initialize answers an initialize of the CLI's: the first is the
// server's, later ones get its answer (under their own id).
func (c *Conn) initialize(ctx context.Context, req *jsonrpc.Request) (json.RawMessage, error) {
	c.initMu.Lock()
	defer c.initMu.Unlock()
	if c.initResp == nil {
		raw, err := c.call(ctx, req)
		if err != nil {
			return nil, err
		}
		msg, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("mcpbridge: server %s: %w", c.srv.name, err)
		}
		resp, _ := msg.(*jsonrpc.Response)
		if resp == nil || resp.Error != nil {
			return raw, nil // a refused initialize: the next one tries again
		}
		if err := c.cur.conn.Write(ctx, &jsonrpc.Request{Method: "notifications/initialized"}); err != nil {
			return nil, c.cur.writeError(err)
		}
		c.initResp = resp
		return raw, nil
	}
	again := *c.initResp
	again.ID = req.ID
	return jsonrpc.EncodeMessage(&again)
}

// call forwards the CLI's call req under an id of the bridge's and returns
// the answer under the CLI's id.
func (c *Conn) call(ctx context.Context, req *jsonrpc.Request) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id, err := jsonrpc.MakeID(float64(c.nextID))
	orig := req.ID
	c.ids[orig.Raw()] = id
	c.mu.Unlock()
	if err != nil { // a number: never
		return nil, err
	}
	defer func() {
		c.mu.Lock()
		if c.ids[orig.Raw()] == id {
			delete(c.ids, orig.Raw())
		}
		c.mu.Unlock()
	}()
	fwd := *req
	fwd.ID = id
	resp, err := c.cur.call(ctx, &fwd)
	if err != nil {
		return nil, err
	}
	resp.ID = orig
	return jsonrpc.EncodeMessage(resp)
}

// cancelled is the CLI's notifications/cancelled with the bridge's id of
// the call it names (as it was sent to the server).
func (c *Conn) cancelled(req *jsonrpc.Request) *jsonrpc.Request {
	var p mcp.CancelledParams
	if json.Unmarshal(req.Params, &p) != nil {
		return req
	}
	orig, err := jsonrpc.MakeID(p.RequestID)
	if err != nil {
		return req
	}
	c.mu.Lock()
	id, ok := c.ids[orig.Raw()]
	c.mu.Unlock()
	if !ok {
		return req
	}
	p.RequestID = id.Raw()
	params, err := json.Marshal(&p)
	if err != nil {
		return req
	}
	out := *req
	out.Params = params
	return &out
}

// call sends the call req and waits for its response.
func (se *session) call(ctx context.Context, req *jsonrpc.Request) (*jsonrpc.Response, error) {
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
		return r, nil
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
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		c.cur.close()
	}
	return nil
}
