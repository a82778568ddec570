package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"
)

// TestedCLIVersion is the claude CLI version this client is tested with.
// New logs a warning when the CLI it finds reports another one.
const TestedCLIVersion = "2.1.197"

// versionTimeout bounds `claude --version`, which takes about 0.3 s.
const versionTimeout = 30 * time.Second

// checkCLI runs `path --version`, as a check that the CLI runs at all, and
// logs the version it reports, with a warning when it is not the tested one.
// It times out on real time whatever Config.Clock is: a mock clock would
// never end a CLI that hangs.
func checkCLI(path string, log *slog.Logger) error {
	cmd := exec.Command(path, "--version")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLAUDECODE=") { // see cli.Request.env
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("agent: claude CLI %q does not run: %w", path, err)
	}
	timer := time.AfterFunc(versionTimeout, func() { cmd.Process.Kill() }) //nolint:errcheck // Wait reports it
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		if last := lastLine(stderr.String()); last != "" {
			return fmt.Errorf("agent: claude CLI %q does not run (`claude --version`: %w): %s", path, err, last)
		}
		return fmt.Errorf("agent: claude CLI %q does not run (`claude --version`: %w)", path, err)
	}
	fields := strings.Fields(stdout.String())
	if len(fields) == 0 {
		return fmt.Errorf("agent: claude CLI %q printed no version for `claude --version`", path)
	}
	version := fields[0]
	log.Info("claude CLI", "path", path, "version", version)
	if version != TestedCLIVersion {
		log.Warn("claude CLI version differs from the tested one", "version", version, "tested", TestedCLIVersion)
	}
	return nil
}

// lastLine is the last non-blank line of s, at most 200 bytes.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s[:min(len(s), 200)]
}
