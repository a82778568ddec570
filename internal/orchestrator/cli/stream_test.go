package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func TestStreamSuccess(t *testing.T) {
	msgs, errs := collect(t, testContext(t), request(fakecli.Success("hello", 0.25)), fake(t))
	assert.Empty(t, errs)
	require.Equal(t, "system/init assistant result", types(msgs))
	res := msgs[2].(*protocol.ResultMessage)
	assert.Equal(t, "hello", res.Result)
	assert.Equal(t, 0.25, res.TotalCostUSD)
}

func TestStreamLines(t *testing.T) {
	init, result := fakecli.InitLine(), fakecli.ResultLine("done", 0)
	big := fakecli.AssistantLine(strings.Repeat("x", 5<<20))
	bigFile := filepath.Join(t.TempDir(), "big.jsonl")
	require.NoError(t, os.WriteFile(bigFile, []byte(big+"\n"), 0o600))

	tests := []struct {
		name   string
		script fakecli.Script
		want   string
	}{
		{"5 MB line", fakecli.Script{fakecli.Line(init), fakecli.Cat(bigFile), fakecli.Line(result)},
			"system/init assistant result"},
		{"line split across writes", fakecli.Script{
			fakecli.Chunked(20*time.Millisecond, init[:10], init[10:50], init[50:]+"\n"+result[:7], result[7:]+"\n"),
		}, "system/init result"},
		{"CRLF endings", fakecli.Script{fakecli.Write(init + "\r\n" + result + "\r\n")}, "system/init result"},
		{"no newline after the last line", fakecli.Script{fakecli.Line(init), fakecli.Write(result)}, "system/init result"},
		{"blank lines and noise", fakecli.Script{
			fakecli.Line(""), fakecli.Line("Warning: something on stdout"), fakecli.Line(init),
			fakecli.Write("   \r\n\n"), fakecli.Line("[1,2]"), fakecli.Line("  " + result + "  "),
		}, "system/init result"},
		{"unknown message types", fakecli.Script{
			fakecli.Line(init), fakecli.Line(`{"type":"brand_new_kind","payload":{"x":[1]}}`), fakecli.Line(result),
		}, "system/init brand_new_kind result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := collect(t, testContext(t), request(tt.script), fake(t))
			assert.Empty(t, errs)
			assert.Equal(t, tt.want, types(msgs))
			for _, m := range msgs {
				assert.Equal(t, byte('{'), m.Raw()[0])
				assert.Equal(t, byte('}'), m.Raw()[len(m.Raw())-1])
			}
		})
	}
	t.Run("5 MB line content", func(t *testing.T) {
		msgs, errs := collect(t, testContext(t), request(fakecli.Script{fakecli.Cat(bigFile), fakecli.Line(result)}), fake(t))
		assert.Empty(t, errs)
		require.Len(t, msgs, 2)
		text := msgs[0].(*protocol.AssistantMessage).Content[0].(*protocol.TextBlock).Text
		assert.Len(t, text, 5<<20)
		assert.Equal(t, big, string(msgs[0].Raw()))
	})
}

func TestStreamMalformedLineGoesOn(t *testing.T) {
	msgs, errs := collect(t, testContext(t), request(fakecli.Script{
		fakecli.Line(fakecli.InitLine()), fakecli.Line(`{"type":"assistant","message":{`), fakecli.Line(fakecli.ResultLine("ok", 0)),
	}), fake(t))
	assert.Equal(t, "system/init result", types(msgs))
	require.Len(t, errs, 1)
	var de *protocol.DecodeError
	require.ErrorAs(t, errs[0], &de)
	assert.Equal(t, `{"type":"assistant","message":{`, de.Excerpt)
}

func TestStreamLineTooLong(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	opt := fake(t)
	opt.MaxLineBytes = 1000
	long := filepath.Join(t.TempDir(), "long.jsonl")
	require.NoError(t, os.WriteFile(long, []byte(fakecli.AssistantLine(strings.Repeat("y", 200_000))+"\n"), 0o600))
	req := request(fakecli.Script{
		fakecli.Record(rec),
		fakecli.Line(fakecli.InitLine()),
		fakecli.Cat(long),
		fakecli.Line(fakecli.ResultLine("never seen", 0)),
		fakecli.Hang(),
	})
	waitReaped := untilReaped(t, &req)
	msgs, errs := collect(t, testContext(t), req, opt)
	waitReaped()
	assert.Equal(t, "system/init", types(msgs))
	require.Len(t, errs, 1)
	var tooLong *protocol.LineTooLongError
	require.ErrorAs(t, errs[0], &tooLong)
	assert.Equal(t, 1000, tooLong.Limit)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid), "the CLI is stopped and reaped")
}

func TestStreamStderrBeforeStdoutDoesNotDeadlock(t *testing.T) {
	var lines int
	opt := fake(t)
	opt.OnStderr = func(string) { lines++ }
	opt.Callbacks = callback.New(nil, nil)
	opt.Counters = new(Counters)
	script := append(fakecli.Script{fakecli.StderrBytes(1 << 20)}, fakecli.Success("after the noise", 0)...)
	msgs, errs := collect(t, testContext(t), request(script), opt)
	assert.Empty(t, errs)
	assert.Equal(t, "system/init assistant result", types(msgs))
	require.Zero(t, opt.Callbacks.Wait(safetyNet))
	assert.Positive(t, lines)
	assert.EqualValues(t, (1<<20+99)/100, int64(lines)+opt.Counters.StderrDropped.Load(), "each line is delivered or counted")
}

func TestStreamExitWithoutResult(t *testing.T) {
	tests := []struct {
		name   string
		script fakecli.Script
		tail   int
		want   protocol.ProcessError
	}{
		{"exit 1 with stderr", fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Stderr("Error: invalid model\n"), fakecli.Exit(1)}, 0,
			protocol.ProcessError{ExitCode: 1, Stderr: "Error: invalid model\n"}},
		{"stderr tail is bounded", fakecli.Script{fakecli.StderrBytes(10_000), fakecli.Stderr("last words\n"), fakecli.Exit(2)}, 100,
			protocol.ProcessError{ExitCode: 2, Stderr: strings.Repeat("e", 88) + "\nlast words\n"}},
		{"exit 0 without a result", fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Exit(0)}, 0,
			protocol.ProcessError{ExitCode: 0}},
		{"killed by SIGKILL", fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Kill(syscall.SIGKILL)}, 0,
			protocol.ProcessError{ExitCode: -1, Signal: "killed"}},
		{"killed by SIGTERM", fakecli.Script{fakecli.Kill(syscall.SIGTERM)}, 0,
			protocol.ProcessError{ExitCode: -1, Signal: "terminated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := fake(t)
			opt.StderrTailBytes = tt.tail
			_, errs := collect(t, testContext(t), request(tt.script), opt)
			require.Len(t, errs, 1)
			var pe *protocol.ProcessError
			require.ErrorAs(t, errs[0], &pe)
			assert.Equal(t, tt.want, *pe)
		})
	}
}

func TestStreamAPIErrorResult(t *testing.T) {
	msgs, errs := collect(t, testContext(t), request(fakecli.APIErrorResult(529)), fake(t))
	assert.Equal(t, "system/init assistant result", types(msgs))
	require.Len(t, errs, 1, "an APIError, and no ProcessError for the exit code 1")
	var apiErr *protocol.APIError
	require.ErrorAs(t, errs[0], &apiErr)
	assert.Equal(t, protocol.APIError{Status: 529, Subtype: "success", Message: "API Error: 529 Overloaded"}, *apiErr)
}

func TestStreamAPIErrorFollowsItsResult(t *testing.T) {
	var order []string
	for m, err := range Stream(testContext(t), request(fakecli.APIErrorResult(400, "API Error: 400 bad thing")), fake(t)) {
		if err != nil {
			order = append(order, "error")
			continue
		}
		order = append(order, m.Type())
	}
	assert.Equal(t, []string{"system", "assistant", "result", "error"}, order)
}

func TestStreamIgnoringSIGTERMGetsSIGKILL(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	opt := fake(t) // 200 ms grace
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	start := time.Now()
	var errs []error
	req := request(fakecli.Script{
		fakecli.IgnoreSIGTERM(), fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Hang(),
	})
	waitReaped := untilReaped(t, &req)
	for m, err := range Stream(ctx, req, opt) {
		if m != nil {
			cancel()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	waitReaped()
	assert.GreaterOrEqual(t, time.Since(start), opt.GracePeriod, "SIGKILL only after the grace period")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], context.Canceled)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}

func TestStreamIdleTimeout(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	mock := clock.NewMock()
	ready := make(chan struct{})
	opt := fake(t)
	opt.Clock = mock
	opt.IdleTimeout = time.Minute
	opt.OnStderr = func(line string) {
		if line == "ready" {
			close(ready)
		}
	}
	done := make(chan []error)
	req := request(fakecli.Script{fakecli.Record(rec), fakecli.Stderr("ready\n"), fakecli.Hang()})
	waitReaped := untilReaped(t, &req)
	go func() {
		_, errs := collect(t, testContext(t), req, opt)
		done <- errs
	}()
	<-ready
	mock.Add(59 * time.Second)
	select {
	case errs := <-done:
		t.Fatalf("stopped before the idle timeout: %v", errs)
	default:
	}
	mock.Add(time.Second)
	errs := <-done
	waitReaped()
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], protocol.ErrIdleTimeout)
	assert.NotErrorIs(t, errs[0], context.Canceled)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}

func TestStreamIdleTimeoutIgnoresTheConsumersTime(t *testing.T) {
	mock := clock.NewMock()
	opt := fake(t)
	opt.Clock = mock
	opt.IdleTimeout = time.Minute
	var msgs []protocol.Message
	var errs []error
	for m, err := range Stream(testContext(t), request(fakecli.Success("slowly read", 0)), opt) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msgs = append(msgs, m)
		mock.Add(10 * time.Minute) // a slow loop body
	}
	assert.Empty(t, errs)
	assert.Equal(t, "system/init assistant result", types(msgs))
}

func TestStreamEarlyBreakStopsTheGroup(t *testing.T) {
	dir := t.TempDir()
	rec, childPid := filepath.Join(dir, "rec.json"), filepath.Join(dir, "child.pid")
	req := request(fakecli.Script{
		fakecli.Record(rec),
		fakecli.Spawn(childPid, fakecli.Script{fakecli.Hang()}),
		fakecli.Line(fakecli.InitLine()),
		fakecli.Line(fakecli.AssistantLine("more")),
		fakecli.Hang(),
	})
	waitReaped := untilReaped(t, &req)
	for m := range Stream(testContext(t), req, fake(t)) {
		require.NotNil(t, m)
		break
	}
	waitReaped()
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid), "the CLI is reaped")
	assertDies(t, readPid(t, childPid), "its child is killed too")
}

func TestStreamGrandchildKilledAfterNormalExit(t *testing.T) {
	childPid := filepath.Join(t.TempDir(), "child.pid")
	script := append(fakecli.Script{fakecli.Spawn(childPid, fakecli.Script{fakecli.Hang()})}, fakecli.Success("ok", 0)...)
	msgs, errs := collect(t, testContext(t), request(script), fake(t))
	assert.Empty(t, errs)
	assert.Equal(t, "system/init assistant result", types(msgs))
	assertDies(t, readPid(t, childPid), "no orphan outlives the query")
}

func TestStreamContextCancelMidStream(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	var msgs []protocol.Message
	var errs []error
	req := request(fakecli.Script{fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Hang()})
	waitReaped := untilReaped(t, &req)
	for m, err := range Stream(ctx, req, fake(t)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msgs = append(msgs, m)
		cancel()
	}
	waitReaped()
	assert.Equal(t, "system/init", types(msgs))
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], context.Canceled)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}

func TestStreamContextCause(t *testing.T) {
	cause := errors.New("client closed")
	ctx, cancel := context.WithCancelCause(testContext(t))
	defer cancel(nil)
	var errs []error
	for m, err := range Stream(ctx, request(fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Hang()}), fake(t)) {
		if m != nil {
			cancel(cause)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], context.Canceled)
	assert.ErrorIs(t, errs[0], cause)
}

func TestStreamContextDoneBeforeStart(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, errs := collect(t, ctx, request(fakecli.Script{fakecli.Record(rec)}), fake(t))
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], context.Canceled)
	assert.NoFileExists(t, rec, "the CLI never started")
}

func TestStreamIsLazyAndSingleUse(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	s := Stream(testContext(t), request(append(fakecli.Script{fakecli.Record(rec)}, fakecli.Success("once", 0)...)), fake(t))
	assert.NoFileExists(t, rec, "nothing runs before ranging")
	n := 0
	for _, err := range s {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 3, n)
	for _, err := range s {
		assert.ErrorIs(t, err, errReused)
	}
}

func TestStreamBigPromptGoesThroughStdin(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	prompt := strings.Repeat("0123456789abcdef", 300_000/16) + "\nthe end"
	req := request(append(fakecli.Script{fakecli.Record(rec)}, fakecli.Success("read it", 0)...))
	req.Prompt = prompt
	_, errs := collect(t, testContext(t), req, fake(t))
	assert.Empty(t, errs)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, len(prompt), len(r.Stdin))
	assert.True(t, r.Stdin == prompt, "the prompt arrives intact")
	for _, a := range r.Args {
		assert.NotContains(t, a, "the end", "no prompt in argv")
	}
}

func TestStreamArgs(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	dir := t.TempDir()
	req := request(append(fakecli.Script{fakecli.Record(rec)}, fakecli.Success("ok", 0)...))
	req.Prompt = "--model=evil"
	req.Model = "claude-opus-4"
	req.SystemPrompt = "--dangerously-skip-permissions"
	req.AppendSystemPrompt = "Be brief."
	req.MaxTurns = 3
	req.AllowedTools = []string{"Bash(git *)", "Read"}
	req.DisallowedTools = []string{"Write"}
	req.PermissionMode = "acceptEdits"
	req.WorkingDir = dir
	req.Resume = "-r"
	req.MaxBudgetUSD = 0.5
	req.PartialMessages = true
	_, errs := collect(t, testContext(t), req, fake(t))
	assert.Empty(t, errs)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"-p", "--output-format", "stream-json", "--verbose", "--input-format", "stream-json",
		"--model=claude-opus-4",
		"--system-prompt=--dangerously-skip-permissions",
		"--append-system-prompt=Be brief.",
		"--max-turns=3",
		"--allowedTools=Bash(git *),Read",
		"--disallowedTools=Write",
		"--permission-mode=acceptEdits",
		"--resume=-r",
		"--max-budget-usd=0.5",
		"--include-partial-messages",
	}, r.Args)
	assert.Equal(t, "--model=evil", r.Stdin)
	wantDir, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	assert.Equal(t, wantDir, r.Dir)
}

func TestStreamMinimalArgs(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	_, errs := collect(t, testContext(t), request(append(fakecli.Script{fakecli.Record(rec)}, fakecli.Success("ok", 0)...)), fake(t))
	assert.Empty(t, errs)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, []string{"-p", "--output-format", "stream-json", "--verbose", "--input-format", "stream-json"}, r.Args)
}

func TestStreamEnv(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	t.Setenv("CLAUDECODE", "1")
	t.Setenv("INHERITED", "from parent")
	t.Setenv("OVERRIDDEN", "parent")
	req := request(append(fakecli.Script{fakecli.Record(rec, "CLAUDECODE", "INHERITED", "OVERRIDDEN", "ADDED")}, fakecli.Success("ok", 0)...))
	req.Env = append(req.Env, "ADDED=yes", "OVERRIDDEN=query")
	_, errs := collect(t, testContext(t), req, fake(t))
	assert.Empty(t, errs)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"INHERITED": "from parent", "OVERRIDDEN": "query", "ADDED": "yes"}, r.Env)
}

func TestStreamRequestValidation(t *testing.T) {
	for _, req := range []Request{
		{MaxTurns: -1}, {MaxBudgetUSD: -1}, {Env: []string{"NOEQUALS"}}, {Env: []string{"=x"}},
	} {
		_, errs := collect(t, testContext(t), req, fake(t))
		require.Len(t, errs, 1)
		assert.True(t, strings.HasPrefix(errs[0].Error(), "agent: "), errs[0].Error())
	}
}

func TestStreamBadCLIPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-claude")
	opt := fake(t)
	opt.Path = missing
	_, errs := collect(t, testContext(t), request(fakecli.Success("x", 0)), opt)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], os.ErrNotExist)
	assert.Contains(t, errs[0].Error(), missing)
}

// The stream ends at the result: a CLI that lingers afterwards is stopped
// after the grace period, and that is no error.
func TestStreamStopsACLILingeringAfterItsResult(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	script := fakecli.Script{fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.Hang()}
	msgs, errs := collect(t, testContext(t), request(script), fake(t))
	assert.Empty(t, errs)
	assert.Equal(t, "system/init result", types(msgs))
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.True(t, reaped(r.Pid))
}

// Whatever the CLI prints after its result (a spurious second result has
// been seen from the real CLI) is not part of the stream.
func TestStreamEndsAtTheFirstResult(t *testing.T) {
	script := append(fakecli.Success("fine", 0)[:3:3], fakecli.Line(fakecli.ErrorResultLine(500, "spurious")), fakecli.Exit(1))
	msgs, errs := collect(t, testContext(t), request(script), fake(t))
	assert.Empty(t, errs)
	assert.Equal(t, "system/init assistant result", types(msgs))
	assert.False(t, msgs[2].(*protocol.ResultMessage).IsError)
}

// A descendant that left the process group (setsid) and holds stdout and
// stderr open is found by the run's token and killed when the query ends:
// it delays nothing, whatever the grace period.
func TestStreamKillsAnEscapedDescendant(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  fakecli.Script
		errs int
	}{
		{"after a result", fakecli.Success("ok", 0), 0},
		{"exit without a result", fakecli.Script{fakecli.Line(fakecli.InitLine()), fakecli.Exit(1)}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "escaped.pid")
			script := append(fakecli.Script{fakecli.SpawnEscaped(pidFile, fakecli.Script{fakecli.Hang()})}, tt.end...)
			opt := fake(t)
			opt.GracePeriod = time.Hour // a wait for the escapee would show
			opt.Counters = new(Counters)
			returned := make(chan struct{})
			go func() { // the safety net of a regression
				select {
				case <-returned:
				case <-time.After(safetyNet):
					killPid(readPid(t, pidFile)) //nolint:errcheck // best effort
				}
			}()
			_, errs := collect(t, testContext(t), request(script), opt)
			close(returned)
			assert.Len(t, errs, tt.errs)
			assertDies(t, readPid(t, pidFile), "the escaped descendant outlived the query")
			assert.EqualValues(t, 1, opt.Counters.EscapedKilled.Load())
		})
	}
}

// The prompt goes in as one stream-json user turn and stdin stays open
// while the turn runs; the stream closes it once it has the result, and a
// CLI that waits for that (as the real one does between turns) then exits
// by itself, without being stopped.
func TestStreamClosesStdinAtTheResult(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	script := fakecli.Script{
		fakecli.Record(rec), // reads the first line: the user turn
		fakecli.Line(fakecli.InitLine()), fakecli.Line(fakecli.ResultLine("done", 0)),
		fakecli.AwaitStdinEOF(), fakecli.Exit(0),
	}
	opt := fake(t)
	opt.GracePeriod = time.Hour // a stop would hang the test: only stdin's EOF ends it
	ctx := testContext(t)
	msgs, errs := collect(t, ctx, Request{Prompt: "a \"quoted\"\nprompt", Env: []string{fakecli.Env(script), noRaceExitSleep}}, opt)
	require.NoError(t, ctx.Err(), "the CLI never saw stdin close")
	assert.Empty(t, errs)
	assert.Equal(t, "system/init result", types(msgs))
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, "a \"quoted\"\nprompt", r.Stdin, "the user turn's content")
	assert.Contains(t, strings.Join(r.Args, " "), "--input-format stream-json")
}
