package agent_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
)

// TestExamples runs the examples, as a user would copy them, against the
// real CLI and the fake Messages API: the environment they inherit points
// the CLI (found through $CLAUDE_CLI_PATH) at the fake, and their working
// directory is an empty one. It checks what they print.
func TestExamples(t *testing.T) {
	cliPath := fakeapi.CLIPath(t)
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Text("Hello!"))
	t.Setenv("CLAUDE_CLI_PATH", cliPath)
	for _, kv := range srv.Env(t, 0) {
		key, value, _ := strings.Cut(kv, "=")
		t.Setenv(key, value)
	}
	if _, ok := os.LookupEnv("CLAUDECODE"); ok { // set inside a Claude Code session
		t.Setenv("CLAUDECODE", "")
		os.Unsetenv("CLAUDECODE")
	}
	t.Chdir(t.TempDir())

	tests := []struct {
		name    string
		run     func()
		answers []fakeapi.Answer // before the default "Hello!"
		want    string
	}{
		{"Query", ExampleClient_Query, nil, "session started\nassistant: Hello!\nresult: Hello! (1 turn)\n"},
		{"Run", ExampleClient_Run, nil, "Hello!\ncost known: true\n"},
		{"RunBatch", ExampleClient_RunBatch, nil, "0: Hello!\n1: Hello!\n2: Hello!\nadmitted: 3\n"},
		{"Serve", ExampleClient_Serve, nil, "Hello!\nserve: context canceled\nafter: true\n"},
		{"Session", ExampleClient_Session, []fakeapi.Answer{fakeapi.Text("Hello, Ada."), fakeapi.Text("Your name is Ada.")},
			"Hello, Ada. (this turn: 0.00021 USD)\nYour name is Ada. (this turn: 0.00021 USD)\n"},
		{"WithHook", ExampleWithHook, []fakeapi.Answer{fakeapi.ToolUse("rm -rf build"), fakeapi.Text("I may not delete it.")},
			"blocked: rm -rf build\nI may not delete it.\n"},
		{"WithCanUseTool", ExampleWithCanUseTool, []fakeapi.Answer{fakeapi.ToolUse("touch todo.txt"), fakeapi.Text("Made it.")},
			"asked for Bash touch todo.txt\nMade it.\nnotes.txt made: true\n"},
		{"WithMCPServers", ExampleWithMCPServers, []fakeapi.Answer{fakeapi.ToolCall("mcp__calc__add", map[string]int{"a": 2, "b": 3}), fakeapi.Text("2+3 = 5")},
			"add(2, 3)\n2+3 = 5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Enqueue(tt.answers...)
			assert.Equal(t, tt.want, stdoutOf(t, tt.run))
		})
	}
}

// stdoutOf runs f with os.Stdout sent to a pipe and returns what it wrote.
// The test must not run in parallel with others (os.Stdout is global).
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	read := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		read <- string(b)
	}()
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	f()
	w.Close()
	return <-read
}
