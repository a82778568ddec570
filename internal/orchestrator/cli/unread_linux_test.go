//go:build linux

package cli

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// bulk is a fake writing 50 MB of 64 KiB lines, then its result, at most
// about 64 KiB per 200 us (300 MB/s; the real CLI writes what the API
// streams, far slower).
func bulk(then ...fakecli.Step) fakecli.Script {
	return append(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.PacedStdoutBytes(50<<20, 64<<10, 200*time.Microsecond)}, then...)
}

const bulkLines = (50<<20 + 64<<10 - 1) / (64 << 10)

// A caller that stops reading pauses the CLI once 1 MiB is unread, instead
// of letting its 50 MB pile up in memory; the output then arrives intact.
func TestStreamBoundsUnreadStdout(t *testing.T) {
	opt := fake(t)
	opt.MaxUnreadStdout = 1 << 20
	opt.Counters = new(Counters)
	var assistants int
	var errs []error
	for m, err := range Stream(testContext(t), request(bulk(fakecli.Line(fakecli.ResultLine("done", 0)))), opt) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.Type() == "system" { // a caller that pauses until the CLI is paused
			require.Eventually(t, func() bool { return opt.Counters.StdoutPauses.Load() > 0 }, safetyNet, time.Millisecond,
				"the CLI was never paused")
		}
		if _, ok := m.(*protocol.AssistantMessage); ok {
			assistants++
		}
	}
	assert.Empty(t, errs)
	assert.Equal(t, bulkLines, assistants, "every line arrives")
	// The bound is soft by what the fake writes between two looks (a
	// millisecond at 300 MB/s, tens of them on a loaded machine: 9.9 MB
	// was seen under -race with other tests running), far below the 50 MB
	// it writes.
	assert.Less(t, opt.Counters.MaxUnreadStdout.Load(), int64(16<<20))
	assert.Positive(t, opt.Counters.MaxUnreadStdout.Load())
	t.Logf("pauses %d, max unread %d bytes (bound %d)", opt.Counters.StdoutPauses.Load(), opt.Counters.MaxUnreadStdout.Load(), opt.MaxUnreadStdout)
}

// A paused CLI still stops when asked to: SIGCONT follows SIGTERM.
func TestStreamStopsAPausedCLI(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	opt := fake(t)
	opt.GracePeriod = time.Hour // no SIGKILL to save a paused CLI
	opt.MaxUnreadStdout = 1 << 20
	opt.Counters = new(Counters)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req := request(append(fakecli.Script{fakecli.TrapSIGTERM(), fakecli.Record(rec)}, bulk(fakecli.Hang())...))
	waitReaped := untilReaped(t, &req)
	var last error
	for _, err := range Stream(ctx, req, opt) {
		if ctx.Err() == nil {
			require.Eventually(t, func() bool { return opt.Counters.StdoutPauses.Load() > 0 }, safetyNet, time.Millisecond)
			cancel()
		}
		last = err
	}
	assert.ErrorIs(t, last, context.Canceled)
	waitReaped()
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}
