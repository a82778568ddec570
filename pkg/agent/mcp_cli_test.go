package agent_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/mcptool"
)

// addArgs are the typed arguments of the calc server's add tool.
type addArgs struct {
	A int `json:"a" jsonschema:"the first addend"`
	B int `json:"b" jsonschema:"the second addend"`
}

// calcServer is a server "calc" whose add tool records its arguments.
func calcServer(got *atomic.Pointer[addArgs]) *mcptool.Server {
	s := mcptool.NewServer("calc")
	mcptool.AddTool(s, "add", "Adds two integers", func(_ context.Context, in addArgs) (string, error) {
		got.Store(&in)
		return strconv.Itoa(in.A + in.B), nil
	})
	return s
}

// The model calls mcp__calc__add with {"a":2,"b":3}: the Go handler runs
// with those typed arguments, and the next API request carries the
// tool_result "5". The tool is allowed by WithAllowedTools, or by the
// permission callback, which sees its mcp__ name, as a PreToolUse hook
// does.
func TestMCPToolCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		allow func(asked *atomic.Int32) []agent.Option
	}{
		{"allowed tools", func(*atomic.Int32) []agent.Option {
			return []agent.Option{agent.WithAllowedTools("mcp__calc__add")}
		}},
		{"permission callback", func(asked *atomic.Int32) []agent.Option {
			return []agent.Option{agent.WithCanUseTool(func(_ context.Context, r agent.PermissionRequest) (agent.PermissionResult, error) {
				if r.ToolName != "mcp__calc__add" {
					return agent.Deny("unexpected tool " + r.ToolName), nil
				}
				asked.Add(1)
				return agent.Allow(), nil
			})}
		}},
		{"hook", func(asked *atomic.Int32) []agent.Option {
			return []agent.Option{agent.WithAllowedTools("mcp__calc__add"), agent.WithHook(agent.PreToolUse, "mcp__calc__add",
				func(_ context.Context, in agent.HookInput) (agent.HookOutput, error) {
					if in.ToolName == "mcp__calc__add" && in.ToolInput["a"] == 2.0 {
						asked.Add(1)
					}
					return agent.HookOutput{}, nil
				})}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}), fakeapi.Text("2+3 is 5"))
			c := realClient(t, nil)
			var got atomic.Pointer[addArgs]
			var asked atomic.Int32
			opts := apiOpts(t, srv, 0, append(tc.allow(&asked), agent.WithMCPServers(calcServer(&got)))...)
			res, err := c.Run(queryCtx(t), "add 2 and 3", opts...)
			require.NoError(t, err)
			assert.Equal(t, "2+3 is 5", res.Result)
			require.NotNil(t, got.Load(), "the handler ran")
			assert.Equal(t, addArgs{A: 2, B: 3}, *got.Load())
			results := lastToolResult(t, srv)
			assert.Contains(t, results, `"text":"5"`)
			assert.NotContains(t, results, `"is_error":true`)
			if tc.name != "allowed tools" {
				assert.EqualValues(t, 1, asked.Load())
			}
		})
	}
}
