// Package mcptool turns Go functions into tools for Claude: an in-process
// MCP server, built with the official MCP Go SDK
// (github.com/modelcontextprotocol/go-sdk), that the claude CLI reaches
// through its control protocol, with no subprocess or socket. Attach a
// server to a query or a session with agent.WithMCPServers:
//
//	calc := mcptool.NewServer("calc")
//	mcptool.AddTool(calc, "add", "Adds two integers", func(ctx context.Context, in struct {
//		A int `json:"a"`
//		B int `json:"b"`
//	}) (string, error) {
//		return strconv.Itoa(in.A + in.B), nil
//	})
//	res, err := client.Run(ctx, "What is 2+3?", agent.WithMCPServers(calc),
//		agent.WithAllowedTools("mcp__calc__add"))
//
// The model sees the tool as mcp__calc__add. Its input schema is derived
// from the argument type (json and jsonschema struct tags); the SDK
// checks the model's arguments against it. A handler's context ends when
// its turn ends or is interrupted, the client closes, or its timeout
// passes; a handler that returns an error, panics or times out gives the
// model a tool error, never a crash. Handlers run concurrently.
//
// This is a package of its own so that programs that define no tools do
// not link the MCP SDK (and the HTTP and TLS stack it imports).
package mcptool

import (
	"context"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/mcpbridge"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// DefaultTimeout bounds a tool handler added without WithTimeout.
const DefaultTimeout = mcpbridge.DefaultTimeout

// Server is an in-process MCP server: an agent.SDKMCPServer. Create it
// with NewServer and add tools with AddTool (or, for anything else the
// SDK offers, to MCP()); it is safe for concurrent use, and one Server may
// serve any number of queries and sessions at once, of one client or
// several, each CLI process on a connection of its own. It owns no
// goroutine while no query uses it, and needs no Close.
type Server struct {
	b *mcpbridge.Server
}

// NewServer returns a server named name, with no tools: the model sees
// its tools as mcp__<name>__<tool>. name must be 1 to 64 letters, digits,
// '_' or '-' (else the queries it is given to fail with
// agent.ErrInvalidRequest).
func NewServer(name string) *Server {
	return &Server{b: mcpbridge.NewServer(name, implVersion)}
}

// Name is the server's name.
func (s *Server) Name() string { return s.b.Name() }

// Check reports the first problem of the server's definition: a bad
// name, or a tool AddTool refused.
func (s *Server) Check() error { return s.b.Check() }

// Open connects the server to one CLI process; agent.WithMCPServers
// calls it.
func (s *Server) Open(ctx context.Context, run agent.CallbackRunner) (agent.SDKMCPConn, error) {
	if run == nil {
		return nil, fmt.Errorf("mcptool: Open needs a CallbackRunner")
	}
	return s.b.Open(ctx, mcpbridge.Runner(run))
}

// MCP is the SDK's server, for what AddTool does not cover: tools with
// structured output (mcp.AddTool), resources, prompts. Its tools'
// handlers are recovered and bounded like AddTool's (SetTimeout).
func (s *Server) MCP() *mcp.Server { return s.b.MCP() }

// SetTimeout bounds each call of the server's tool named tool to d
// (d <= 0: DefaultTimeout).
func (s *Server) SetTimeout(tool string, d time.Duration) { s.b.SetTimeout(tool, d) }

// ToolOption adjusts one tool of AddTool.
type ToolOption func(*toolOptions)

type toolOptions struct {
	timeout time.Duration
}

// WithTimeout bounds each call of the tool to d: its context ends then,
// and the model gets a tool error saying it timed out (the handler, if it
// goes on, is left to finish, counted in agent.Stats.Callbacks).
func WithTimeout(d time.Duration) ToolOption {
	return func(o *toolOptions) { o.timeout = d }
}

// Handler is a Go function as a tool: in holds the model's arguments,
// decoded from JSON; the string is the result the model reads. An error
// is given to the model as the tool's error result.
type Handler[In any] func(ctx context.Context, in In) (string, error)

// AddTool adds the tool name to s, described to the model by description,
// with the input schema derived from In (a struct: its json tags name the
// arguments, `jsonschema:"..."` tags describe them; a field without
// omitempty is required). A bad name (1 to 64 letters, digits, '_' or
// '-'), a repeated one or an In the SDK cannot derive a schema from is
// reported by Check, so every query given s fails with
// agent.ErrInvalidRequest; the tool is not added.
func AddTool[In any](s *Server, name, description string, h Handler[In], opts ...ToolOption) {
	var o toolOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := mcpbridge.CheckName(name); err != nil {
		s.b.Fail(fmt.Errorf("mcptool.AddTool: tool name %w", err))
		return
	}
	if h == nil {
		s.b.Fail(fmt.Errorf("mcptool.AddTool: tool %q has a nil handler", name))
		return
	}
	if err := s.b.AddTool(name, func(srv *mcp.Server) {
		mcp.AddTool(srv, &mcp.Tool{Name: name, Description: description}, func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
			text, err := h(ctx, in)
			if err != nil {
				return nil, nil, err // the SDK makes it the tool's error result
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
		})
	}); err != nil {
		s.b.Fail(fmt.Errorf("mcptool.AddTool: tool %q: %w", name, err))
		return
	}
	s.b.SetTimeout(name, o.timeout)
}

var _ agent.SDKMCPServer = (*Server)(nil)

// implVersion is the servers' version in their MCP initialize answer.
const implVersion = "1.0.0"
