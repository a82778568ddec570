package fakeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
// prompt on stdin against srv and decodes what it printed. Its stdout is a
// file, not a pipe: through a pipe the CLI loses output it has not flushed
// when it exits (see TestCLIPipeLosesLargeOutput).
func runCLI(t *testing.T, srv *fakeapi.Server, maxRetries int, prompt string, extra ...string) run {
	t.Helper()
	r, err := tryCLI(t, fakeapi.CLIPath(t), srv, maxRetries, prompt, extra...)
	require.NoError(t, err)
	return r
}

// tryCLI is runCLI for any goroutine: it reports failures as an error
// instead of stopping the test. path comes from fakeapi.CLIPath.
func tryCLI(t *testing.T, path string, srv *fakeapi.Server, maxRetries int, prompt string, extra ...string) (run, error) {
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		return run{}, err
	}
	defer out.Close()
	r, err := execCLI(t, path, srv, maxRetries, prompt, out, extra...)
	if err != nil {
		return r, err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return r, err
	}
	if err := r.decode(out); err != nil {
		return r, err
	}
	t.Logf("claude %s: exit %d in %v, %d lines, %d requests", strings.Join(extra, " "), r.exit, r.wall.Round(time.Millisecond), len(r.lines), len(srv.Requests()))
	return r, nil
}

// execCLI runs the CLI at path with stdout going to stdout and returns the
// exit code, stderr and wall time.
func execCLI(t *testing.T, path string, srv *fakeapi.Server, maxRetries int, prompt string, stdout io.Writer, extra ...string) (run, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	args := append([]string{"-p", "--output-format", "stream-json", "--verbose"}, extra...)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(withoutClaudeCode(os.Environ()), srv.Env(t, maxRetries)...)
	cmd.Stdin = strings.NewReader(prompt)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{stderr: stderr.String(), wall: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	case err != nil:
		return r, fmt.Errorf("run %s: %w", path, err)
	}
	return r, nil
}

// decode reads stdout lines into r.
func (r *run) decode(stdout io.Reader) error {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("stdout line of %d bytes: %w; starts %.300q, ends %.300q", len(sc.Bytes()), err, sc.Text(), tail(sc.Text(), 300))
		}
		r.lines = append(r.lines, m)
		r.raw = append(r.raw, sc.Text())
	}
	return sc.Err()
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

func tail(s string, n int) string {
	return s[max(0, len(s)-n):]
}
