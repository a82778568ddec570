// Package cli runs the claude CLI as a subprocess, two-way, in stream-json:
// user turns and control lines go in on stdin, each stdout line comes out
// as a protocol.Message (control lines go to the control protocol
// instead), stderr is kept for errors, and the whole process group (a job
// object on Windows) is stopped and reaped when the stream ends, whichever
// way it ends.
//
// Where things are:
//   - the process: process.go (start, stop, reap), group_*.go and
//     process_*.go (per OS), exit_*.go (the exit watcher), stdout_*.go and
//     unread_*.go (the stdout file and its bound), tracker.go;
//   - the framing: lines.go (JSON lines out of the CLI), input.go (JSON
//     lines into it: turns and control lines, one at a time);
//   - the control protocol: control.go (the host's requests and their
//     answers, the CLI's requests and their handlers);
//   - the policy: stream.go (one-shot, the stream ends at the result; or a
//     session, Request.Session, ended by Controller.CloseInput).
package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// EnvCLIPath names the environment variable Find consults after the
// explicit path.
const EnvCLIPath = "CLAUDE_CLI_PATH"

// installDirs are the usual install places of the CLI, searched last; "~"
// is the home directory.
var installDirs = []string{
	"~/.npm-global/bin",
	"/usr/local/bin",
	"~/.local/bin",
	"~/node_modules/.bin",
	"~/.yarn/bin",
	"~/.claude/local",
}

// Find returns the absolute path of the claude CLI. It tries, in order:
// explicit (from configuration) when not empty, $CLAUDE_CLI_PATH when set,
// "claude" on $PATH, then the usual install places (~/.npm-global/bin,
// /usr/local/bin, ~/.local/bin, ~/node_modules/.bin, ~/.yarn/bin,
// ~/.claude/local). An explicit or $CLAUDE_CLI_PATH path that is missing
// (or a directory) matches ErrCLINotFound, whose text says how to install
// the CLI, and names the path; one that is not executable is an error
// naming it; nothing found at all is ErrCLINotFound.
func Find(explicit string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "" // skip the places under ~
	}
	return finder{getenv: os.Getenv, lookPath: exec.LookPath, home: home, dirs: installDirs}.find(explicit)
}

// finder is Find with its environment made explicit, for tests.
type finder struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
	home     string
	dirs     []string
}

func (f finder) find(explicit string) (string, error) {
	if explicit != "" {
		return checked(explicit, "configured")
	}
	if p := f.getenv(EnvCLIPath); p != "" {
		return checked(p, "$"+EnvCLIPath)
	}
	if p, err := f.lookPath("claude"); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range f.dirs {
		if len(dir) > 0 && dir[0] == '~' {
			if f.home == "" {
				continue
			}
			dir = filepath.Join(f.home, dir[1:])
		}
		p := filepath.Join(dir, "claude")
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", protocol.ErrCLINotFound
}

// checked returns path made absolute (the CLI may run in another working
// directory) if it is an executable file.
func checked(path, source string) (string, error) {
	abs, err := filepath.Abs(path)
	if err == nil {
		err = executable(abs)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errIsDir):
		// Nothing to run there: the same remedy as no CLI at all.
		return "", fmt.Errorf("%w (the %s path %q: %w)", protocol.ErrCLINotFound, source, path, err)
	case err != nil:
		return "", fmt.Errorf("agent: %s claude CLI path %q: %w", source, path, err)
	}
	return abs, nil
}

var (
	errIsDir         = errors.New("is a directory")
	errNotExecutable = errors.New("is not executable")
)

func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return errIsDir
	case fi.Mode().Perm()&0o111 == 0:
		return errNotExecutable
	}
	return nil
}
