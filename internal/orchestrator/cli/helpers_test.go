package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// safetyNet bounds a test that would otherwise hang on a regression; no
// assertion depends on it.
const safetyNet = 30 * time.Second

// fake returns Options running this test binary as the fake CLI.
func fake(t *testing.T) Options { return fakeOptions(t) }

// fakeOptions is fake for tests and benchmarks alike.
func fakeOptions(tb testing.TB) Options {
	tb.Helper()
	exe, err := os.Executable()
	require.NoError(tb, err)
	return Options{Path: exe, GracePeriod: 200 * time.Millisecond}
}

// request runs script with a short prompt.
func request(script fakecli.Script) Request {
	return Request{Prompt: "hi", Env: []string{fakecli.Env(script), noRaceExitSleep}}
}

// noRaceExitSleep spares the fake the race detector's 1 s sleep at exit.
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

// collect ranges over the stream to its end.
func collect(t *testing.T, ctx context.Context, req Request, opt Options) ([]protocol.Message, []error) {
	t.Helper()
	var msgs []protocol.Message
	var errs []error
	for m, err := range Stream(ctx, req, opt) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs, errs
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), safetyNet)
	t.Cleanup(cancel)
	return ctx
}

// types lists the messages' types, subtypes after a slash.
func types(msgs []protocol.Message) string {
	var s []string
	for _, m := range msgs {
		if sm, ok := m.(*protocol.SystemMessage); ok {
			s = append(s, m.Type()+"/"+sm.Subtype)
			continue
		}
		s = append(s, m.Type())
	}
	return strings.Join(s, " ")
}

// assertDies asserts that pid dies soon. A SIGKILLed process closes its
// files (our pipes' EOF) a moment before it is dead, so this polls.
func assertDies(t *testing.T, pid int, msg string) {
	t.Helper()
	assert.Eventually(t, func() bool { return dead(pid) }, 10*time.Second, 5*time.Millisecond, msg)
}

// dead reports whether pid is gone or a zombie: a killed grandchild whose
// parent died too waits for pid 1 to reap it, which is outside our control.
func dead(pid int) bool {
	if reaped(pid) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(string(b), &pid)
	require.NoError(t, err)
	return pid
}

// untilReaped sets req.Reaped; the returned func waits for that call and
// fails the test if Reaped is ever called twice.
func untilReaped(t *testing.T, req *Request) (wait func()) {
	t.Helper()
	done := make(chan struct{})
	var calls atomic.Int32
	req.Reaped = func() {
		if calls.Add(1) == 1 {
			close(done)
			return
		}
		t.Error("Reaped called more than once")
	}
	return func() {
		t.Helper()
		select {
		case <-done:
		case <-time.After(safetyNet):
			t.Fatal("Reaped never called")
		}
	}
}
