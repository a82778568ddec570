package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// queryTimeout bounds every integration query: far above a run's wall time
// (about 0.6 s alone, a few seconds on a busy machine), so only a hang hits it.
const queryTimeout = 90 * time.Second

// realClient starts a client on the real claude CLI, on real time; edit
// adjusts the config first. It skips the test when the CLI is not installed
// (fails it under CI). The client is closed when the test ends.
func realClient(t *testing.T, edit func(*agent.Config)) *agent.Client {
	t.Helper()
	// No spares unless a test asks (warm_cli_test.go): each would cost a
	// CLI's start-up.
	cfg := agent.Config{CLIPath: fakeapi.CLIPath(t), Warm: agent.WarmConfig{Disabled: true}}
	if edit != nil {
		edit(&cfg)
	}
	c, err := agent.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// apiOpts points a query's CLI at srv (with maxRetries retries per request)
// and runs it in a fresh directory, away from this repository's files.
func apiOpts(t *testing.T, srv *fakeapi.Server, maxRetries int, more ...agent.Option) []agent.Option {
	t.Helper()
	var opts []agent.Option
	for _, kv := range srv.Env(t, maxRetries) {
		key, value, ok := strings.Cut(kv, "=")
		require.True(t, ok, "env entry %q", kv)
		opts = append(opts, agent.WithEnv(key, value))
	}
	opts = append(opts, agent.WithWorkingDir(t.TempDir()))
	return append(opts, more...)
}

// queryCtx is the test's context, bounded by queryTimeout.
func queryCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), queryTimeout)
	t.Cleanup(cancel)
	return ctx
}

// streamed is everything one Query yielded.
type streamed struct {
	msgs []agent.Message
	errs []error
}

// drain ranges over one Query and keeps what it yielded.
func drain(ctx context.Context, c *agent.Client, prompt string, opts ...agent.Option) streamed {
	var s streamed
	for msg, err := range c.Query(ctx, prompt, opts...) {
		if msg != nil {
			s.msgs = append(s.msgs, msg)
		}
		if err != nil {
			s.errs = append(s.errs, err)
		}
	}
	return s
}

// types lists the message types in order, with the subtype of system lines
// ("system/init").
func (s streamed) types() []string {
	var out []string
	for _, m := range s.msgs {
		name := m.Type()
		if sys, ok := m.(*agent.SystemMessage); ok {
			name += "/" + sys.Subtype
		}
		out = append(out, name)
	}
	return out
}

// result is the last message, which must be the result.
func (s streamed) result(t *testing.T) *agent.ResultMessage {
	t.Helper()
	require.NotEmpty(t, s.msgs, "no message; errors: %v", s.errs)
	r, ok := s.msgs[len(s.msgs)-1].(*agent.ResultMessage)
	require.True(t, ok, "last message is %s, errors: %v", s.msgs[len(s.msgs)-1].Type(), s.errs)
	return r
}

// text joins the text blocks of the assistant messages.
func (s streamed) text() string {
	var b strings.Builder
	for _, m := range s.msgs {
		if a, ok := m.(*agent.AssistantMessage); ok {
			for _, block := range a.Content {
				if tb, ok := block.(*agent.TextBlock); ok {
					b.WriteString(tb.Text)
				}
			}
		}
	}
	return b.String()
}

// markerOpt tags a query's CLI process, and every process it starts, with
// an environment variable unique to the test, for pidsWithEnv.
func markerOpt(t *testing.T) (agent.Option, string) {
	entry := fmt.Sprintf("AGENT_IT_MARKER=%s-%d", t.Name(), time.Now().UnixNano())
	key, value, _ := strings.Cut(entry, "=")
	return agent.WithEnv(key, value), entry
}

// pidsWithEnv lists the live processes whose environment holds entry.
// Processes of other users, or gone while reading, are skipped.
func pidsWithEnv(entry string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == entry && !dead(pid) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// dead reports whether pid is gone or a zombie (exited, not yet reaped).
func dead(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// parentOf is pid's parent pid, 0 when pid is gone (or was while reading).
func parentOf(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:])) // state, ppid, ...
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}
