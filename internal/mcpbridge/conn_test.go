package mcpbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/mcpbridge"
)

type waitArgs struct {
	N int `json:"n"`
}

// connect opens a connection to s whose handlers run through a callback
// guard; at the test's end it is closed and no handler may be left.
func connect(t *testing.T, s *mcpbridge.Server) *mcpbridge.Conn {
	t.Helper()
	g := callback.New(nil, nil)
	run := func(ctx context.Context, name string, timeout time.Duration, f func()) error {
		_, err := callback.CallContext(ctx, g, name, timeout, func() struct{} { f(); return struct{}{} })
		return err
	}
	c, err := s.Open(t.Context(), run)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		assert.Zero(t, g.Wait(5*time.Second), "no handler left running")
	})
	return c
}

// open returns a connection to a server whose tool "wait" blocks until
// its context ends (reported on ended; started is closed at its first
// call), with a guard the test waits for.
func open(t *testing.T) (*mcpbridge.Conn, <-chan error, <-chan struct{}) {
	t.Helper()
	s := mcpbridge.NewServer("test", "1")
	ended := make(chan error, 1)
	started := make(chan struct{})
	var once sync.Once
	require.NoError(t, s.AddTool("wait", func(srv *mcp.Server) {
		mcp.AddTool(srv, &mcp.Tool{Name: "wait"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ waitArgs) (*mcp.CallToolResult, any, error) {
			once.Do(func() { close(started) })
			<-ctx.Done()
			ended <- ctx.Err()
			return nil, nil, ctx.Err()
		})
	}))
	c := connect(t, s)
	for _, m := range []string{
		`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	} {
		_, err := c.Handle(t.Context(), json.RawMessage(m))
		require.NoError(t, err)
	}
	return c, ended, started
}

// A call whose context ends (its turn ended) is cancelled by the bridge
// itself, with no notifications/cancelled from the CLI: the handler's
// context ends, and the session goes on serving.
func TestCancelledCallEndsItsHandler(t *testing.T) {
	c, ended, _ := open(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Handle(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"wait","arguments":{"n":1}}}`))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context did not end")
	}
	resp, err := c.Handle(t.Context(), json.RawMessage(`{"jsonrpc":"2.0","id":6,"method":"tools/list"}`))
	require.NoError(t, err)
	assert.Contains(t, string(resp), `"name":"wait"`, "the session still serves")
}

// The CLI opens the server twice, as two clients whose messages
// interleave and whose ids collide: a second initialize is answered like
// the first (under its id), a tools/list before any notifications/initialized
// is served, and two calls with the same id each get their own answer.
func TestInterleavedClientsShareTheSession(t *testing.T) {
	s := mcpbridge.NewServer("test", "1")
	type addArgs struct{ A, B int }
	require.NoError(t, s.AddTool("add", func(srv *mcp.Server) {
		mcp.AddTool(srv, &mcp.Tool{Name: "add"}, func(_ context.Context, _ *mcp.CallToolRequest, in addArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strconv.Itoa(in.A + in.B)}}}, nil, nil
		})
	}))
	c := connect(t, s)
	handle := func(m string) string {
		resp, err := c.Handle(t.Context(), json.RawMessage(m))
		require.NoError(t, err, m)
		return string(resp)
	}
	const initialize = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	first := handle(initialize)
	second := handle(initialize)
	assert.Contains(t, first, `"serverInfo"`)
	assert.Equal(t, first, second, "the second client gets the first one's answer")
	assert.Contains(t, handle(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), `"name":"add"`, "served before the CLI's notifications/initialized")
	handle(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	handle(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	var wg sync.WaitGroup
	answers := make([]string, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = handle(fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"A":%d,"B":1}}}`, i))
		}()
	}
	wg.Wait()
	for i, a := range answers {
		assert.Contains(t, a, `"id":2`)
		assert.Contains(t, a, fmt.Sprintf(`"text":"%d"`, i+1), "call %d", i)
	}
}

// Close cancels a call still running: its handler's context ends and
// Close returns (the cleanup checks no handler is left).
func TestCloseEndsRunningCalls(t *testing.T) {
	c, ended, started := open(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Handle(t.Context(), json.RawMessage(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait","arguments":{"n":1}}}`))
		done <- err
	}()
	<-started
	require.NoError(t, c.Close())
	assert.ErrorIs(t, <-done, mcpbridge.ErrClosed)
	assert.Error(t, <-ended, "the handler's context ended")
}
