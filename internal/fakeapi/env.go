package fakeapi

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// CLIPathEnv names the environment variable that holds the path of the real
// claude CLI; the Makefile exports it once `make cli` has installed it.
const CLIPathEnv = "CLAUDE_CLI_PATH"

// repoCLI is where `make cli` installs the CLI, relative to the module root.
const repoCLI = ".tools/claude/node_modules/.bin/claude"

// CLIPath returns the path of the real claude CLI for an integration test:
// $CLAUDE_CLI_PATH, or else the copy `make cli` installs under .tools in the
// module root (found by walking up from the working directory to go.mod), so
// a plain `go test` works too. When there is none, it skips the test with one
// line, or fails it when the environment variable CI is non-empty.
func CLIPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(CLIPathEnv); p != "" {
		if isExecutable(p) {
			return p
		}
		missing(t, fmt.Sprintf("fakeapi: %s=%q is not an executable file", CLIPathEnv, p))
		return ""
	}
	if p := findRepoCLI(); p != "" {
		return p
	}
	missing(t, "fakeapi: claude CLI not installed ("+CLIPathEnv+" unset; run `make cli`)")
	return ""
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
		return
	}
	t.Skip(msg)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func findRepoCLI() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, repoCLI)
			if isExecutable(p) {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Env returns the environment, as "KEY=VALUE" entries, that points the real
// CLI at s and keeps it quick and offline: a fresh HOME from t.TempDir() (the
// CLI writes sessions under ~/.claude), ANTHROPIC_BASE_URL, a dummy
// ANTHROPIC_API_KEY, CLAUDE_CODE_MAX_RETRIES=maxRetries, and switches that
// turn off telemetry, error reporting, auto-update and other non-essential
// traffic. Add it to the inherited environment (later entries win in
// os/exec), for instance as the per-query Env of a request.
//
// The inherited environment must not carry CLAUDECODE (set inside a Claude
// Code session), which these entries cannot unset.
func (s *Server) Env(t testing.TB, maxRetries int) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"CLAUDE_CONFIG_DIR=" + filepath.Join(home, ".claude"),
		"ANTHROPIC_BASE_URL=" + s.URL(),
		"ANTHROPIC_API_KEY=sk-ant-fakeapi-0000",
		"ANTHROPIC_AUTH_TOKEN=",
		fmt.Sprintf("CLAUDE_CODE_MAX_RETRIES=%d", maxRetries),
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	}
}
