//go:build !linux

package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// newStdout returns a pipe for the CLI's stdout (darwin, windows). See
// stdout_linux.go for why Linux uses a file instead; on darwin the end of
// the pipe stands for the CLI's exit (exit_other.go), so the pipe stays,
// and on windows too, for the same code (its exit is watched on its
// handle: exit_windows.go).
func newStdout() (child *os.File, r *pipeReader, err error) {
	rd, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("agent: pipe for claude CLI: %w", err)
	}
	return w, &pipeReader{ReadCloser: rd}, nil
}

type pipeReader struct {
	io.ReadCloser
	exited  <-chan struct{}      // unused: EOF marks the end
	stopped <-chan struct{}      // unused: stopping the CLI ends the pipe
	poke    <-chan time.Duration // unused: a pipe's reader wakes by itself
}
