package fakecli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func TestMain(m *testing.M) {
	RunIfRequested()
	os.Exit(m.Run())
}

// runFake plays s in a re-executed test binary with stdin.
func runFake(t *testing.T, s Script, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), Env(s), "GORACE=atexit_sleep_ms=0")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errb.String(), 0
}

func TestPlaysScript(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	t.Setenv("FAKE_KEEP", "kept")
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, []byte("from a file\n"), 0o600))
	stdout, stderr, code := runFake(t, Script{
		Record(rec, "FAKE_KEEP", "FAKE_ABSENT"),
		Cat(big),
		Line("one"),
		Chunked(time.Millisecond, "tw", "o\r\n"),
		Stderr("warn\n"),
		StderrBytes(250),
		Write("last"),
		Exit(3),
		Line("never"),
	}, "the prompt", "-p", "--model=x")
	assert.Equal(t, 3, code)
	assert.Equal(t, "from a file\none\ntwo\r\nlast", stdout)
	assert.Equal(t, "warn\n", stderr[:5])
	assert.Len(t, stderr, 5+250)

	r, err := ReadRecording(rec)
	require.NoError(t, err)
	assert.Equal(t, []string{"-p", "--model=x"}, r.Args)
	assert.Equal(t, "the prompt", r.Stdin)
	assert.Equal(t, map[string]string{"FAKE_KEEP": "kept"}, r.Env)
	assert.NotEmpty(t, r.Dir)
	assert.NotZero(t, r.Pid)
}

func TestBadScriptFails(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvVar+`=[{"op":"nope"}]`, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitBadScript, ee.ExitCode())
	assert.Contains(t, string(out), `unknown op "nope"`)
}

func TestReadyMadeLinesDecode(t *testing.T) {
	stdout, _, code := runFake(t, Success("hello \"world\"", 0.25), "")
	assert.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3)
	msgs := decodeAll(t, lines)
	require.IsType(t, &protocol.SystemMessage{}, msgs[0])
	assert.Equal(t, "2.1.197", msgs[0].(*protocol.SystemMessage).Init.ClaudeCodeVersion)
	assert.Equal(t, []protocol.ContentBlock{&protocol.TextBlock{Text: "hello \"world\""}}, msgs[1].(*protocol.AssistantMessage).Content)
	res := msgs[2].(*protocol.ResultMessage)
	assert.Equal(t, 0.25, res.TotalCostUSD)
	assert.False(t, res.IsError)
	assert.Equal(t, SessionID, res.SessionID)

	stdout, _, code = runFake(t, APIErrorResult(529), "")
	assert.Equal(t, 1, code)
	msgs = decodeAll(t, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))
	require.Len(t, msgs, 3)
	assert.Equal(t, "<synthetic>", msgs[1].(*protocol.AssistantMessage).Model)
	res = msgs[2].(*protocol.ResultMessage)
	assert.True(t, res.IsError)
	assert.Equal(t, "success", res.Subtype)
	assert.Equal(t, 529, res.APIErrorStatus)
	assert.Equal(t, "API Error: 529 Overloaded", res.Result)

	msgs = decodeAll(t, []string{ErrorResultLine(400, "API Error: 400 bad thing")})
	assert.Equal(t, "API Error: 400 bad thing", msgs[0].(*protocol.ResultMessage).Result)
	msgs = decodeAll(t, []string{strings.TrimSuffix(APIErrorResult(400, "custom")[2].Data, "\n")})
	assert.Equal(t, "custom", msgs[0].(*protocol.ResultMessage).Result)

	retry := decodeAll(t, []string{strings.TrimSuffix(Retry429(7000).Data, "\n")})[0].(*protocol.SystemMessage)
	assert.Equal(t, &protocol.APIRetry{Attempt: 1, MaxRetries: 10, RetryDelayMS: 7000, ErrorStatus: 429, Error: "rate_limit"}, retry.APIRetry)

	at := time.Unix(1771390800, 0)
	rl := decodeAll(t, []string{strings.TrimSuffix(RateLimitRejected(at).Data, "\n")})[0].(*protocol.RateLimitEvent)
	assert.Equal(t, "rejected", rl.Status)
	assert.True(t, at.Equal(rl.ResetsAt))
}

func decodeAll(t *testing.T, lines []string) []protocol.Message {
	t.Helper()
	var out []protocol.Message
	for _, l := range lines {
		m, err := protocol.Decode([]byte(l))
		require.NoError(t, err, l)
		out = append(out, m)
	}
	return out
}

func TestEchoAnswersThePrompt(t *testing.T) {
	stdout, _, code := runFake(t, Script{Echo()}, "what the user asked")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3)
	msg, err := protocol.Decode([]byte(lines[2]))
	require.NoError(t, err)
	result, ok := msg.(*protocol.ResultMessage)
	require.True(t, ok, "last line is %s", lines[2])
	assert.Equal(t, "what the user asked", result.Result)
}
