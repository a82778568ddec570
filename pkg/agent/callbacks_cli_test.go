package agent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// lastToolResult is the text of the tool_result blocks of srv's last
// request.
func lastToolResult(t *testing.T, srv *fakeapi.Server) string {
	t.Helper()
	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	var out []string
	for _, r := range msgs[len(msgs)-1].ToolResults() {
		out = append(out, string(r))
	}
	return strings.Join(out, "\n")
}

// workDir is the working directory apiOpts gave the query (its last
// WithWorkingDir).
func workDir(t *testing.T, opts []agent.Option) string {
	t.Helper()
	var o agent.Options
	for _, opt := range opts {
		opt(&o)
	}
	require.NotEmpty(t, o.WorkingDir)
	return o.WorkingDir
}

// The permission callback decides each tool use the CLI asks about: a
// deny keeps the tool from running and the model sees the message as the
// tool's error; an allow with changed input runs the changed command; a
// callback that panics is answered deny, and the host goes on.
func TestPermissionCallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		decide   agent.PermissionFunc
		made     string // the file the tool made, if any
		inResult string // what the model sees in the tool result
		isError  bool
	}{
		{
			name: "deny",
			decide: func(context.Context, agent.PermissionRequest) (agent.PermissionResult, error) {
				return agent.Deny("not today"), nil
			},
			inResult: "not today", isError: true,
		},
		{
			name: "allow with changed input",
			decide: func(_ context.Context, r agent.PermissionRequest) (agent.PermissionResult, error) {
				if r.ToolName != "Bash" || r.Input["command"] != "touch asked-for" {
					return agent.Deny("unexpected request"), nil
				}
				return agent.AllowWithInput(map[string]any{"command": "touch changed"}), nil
			},
			made: "changed",
		},
		{
			name: "panic",
			decide: func(context.Context, agent.PermissionRequest) (agent.PermissionResult, error) {
				panic("a bug in the callback")
			},
			inResult: "permission callback failed", isError: true,
		},
		{
			name: "error",
			decide: func(context.Context, agent.PermissionRequest) (agent.PermissionResult, error) {
				return agent.Allow(), errors.New("policy store down")
			},
			inResult: "policy store down", isError: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.ToolUse("touch asked-for"), fakeapi.Text("done"))
			c := realClient(t, nil)
			var asked atomic.Int32
			opts := apiOpts(t, srv, 0, agent.WithCanUseTool(func(ctx context.Context, r agent.PermissionRequest) (agent.PermissionResult, error) {
				asked.Add(1)
				return tc.decide(ctx, r)
			}))
			dir := workDir(t, opts)
			_, err := c.Run(queryCtx(t), "make a file", opts...)
			require.NoError(t, err)
			assert.EqualValues(t, 1, asked.Load(), "the CLI asked once")
			_, statErr := os.Stat(filepath.Join(dir, "asked-for"))
			assert.True(t, os.IsNotExist(statErr), "the model's own command never ran")
			if tc.made != "" {
				assert.FileExists(t, filepath.Join(dir, tc.made))
			}
			results := lastToolResult(t, srv)
			assert.Contains(t, results, tc.inResult)
			if tc.isError {
				assert.Contains(t, results, `"is_error":true`)
			}
			if tc.name == "panic" {
				assert.EqualValues(t, 1, c.Stats().Callbacks.Panics)
			}
		})
	}
}

// A permission callback's context ends when its turn ends: one that waits
// for it returns once the caller cancels the query.
func TestPermissionCallbackContextEndsWithTheTurn(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("touch x"), fakeapi.Text("done"))
	c := realClient(t, nil)
	ctx, cancel := context.WithCancel(queryCtx(t))
	defer cancel()
	ended := make(chan error, 1)
	opts := apiOpts(t, srv, 0, agent.WithCanUseTool(func(ctx context.Context, _ agent.PermissionRequest) (agent.PermissionResult, error) {
		cancel() // the caller gives up while the callback decides
		<-ctx.Done()
		ended <- ctx.Err()
		return agent.Deny("late"), nil
	}))
	_, err := c.Run(ctx, "make a file", opts...)
	require.ErrorIs(t, err, context.Canceled)
	assert.Error(t, <-ended, "the callback saw its context end")
	require.NoError(t, c.Close(), "the stopped CLI is reaped before its directory is removed")
}

// A PreToolUse hook blocks Bash with a reason: the tool does not run and
// the model sees the reason in the next request. Hooks work in one-shot
// queries and in sessions alike.
func TestPreToolUseHookBlocks(t *testing.T) {
	t.Parallel()
	block := func(_ context.Context, in agent.HookInput) (agent.HookOutput, error) {
		if in.Event != agent.PreToolUse || in.ToolName != "Bash" {
			return agent.HookOutput{}, nil
		}
		return agent.BlockTool("no shell on Fridays"), nil
	}
	run := map[string]func(t *testing.T, c *agent.Client, opts []agent.Option) error{
		"query": func(t *testing.T, c *agent.Client, opts []agent.Option) error {
			_, err := c.Run(queryCtx(t), "make a file", opts...)
			return err
		},
		"session": func(t *testing.T, c *agent.Client, opts []agent.Option) error {
			s, err := c.Session(queryCtx(t), opts...)
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Run(queryCtx(t), "make a file")
			return err
		},
	}
	for name, f := range run {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.ToolUse("touch blocked"), fakeapi.Text("done"))
			c := realClient(t, nil)
			var calls atomic.Int32
			opts := apiOpts(t, srv, 0, agent.WithAllowedTools("Bash"), agent.WithHook(agent.PreToolUse, "Bash",
				func(ctx context.Context, in agent.HookInput) (agent.HookOutput, error) {
					calls.Add(1)
					return block(ctx, in)
				}))
			dir := workDir(t, opts)
			require.NoError(t, f(t, c, opts))
			assert.EqualValues(t, 1, calls.Load())
			assert.NoFileExists(t, filepath.Join(dir, "blocked"), "the blocked tool never ran")
			assert.Contains(t, lastToolResult(t, srv), "no shell on Fridays")
		})
	}
}

// A hook that fails (panics) on PreToolUse is answered with the safe
// choice, a block: the tool does not run; on PostToolUse a failing hook
// changes nothing.
func TestFailingHooksAreSafe(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("touch guarded"), fakeapi.Text("done"))
	c := realClient(t, nil)
	var post atomic.Int32
	opts := apiOpts(t, srv, 0, agent.WithAllowedTools("Bash"),
		agent.WithHook(agent.PreToolUse, "Bash", func(context.Context, agent.HookInput) (agent.HookOutput, error) {
			panic("hook bug")
		}),
		agent.WithHook(agent.PostToolUse, "", func(context.Context, agent.HookInput) (agent.HookOutput, error) {
			post.Add(1)
			return agent.HookOutput{}, errors.New("never called: the tool is blocked")
		}))
	dir := workDir(t, opts)
	_, err := c.Run(queryCtx(t), "make a file", opts...)
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "guarded"))
	assert.Contains(t, lastToolResult(t, srv), "hook failed")
	assert.EqualValues(t, 1, c.Stats().Callbacks.Panics)
	assert.Zero(t, post.Load())
}
