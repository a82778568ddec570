package agent_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// A handler's error, panic or time-out reaches the model as the tool's
// error result; the query goes on to its answer, and the client counts
// the panic.
func TestMCPToolErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		handler  mcptool.Handler[addArgs]
		opts     []mcptool.ToolOption
		inResult string
	}{
		{"error", func(context.Context, addArgs) (string, error) {
			return "", errors.New("the abacus is broken")
		}, nil, "the abacus is broken"},
		{"panic", func(context.Context, addArgs) (string, error) {
			panic("a bug in the tool")
		}, nil, "panicked: a bug in the tool"},
		{"timeout", func(ctx context.Context, _ addArgs) (string, error) {
			<-ctx.Done() // ends at the tool's timeout
			return "", ctx.Err()
		}, []mcptool.ToolOption{mcptool.WithTimeout(200 * time.Millisecond)}, "tool mcp__calc__add timed out after 200ms"},
		{"timeout ignoring its context", func(context.Context, addArgs) (string, error) {
			time.Sleep(time.Second) // left running, tracked: Close waits for it
			return "too late", nil
		}, []mcptool.ToolOption{mcptool.WithTimeout(200 * time.Millisecond)}, "tool mcp__calc__add timed out after 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}), fakeapi.Text("it failed"))
			c := realClient(t, nil)
			calc := mcptool.NewServer("calc")
			mcptool.AddTool(calc, "add", "Adds two integers", tc.handler, tc.opts...)
			opts := apiOpts(t, srv, 0, agent.WithMCPServers(calc), agent.WithAllowedTools("mcp__calc__add"))
			res, err := c.Run(queryCtx(t), "add 2 and 3", opts...)
			require.NoError(t, err)
			assert.Equal(t, "it failed", res.Result)
			results := lastToolResult(t, srv)
			assert.Contains(t, results, tc.inResult)
			assert.Contains(t, results, `"is_error":true`)
			if tc.name == "panic" {
				assert.EqualValues(t, 1, c.Stats().Callbacks.Panics)
			}
		})
	}
}

// A handler still running when the caller cancels the query sees its
// context end; the query ends with the cancellation, and once the client
// is closed no goroutine is left (goleak, in TestMain).
func TestMCPToolContextEndsWithTheQuery(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}), fakeapi.Text("done"))
	c := realClient(t, nil)
	ctx, cancel := context.WithCancel(queryCtx(t))
	defer cancel()
	ended := make(chan error, 1)
	calc := mcptool.NewServer("calc")
	mcptool.AddTool(calc, "add", "Adds two integers", func(ctx context.Context, _ addArgs) (string, error) {
		cancel() // the caller gives up while the tool runs
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(queryTimeout):
			ended <- nil
		}
		return "", ctx.Err()
	})
	_, err := c.Run(ctx, "add 2 and 3", apiOpts(t, srv, 0, agent.WithMCPServers(calc), agent.WithAllowedTools("mcp__calc__add"))...)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, <-ended, context.Canceled, "the handler saw its context end")
	require.NoError(t, c.Close())
	assert.Zero(t, c.Stats().Callbacks.Abandoned)
}

// Two servers in one query: the model calls a tool of each, and each
// result reaches the next request.
func TestMCPTwoServers(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t,
		fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}),
		fakeapi.ToolCall("mcp__words__upper", map[string]string{"text": "go"}),
		fakeapi.Text("5 and GO"))
	c := realClient(t, nil)
	var got atomic.Pointer[addArgs]
	words := mcptool.NewServer("words")
	mcptool.AddTool(words, "upper", "Upper-cases a text", func(_ context.Context, in struct {
		Text string `json:"text"`
	}) (string, error) {
		return strings.ToUpper(in.Text), nil
	})
	opts := apiOpts(t, srv, 0, agent.WithMCPServers(calcServer(&got), words),
		agent.WithAllowedTools("mcp__calc__add", "mcp__words__upper"))
	res, err := c.Run(queryCtx(t), "add, then shout", opts...)
	require.NoError(t, err)
	assert.Equal(t, "5 and GO", res.Result)
	msgs := srv.Messages()
	require.GreaterOrEqual(t, len(msgs), 3)
	var results []string
	for _, m := range msgs {
		for _, r := range m.ToolResults() {
			results = append(results, string(r))
		}
	}
	all := strings.Join(results, "\n")
	assert.Contains(t, all, `"text":"5"`)
	assert.Contains(t, all, `"text":"GO"`)
}

// Tools in a three-turn session: the server stays up across turns, and
// each turn's call reaches the handler.
func TestMCPToolsInSession(t *testing.T) {
	t.Parallel()
	var answers []fakeapi.Answer
	for i := range 3 {
		answers = append(answers, fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": i, "b": 10}), fakeapi.Text("turn "+strconv.Itoa(i)))
	}
	srv := fakeapi.New(t, answers...)
	c := realClient(t, nil)
	var calls atomic.Int32
	calc := mcptool.NewServer("calc")
	mcptool.AddTool(calc, "add", "Adds two integers", func(_ context.Context, in addArgs) (string, error) {
		calls.Add(1)
		return strconv.Itoa(in.A + in.B), nil
	})
	s, err := c.Session(queryCtx(t), apiOpts(t, srv, 0, agent.WithMCPServers(calc), agent.WithAllowedTools("mcp__calc__add"))...)
	require.NoError(t, err)
	defer s.Close()
	for i := range 3 {
		res, err := s.Run(queryCtx(t), "add "+strconv.Itoa(i)+" and 10")
		require.NoError(t, err)
		assert.Equal(t, "turn "+strconv.Itoa(i), res.Result)
		assert.Contains(t, lastToolResult(t, srv), `"text":"`+strconv.Itoa(i+10)+`"`)
	}
	assert.EqualValues(t, 3, calls.Load())
	require.NoError(t, s.Close())
}

// In a session, a turn cancelled while its tool runs ends the handler's
// context (the bridge cancels that call), and the server stays up: the
// next turn's call reaches the handler.
func TestMCPToolCancelledTurnInSession(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t,
		fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 1, "b": 1}), // interrupted: no answer after it
		fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}), fakeapi.Text("five"))
	c := realClient(t, nil)
	ended := make(chan error, 1)
	ctx1, cancel1 := context.WithCancel(queryCtx(t))
	defer cancel1()
	calc := mcptool.NewServer("calc")
	mcptool.AddTool(calc, "add", "Adds two integers", func(ctx context.Context, in addArgs) (string, error) {
		if in.A == 1 {
			cancel1() // the caller leaves the first turn while the tool runs
			select {
			case <-ctx.Done():
				ended <- ctx.Err()
			case <-time.After(queryTimeout):
				ended <- nil
			}
			return "", ctx.Err()
		}
		return strconv.Itoa(in.A + in.B), nil
	})
	s, err := c.Session(queryCtx(t), apiOpts(t, srv, 0, agent.WithMCPServers(calc), agent.WithAllowedTools("mcp__calc__add"))...)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Run(ctx1, "add 1 and 1")
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, <-ended, context.Canceled, "the handler saw its context end")
	res, err := s.Run(queryCtx(t), "add 2 and 3")
	require.NoError(t, err)
	assert.Equal(t, "five", res.Result)
	assert.Contains(t, lastToolResult(t, srv), `"text":"5"`)
}

// Bad servers fail the query with ErrInvalidRequest naming
// WithMCPServers, before it is admitted (no CLI starts: the fake one
// would record it).
func TestMCPServersValidation(t *testing.T) {
	t.Parallel()
	badTool := mcptool.NewServer("calc")
	mcptool.AddTool(badTool, "add two", "", func(context.Context, addArgs) (string, error) { return "", nil })
	twice := mcptool.NewServer("calc")
	mcptool.AddTool(twice, "add", "", func(context.Context, addArgs) (string, error) { return "", nil })
	mcptool.AddTool(twice, "add", "", func(context.Context, addArgs) (string, error) { return "", nil })
	for _, tc := range []struct {
		name    string
		servers []agent.SDKMCPServer
		want    string
	}{
		{"nil server", []agent.SDKMCPServer{nil}, "server 0 is nil"},
		{"bad server name", []agent.SDKMCPServer{mcptool.NewServer("my calc")}, `got "my calc"`},
		{"empty server name", []agent.SDKMCPServer{mcptool.NewServer("")}, `got ""`},
		{"repeated server", []agent.SDKMCPServer{mcptool.NewServer("calc"), mcptool.NewServer("calc")}, `"calc" is given twice`},
		{"bad tool name", []agent.SDKMCPServer{badTool}, `tool name must be 1 to 64 letters, digits, '_' or '-', got "add two"`},
		{"tool added twice", []agent.SDKMCPServer{twice}, `tool "add": added twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newClient(t, nil)
			script, record := recorded(t, nil)
			_, err := c.Run(t.Context(), "hi", play(script), agent.WithMCPServers(tc.servers...))
			require.ErrorIs(t, err, agent.ErrInvalidRequest)
			assert.ErrorContains(t, err, "WithMCPServers")
			assert.ErrorContains(t, err, tc.want)
			assert.NoFileExists(t, record, "no CLI started")
			assert.Zero(t, c.Stats().Limiter.Admitted)
		})
	}
}
