package mcpbridge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Runner runs f, a user's tool handler, for the client that owns the
// connection: in a goroutine of its own, recovered (a panic is returned as
// an error), tracked until it returns; it waits at most timeout and no
// longer than ctx, and then returns an error while f goes on running.
type Runner func(ctx context.Context, name string, timeout time.Duration, f func()) error

// DefaultTimeout bounds a tool handler whose tool has no timeout of its
// own.
const DefaultTimeout = time.Minute

// namePattern is what a server's or a tool's name may be: the Messages
// API's tool names are [a-zA-Z0-9_-]{1,64}, and the model sees a tool as
// mcp__<server>__<tool>.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckName reports whether name may name a server or a tool (what says
// which is the caller's).
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("must be 1 to 64 letters, digits, '_' or '-', got %q", name)
	}
	return nil
}

// Server is an MCP server of the SDK's whose tool calls run through the
// Runner of the connection they come from, each bounded by its tool's
// timeout, a panic or a time-out answered as a tool error the model sees.
// Create it with NewServer; it is safe for concurrent use, and serves any
// number of connections (one per CLI process) at once. It owns no
// goroutine: each Conn does.
type Server struct {
	name string
	mcp  *mcp.Server

	mu       sync.Mutex
	tools    map[string]bool          // added by AddTool
	timeouts map[string]time.Duration // by tool name; missing: DefaultTimeout
	runners  map[*mcp.ServerSession]Runner
	err      error // the first bad definition
}

// NewServer returns a server named name (its implementation's version is
// version) with no tools yet.
func NewServer(name, version string) *Server {
	s := &Server{
		name:     name,
		mcp:      mcp.NewServer(&mcp.Implementation{Name: name, Version: version}, nil),
		tools:    make(map[string]bool),
		timeouts: make(map[string]time.Duration),
		runners:  make(map[*mcp.ServerSession]Runner),
	}
	s.mcp.AddReceivingMiddleware(s.guardTools)
	return s
}

// Name is the server's name.
func (s *Server) Name() string { return s.name }

// MCP is the SDK's server, to add tools (mcp.AddTool) and more to.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// AddTool adds the tool name with add (which calls mcp.AddTool on the
// server), unless a tool of that name was added before. A panic of add
// (the SDK's, for an input type it cannot derive a schema from) is its
// error.
func (s *Server) AddTool(name string, add func(*mcp.Server)) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tools[name] {
		return errors.New("added twice")
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	add(s.mcp)
	s.tools[name] = true
	return nil
}

// SetTimeout bounds each call of tool to d (d <= 0: DefaultTimeout).
func (s *Server) SetTimeout(tool string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.timeouts, tool)
		return
	}
	s.timeouts[tool] = d
}

// Fail records a problem with the server's definition, for Check; the
// first one is kept.
func (s *Server) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Check returns the first problem Fail recorded, or a bad server name.
func (s *Server) Check() error {
	if err := CheckName(s.name); err != nil {
		return fmt.Errorf("server name %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// guardTools is the server's middleware: a tools/call runs through its
// connection's Runner, bounded by the tool's timeout; a panic, a
// time-out or the call's cancellation is the call's tool error.
func (s *Server) guardTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		call, ok := req.(*mcp.CallToolRequest)
		if !ok || call.Params == nil {
			return next(ctx, method, req)
		}
		tool := call.Params.Name
		s.mu.Lock()
		run := s.runners[call.Session]
		timeout, ok := s.timeouts[tool]
		s.mu.Unlock()
		if !ok {
			timeout = DefaultTimeout
		}
		if run == nil { // a session not opened by Open: there is no client to run for
			return toolError(fmt.Errorf("tool %s: the server is not connected to a client", tool)), nil
		}
		hctx, cancel := context.WithTimeout(ctx, timeout) // the handler's: ends at the timeout too
		defer cancel()
		var res mcp.Result
		var err error
		name := "tool mcp__" + s.name + "__" + tool
		// The wait ends with hctx: at the timeout, or when the call is
		// cancelled (the turn ended) or its session closed.
		rerr := run(hctx, name, 0, func() { res, err = next(hctx, method, req) })
		switch {
		case ctx.Err() == nil && errors.Is(hctx.Err(), context.DeadlineExceeded):
			// Whether the handler returned at its deadline or not.
			return toolError(fmt.Errorf("%s timed out after %v", name, timeout)), nil
		case rerr != nil:
			return toolError(rerr), nil // res and err are f's, still running: not read
		}
		return res, err
	}
}

// toolError is a tool result that tells the model err.
func toolError(err error) *mcp.CallToolResult {
	var r mcp.CallToolResult
	r.SetError(err)
	return &r
}
