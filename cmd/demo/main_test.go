package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
)

// TestMain lets the test binary double as the simulated CLI, as the demo
// binary does: run() uses os.Executable, which is this binary here.
func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	// Under -race, every simulated CLI (a copy of this binary) would sleep
	// a second before exiting (the race runtime's atexit_sleep_ms); the
	// processes inherit this environment.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}

// fast are flags that shrink a whole run to a few seconds: simulated waits
// at a tenth, and a burst of one query over a 60-a-minute window, so one
// waits for a token (about a second). The burst runs all at once: with 8
// at a time, a loaded machine took over a second to start the first 60,
// and the window never ran dry.
var fast = []string{"--scale", "0.1", "--rpm", "60", "--queries", "61", "--concurrency", "61"}

// runDemo runs the demo in-process with args and returns its exit code,
// stdout and stderr.
func runDemo(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr lockedBuffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// lockedBuffer is a bytes.Buffer safe for the demo's goroutines and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// onWrite, when set, sees every write.
	onWrite func(p []byte)
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.onWrite != nil {
		l.onWrite(p)
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
