package agent_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// newLogged starts a client on cliPath whose log goes to the returned buffer.
func newLogged(t *testing.T, cliPath string) (*agent.Client, *syncBuffer, error) {
	t.Helper()
	var logs syncBuffer
	c, err := agent.New(agent.Config{CLIPath: cliPath, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, &logs, err
}

// New runs `claude --version` and logs the version; a version other than
// the tested one gets a warning.
func TestNewLogsTheCLIVersion(t *testing.T) {
	_, logs, err := newLogged(t, fakeCLIPath())
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "msg=\"claude CLI\"")
	assert.Contains(t, logs.String(), "version="+agent.TestedCLIVersion)
	assert.NotContains(t, logs.String(), "level=WARN")

	t.Setenv(fakecli.EnvVersion, "9.9.9")
	_, logs, err = newLogged(t, fakeCLIPath())
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "level=WARN msg=\"claude CLI version differs from the tested one\" version=9.9.9 tested="+agent.TestedCLIVersion)
}

// A CLI that does not run fails New with its path and what it said.
func TestNewRefusesACLIThatDoesNotRun(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "claude")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot load libnode' >&2\nexit 3\n"), 0o755))
	_, _, err := newLogged(t, broken)
	require.Error(t, err)
	assert.Contains(t, err.Error(), broken)
	assert.Contains(t, err.Error(), "does not run")
	assert.Contains(t, err.Error(), "cannot load libnode")

	silent := filepath.Join(t.TempDir(), "claude")
	require.NoError(t, os.WriteFile(silent, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	_, _, err = newLogged(t, silent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "printed no version")
}

// The real CLI reports the tested version.
func TestIntegrationNewChecksTheRealCLI(t *testing.T) {
	_, logs, err := newLogged(t, fakeapi.CLIPath(t))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "version="+agent.TestedCLIVersion)
	assert.NotContains(t, logs.String(), "level=WARN")
}
