package fakeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
)

// run is what one run of the real CLI printed.
type run struct {
	lines  []map[string]any // stdout, one decoded JSON object per line
	raw    []string         // stdout lines as printed
	stderr string
	exit   int
	wall   time.Duration
}

// byType returns the lines whose "type" (and "subtype" when given) match.
func (r run) byType(typ string, subtype ...string) []map[string]any {
	var out []map[string]any
	for _, l := range r.lines {
		if l["type"] != typ {
			continue
		}
		if len(subtype) > 0 && l["subtype"] != subtype[0] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// result returns the last line, which must be the result.
func (r run) result(t *testing.T) map[string]any {
	t.Helper()
	require.NotEmpty(t, r.lines, "no stdout; stderr: %s", r.stderr)
	last := r.lines[len(r.lines)-1]
	require.Equal(t, "result", last["type"], "last line: %s", r.raw[len(r.raw)-1])
	return last
}

// runCLI runs `claude -p --output-format stream-json --verbose extra...` with
// prompt on stdin against srv and decodes what it printed.
func runCLI(t *testing.T, srv *fakeapi.Server, maxRetries int, prompt string, extra ...string) run {
	t.Helper()
	path := fakeapi.CLIPath(t)
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	args := append([]string{"-p", "--output-format", "stream-json", "--verbose"}, extra...)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(withoutClaudeCode(os.Environ()), srv.Env(t, maxRetries)...)
	cmd.Stdin = strings.NewReader(prompt)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{stderr: stderr.String(), wall: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", path, err)
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "stdout line %q", sc.Text())
		r.lines = append(r.lines, m)
		r.raw = append(r.raw, sc.Text())
	}
	require.NoError(t, sc.Err())
	t.Logf("claude %s: exit %d in %v, %d lines, %d requests", strings.Join(extra, " "), r.exit, r.wall.Round(time.Millisecond), len(r.lines), len(srv.Requests()))
	return r
}

// withoutClaudeCode drops CLAUDECODE, which a Claude Code session sets and
// which would make the CLI refuse to run nested.
func withoutClaudeCode(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CLAUDECODE=") {
			out = append(out, kv)
		}
	}
	return out
}
