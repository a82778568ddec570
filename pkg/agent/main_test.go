package agent_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// TestMain lets the test binary double as the fake claude CLI: a query
// carrying a fakecli script re-executes this binary, which plays it.
func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	fakecli.AnswerVersion(agent.TestedCLIVersion) // for New's check of the CLI
	// The fake CLI is this race-enabled binary: spare each run the race
	// detector's one-second sleep at exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(m)
}

// fakeCLIPath is this test binary, which acts as the CLI (see TestMain).
func fakeCLIPath() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}

// newClient starts a client on the fake CLI and a mock clock; edit adjusts
// the config first. The client is closed when the test ends.
func newClient(t *testing.T, edit func(*agent.Config)) (*agent.Client, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	// No spares unless a test asks: a fake CLI's script plays as soon as
	// the process starts.
	cfg := agent.Config{CLIPath: fakeCLIPath(), Clock: mock, MaxConcurrent: 8, Warm: agent.WarmConfig{Disabled: true}}
	if edit != nil {
		edit(&cfg)
	}
	c, err := agent.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, mock
}

// play makes the query's CLI process play s.
func play(s fakecli.Script) agent.Option {
	key, value, _ := strings.Cut(fakecli.Env(s), "=")
	return agent.WithEnv(key, value)
}

// recorded prefixes s with a Record step writing to a fresh file, and
// returns the file's path: it exists only if a process was spawned.
func recorded(t *testing.T, s fakecli.Script) (fakecli.Script, string) {
	path := filepath.Join(t.TempDir(), "record.json")
	return append(fakecli.Script{fakecli.Record(path)}, s...), path
}

func readRecord(t *testing.T, path string) fakecli.Recording {
	t.Helper()
	rec, err := fakecli.ReadRecording(path)
	require.NoError(t, err)
	return rec
}

// argsOf is the argv the fake CLI recorded.
func argsOf(t *testing.T, path string) []string {
	return readRecord(t, path).Args
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}

func fileExists(path string) func() bool {
	return func() bool {
		_, err := os.Stat(path)
		return err == nil
	}
}

// assertDies asserts that pid, a grandchild, dies soon: gone or a zombie
// (its parent died too, so pid 1 reaps it, outside our control). A SIGKILLed
// group's members die a moment after its leader is reaped, so this polls.
func assertDies(t *testing.T, pid int, msg string) {
	t.Helper()
	assert.Eventually(t, func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		i := bytes.LastIndexByte(stat, ')')
		return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
	}, 10*time.Second, 5*time.Millisecond, msg)
}
