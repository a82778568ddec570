package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// SDKMCPServer is an in-process MCP server: the CLI reaches it through
// mcp_message control requests on its stdin and stdout, with no
// subprocess or socket. Package mcptool builds one from Go functions with
// the official MCP Go SDK; attach it with WithMCPServers. The model sees
// its tools as mcp__<Name>__<tool>, the name WithAllowedTools, the
// permission callback and hooks use.
//
// This package never imports the MCP SDK: that dependency (and the HTTP
// stack it links) stays in mcptool, for the programs that define tools.
type SDKMCPServer interface {
	// Name is the server's name in the CLI's --mcp-config: 1 to 64
	// letters, digits, '_' or '-', unique among a query's servers.
	Name() string
	// Check reports a problem with the server's definition (a bad tool
	// name); it is checked with the query's other options, before the
	// query is admitted.
	Check() error
	// Open connects the server to one CLI process, at the CLI's first
	// message to it; run runs its tool handlers for the client. The
	// connection is closed once the process is reaped.
	Open(ctx context.Context, run CallbackRunner) (SDKMCPConn, error)
}

// SDKMCPConn is an SDKMCPServer's connection to one CLI process.
type SDKMCPConn interface {
	// Handle answers one JSON-RPC message of the CLI's with the server's
	// JSON-RPC response. ctx ends when the turn ends or is interrupted,
	// or the client closes: the call is then cancelled.
	Handle(ctx context.Context, message json.RawMessage) (json.RawMessage, error)
	// Close ends the connection and waits for its goroutines.
	Close() error
}

// CallbackRunner runs f, a user's tool handler named name, for the
// client: in a goroutine of its own, recovered (a panic is returned as an
// error, and counted in Stats.Callbacks), tracked so that Close waits for
// it; it waits at most timeout (<= 0: no bound) and no longer than ctx,
// and then returns an error saying so while f goes on running.
type CallbackRunner func(ctx context.Context, name string, timeout time.Duration, f func()) error

// WithMCPServers attaches in-process MCP servers (see SDKMCPServer and
// package mcptool) to a query or a session: each becomes a server of
// type "sdk" in one more --mcp-config. Their tools still need permission
// like any other: WithAllowedTools("mcp__calc__add"), a permission mode
// or WithCanUseTool. A nil server, a bad or repeated name, or a bad tool
// fails the query with ErrInvalidRequest naming WithMCPServers. A query
// with MCP servers never runs on a warm process.
func WithMCPServers(servers ...SDKMCPServer) Option {
	return func(o *Options) { o.MCPServers = append(o.MCPServers, servers...) }
}

// serverName is what an MCP server's name may be.
var serverName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// mcpSet is the MCP servers of one query or session: their --mcp-config,
// the mcp_message handler that opens a server's connection at the CLI's
// first message to it, and the close of them all once the CLI is reaped.
type mcpSet struct {
	byName map[string]SDKMCPServer
	run    CallbackRunner

	mu     sync.Mutex
	conns  map[string]SDKMCPConn
	closed bool
}

// newMCPSet checks servers and returns their set and --mcp-config.
func newMCPSet(servers []SDKMCPServer, g *callback.Guard) (*mcpSet, string, error) {
	ms := &mcpSet{byName: make(map[string]SDKMCPServer), conns: make(map[string]SDKMCPConn)}
	config := map[string]any{}
	for i, s := range servers {
		if s == nil {
			return nil, "", orchestrator.Invalid("WithMCPServers", "server %d is nil", i)
		}
		name := s.Name()
		switch _, dup := ms.byName[name]; {
		case !serverName.MatchString(name):
			return nil, "", orchestrator.Invalid("WithMCPServers", "a server name must be 1 to 64 letters, digits, '_' or '-', got %q", name)
		case dup:
			return nil, "", orchestrator.Invalid("WithMCPServers", "server name %q is given twice", name)
		}
		if err := s.Check(); err != nil {
			return nil, "", orchestrator.Invalid("WithMCPServers", "server %q: %v", name, err)
		}
		ms.byName[name] = s
		config[name] = map[string]string{"type": "sdk", "name": name}
	}
	b, err := json.Marshal(map[string]any{"mcpServers": config})
	if err != nil { // strings only: never
		return nil, "", orchestrator.Invalid("WithMCPServers", "%v", err)
	}
	ms.run = func(ctx context.Context, name string, timeout time.Duration, f func()) error {
		_, err := callback.CallContext(ctx, g, name, timeout, func() struct{} { f(); return struct{}{} })
		return err
	}
	return ms, string(b), nil
}

// mcpWire is the mcp_message request as the CLI sends it.
type mcpWire struct {
	ServerName string          `json:"server_name"`
	Message    json.RawMessage `json:"message"`
}

// handle answers one mcp_message request with the server's response.
func (ms *mcpSet) handle(ctx context.Context, r *protocol.ControlRequest) (any, error) {
	var w mcpWire
	if err := json.Unmarshal(r.Request, &w); err != nil {
		return nil, fmt.Errorf("agent: malformed mcp_message request: %w", err)
	}
	conn, err := ms.conn(ctx, w.ServerName)
	if err != nil {
		return nil, err
	}
	resp, err := conn.Handle(ctx, w.Message)
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{"mcp_response": resp}, nil
}

// errMCPClosed: a message came after the CLI was reaped.
var errMCPClosed = errors.New("agent: the query's MCP servers are closed")

// conn is the connection to the server name, opened at its first message.
func (ms *mcpSet) conn(ctx context.Context, name string) (SDKMCPConn, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.closed {
		return nil, errMCPClosed
	}
	if c := ms.conns[name]; c != nil {
		return c, nil
	}
	s := ms.byName[name]
	if s == nil {
		return nil, fmt.Errorf("agent: no in-process MCP server named %q", name)
	}
	c, err := s.Open(ctx, ms.run)
	if err != nil {
		return nil, fmt.Errorf("agent: opening MCP server %q: %w", name, err)
	}
	ms.conns[name] = c
	return c, nil
}

// close closes every connection; none opens after it.
func (ms *mcpSet) close() {
	ms.mu.Lock()
	ms.closed = true
	conns := ms.conns
	ms.conns = nil
	ms.mu.Unlock()
	for _, c := range conns {
		c.Close() //nolint:errcheck // nothing to tell: the CLI is gone
	}
}
