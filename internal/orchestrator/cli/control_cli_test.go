package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// realRequest runs the real CLI against srv, in a fresh directory.
func realRequest(t *testing.T, srv *fakeapi.Server, prompt string) (Request, Options, string) {
	t.Helper()
	dir := t.TempDir()
	req := Request{Prompt: prompt, WorkingDir: dir, Env: srv.Env(t, 0)}
	return req, Options{Path: fakeapi.CLIPath(t)}, dir
}

// toolResults is the text of the tool_result blocks of srv's last request.
func lastToolResults(t *testing.T, srv *fakeapi.Server) string {
	t.Helper()
	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	var out []string
	for _, r := range msgs[len(msgs)-1].ToolResults() {
		out = append(out, string(r))
	}
	return strings.Join(out, "\n")
}

// An initialize with a PreToolUse hook for Bash: the CLI calls the hook
// back before running the tool the fake API asked for; answered empty, the
// tool runs and its result reaches the API's second request.
func TestRealCLIPreToolUseHook(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("touch made-by-bash"), fakeapi.Text("done"))
	req, opt, dir := realRequest(t, srv, "make a file")
	req.AllowedTools = []string{"Bash"}
	req.Initialize = map[string]any{"hooks": map[string]any{
		"PreToolUse": []any{map[string]any{"matcher": "Bash", "hookCallbackIds": []string{"hook_0"}}},
	}}
	var mu sync.Mutex
	var inputs []map[string]any
	req.Handlers = map[string]ControlHandler{
		protocol.ControlHookCallback: func(_ context.Context, r *protocol.ControlRequest) (any, error) {
			var body struct {
				CallbackID string         `json:"callback_id"`
				Input      map[string]any `json:"input"`
			}
			if err := json.Unmarshal(r.Request, &body); err != nil {
				return nil, err
			}
			mu.Lock()
			inputs = append(inputs, body.Input)
			mu.Unlock()
			return map[string]any{}, nil
		},
	}
	msgs, errs := collect(t, testContext(t), req, opt)
	require.Empty(t, errs)
	require.NotEmpty(t, msgs)
	assert.Equal(t, "result", msgs[len(msgs)-1].Type())
	mu.Lock()
	require.Len(t, inputs, 1, "one hook callback")
	assert.Equal(t, "PreToolUse", inputs[0]["hook_event_name"])
	assert.Equal(t, "Bash", inputs[0]["tool_name"])
	mu.Unlock()
	assert.FileExists(t, filepath.Join(dir, "made-by-bash"), "the tool ran")
	assert.Contains(t, lastToolResults(t, srv), "tool_result")
}

// With --permission-prompt-tool stdio, a can_use_tool answered deny: the
// tool does not run, and its result is the deny message, as an error.
func TestRealCLICanUseToolDeny(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("touch must-not-exist"), fakeapi.Text("ok, not done"))
	req, opt, dir := realRequest(t, srv, "make a file")
	req.PermissionPromptTool = "stdio"
	var asked sync.Map
	req.Handlers = map[string]ControlHandler{
		protocol.ControlCanUseTool: func(_ context.Context, r *protocol.ControlRequest) (any, error) {
			var body struct {
				ToolName string `json:"tool_name"`
			}
			json.Unmarshal(r.Request, &body) //nolint:errcheck // checked below
			asked.Store(body.ToolName, true)
			return map[string]any{"behavior": "deny", "message": "not today"}, nil
		},
	}
	_, errs := collect(t, testContext(t), req, opt)
	require.Empty(t, errs)
	_, ok := asked.Load("Bash")
	assert.True(t, ok, "the CLI asked for Bash")
	_, err := os.Stat(filepath.Join(dir, "must-not-exist"))
	assert.True(t, os.IsNotExist(err), "a denied tool ran")
	results := lastToolResults(t, srv)
	assert.Contains(t, results, "not today")
	assert.Contains(t, results, `"is_error":true`)
}

// An interrupt during a stalled answer ends the turn: its result arrives
// (the answer never does), and the interrupt is acknowledged.
func TestRealCLIInterrupt(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{}) // never opened: the answer stalls after message_start
	srv := fakeapi.New(t, fakeapi.Text("never").WithGate(gate))
	req, opt, _ := realRequest(t, srv, "stall")
	interrupted := make(chan error, 1)
	req.OnStart = func(k *Controller) {
		go func() {
			if err := srv.WaitInFlight(testContext(t), 1); err != nil {
				interrupted <- err
				return
			}
			interrupted <- k.Interrupt(testContext(t))
		}()
	}
	msgs, errs := collect(t, testContext(t), req, opt)
	require.NoError(t, <-interrupted)
	require.NotEmpty(t, msgs)
	res, ok := msgs[len(msgs)-1].(*protocol.ResultMessage)
	require.True(t, ok, "the interrupted turn ends with its result")
	assert.True(t, res.IsError)
	assert.Equal(t, "error_during_execution", res.Subtype)
	require.Len(t, errs, 1)
}

// An in-process MCP server of type sdk: the CLI speaks JSON-RPC to the host
// through mcp_message requests, which reach the handler (initialize, then
// tools/list), and lists the server's tool.
func TestRealCLIMCPMessage(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("hi"))
	req, opt, _ := realRequest(t, srv, "hello")
	req.MCPConfig = `{"mcpServers":{"gotools":{"type":"sdk","name":"gotools"}}}`
	var mu sync.Mutex
	var methods []string
	req.Handlers = map[string]ControlHandler{
		protocol.ControlMCPMessage: func(_ context.Context, r *protocol.ControlRequest) (any, error) {
			var body struct {
				ServerName string `json:"server_name"`
				Message    struct {
					ID     any    `json:"id"`
					Method string `json:"method"`
				} `json:"message"`
			}
			if err := json.Unmarshal(r.Request, &body); err != nil {
				return nil, err
			}
			mu.Lock()
			methods = append(methods, body.ServerName+" "+body.Message.Method)
			mu.Unlock()
			var result any = map[string]any{}
			switch body.Message.Method {
			case "initialize":
				result = map[string]any{"protocolVersion": "2024-11-05", "capabilities": map[string]any{"tools": map[string]any{}},
					"serverInfo": map[string]any{"name": "gotools", "version": "0.0.1"}}
			case "tools/list":
				result = map[string]any{"tools": []any{map[string]any{"name": "ping", "description": "answers pong",
					"inputSchema": map[string]any{"type": "object", "properties": map[string]any{}}}}}
			}
			return map[string]any{"mcp_response": map[string]any{"jsonrpc": "2.0", "id": body.Message.ID, "result": result}}, nil
		},
	}
	msgs, errs := collect(t, testContext(t), req, opt)
	require.Empty(t, errs)
	mu.Lock()
	assert.Contains(t, methods, "gotools initialize")
	assert.Contains(t, methods, "gotools tools/list")
	mu.Unlock()
	init := msgs[0].(*protocol.SystemMessage).Init
	require.NotNil(t, init)
	assert.Contains(t, init.Tools, "mcp__gotools__ping")
}

// Two turns in one process (a session): the second turn's API request
// carries the first turn's text; the CLI's total is cumulative, each
// result's TurnCostUSD is its own turn's; closing the input ends the
// stream cleanly.
func TestRealCLITwoTurns(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Usage(1000, 10))
	req, opt, _ := realRequest(t, srv, "the first turn")
	req.Session = true
	var k *Controller
	req.OnStart = func(c *Controller) { k = c }
	var results []*protocol.ResultMessage
	var errs []error
	for m, err := range Stream(testContext(t), req, opt) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r, ok := m.(*protocol.ResultMessage); ok {
			results = append(results, r)
			if len(results) == 1 {
				require.NoError(t, k.SendTurn(testContext(t), "the second turn"))
			} else {
				k.CloseInput()
			}
		}
	}
	require.Empty(t, errs)
	require.Len(t, results, 2)
	assert.Positive(t, results[0].TotalCostUSD)
	assert.InDelta(t, results[0].TotalCostUSD, results[0].TurnCostUSD, 1e-12)
	assert.Greater(t, results[1].TotalCostUSD, results[0].TotalCostUSD, "cumulative")
	assert.InDelta(t, results[1].TotalCostUSD-results[0].TotalCostUSD, results[1].TurnCostUSD, 1e-12)
	var second *fakeapi.Request
	for _, r := range srv.Messages() {
		if r.HasText("the second turn") {
			second = &r
		}
	}
	require.NotNil(t, second, "no API request for the second turn")
	assert.True(t, second.HasText("the first turn"), "the second turn's request lacks the first turn")
}
