package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// install writes an executable "claude" in dir.
func install(t *testing.T, dir string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, "claude")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	return p
}

func TestFindOrder(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	explicit := install(t, filepath.Join(root, "explicit"))
	fromEnv := install(t, filepath.Join(root, "env"))
	onPath := install(t, filepath.Join(root, "path"))
	npmGlobal := install(t, filepath.Join(home, ".npm-global/bin"))
	local := install(t, filepath.Join(home, ".local/bin"))

	env := map[string]string{}
	pathHit := true
	f := finder{
		getenv: func(k string) string { return env[k] },
		lookPath: func(string) (string, error) {
			if pathHit {
				return onPath, nil
			}
			return "", exec.ErrNotFound
		},
		home: home,
		dirs: []string{"~/.npm-global/bin", filepath.Join(root, "nowhere"), "~/.local/bin"},
	}
	env[EnvCLIPath] = fromEnv
	steps := []struct {
		explicit string
		want     string
		then     func()
	}{
		{explicit, explicit, func() {}},
		{"", fromEnv, func() { delete(env, EnvCLIPath) }},
		{"", onPath, func() { pathHit = false }},
		{"", npmGlobal, func() { require.NoError(t, os.Remove(npmGlobal)) }},
		{"", local, func() { require.NoError(t, os.Chmod(local, 0o644)) }},
	}
	for _, s := range steps {
		got, err := f.find(s.explicit)
		require.NoError(t, err)
		assert.Equal(t, s.want, got)
		s.then()
	}
	_, err := f.find("")
	assert.ErrorIs(t, err, protocol.ErrCLINotFound)
	assert.Contains(t, err.Error(), "npm install -g @anthropic-ai/claude-code")
}

func TestFindBadExplicitPath(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "claude")
	require.NoError(t, os.WriteFile(notExec, nil, 0o644))
	f := finder{getenv: func(string) string { return "" }, lookPath: exec.LookPath}
	tests := []struct {
		path     string
		is       error
		notFound bool // nothing to run there: matches ErrCLINotFound, says how to install
	}{
		{filepath.Join(dir, "missing"), os.ErrNotExist, true},
		{notExec, errNotExecutable, false},
		{dir, errIsDir, true},
	}
	for _, tt := range tests {
		_, err := f.find(tt.path)
		assert.ErrorIs(t, err, tt.is)
		assert.Contains(t, err.Error(), tt.path)
		assert.Equal(t, tt.notFound, errors.Is(err, protocol.ErrCLINotFound), tt.path)
		if tt.notFound {
			assert.Contains(t, err.Error(), "npm install -g @anthropic-ai/claude-code")
		}
	}
}

func TestFindEnvPathIsChecked(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "claude")
	t.Setenv(EnvCLIPath, missing)
	_, err := Find("")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorIs(t, err, protocol.ErrCLINotFound)
	assert.Contains(t, err.Error(), "$CLAUDE_CLI_PATH")
}

func TestFindMakesPathsAbsolute(t *testing.T) {
	dir := t.TempDir()
	install(t, dir)
	t.Chdir(dir)
	got, err := Find("./claude")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "claude"), got)
}

func TestFindNothingInstalled(t *testing.T) {
	t.Setenv(EnvCLIPath, "")
	t.Setenv("PATH", t.TempDir())
	f := finder{getenv: os.Getenv, lookPath: exec.LookPath, home: t.TempDir(), dirs: []string{"~/.local/bin"}}
	_, err := f.find("")
	assert.ErrorIs(t, err, protocol.ErrCLINotFound)
}
