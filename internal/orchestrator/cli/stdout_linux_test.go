//go:build linux

package cli

import (
	"bufio"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The follower waits at the end of the file while the CLI runs, hands over
// each line as it is written, and ends only once the CLI has exited.
func TestFollowerFollowsUntilExit(t *testing.T) {
	child, r, err := newStdout()
	require.NoError(t, err)
	defer child.Close()
	defer r.Close()
	exited := make(chan struct{})
	r.exited = exited

	lines := make(chan string)
	go func() {
		defer close(lines)
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				lines <- line
			}
			if err != nil {
				return
			}
		}
	}()

	for _, want := range []string{"one\n", "two\n"} {
		_, err := child.WriteString(want)
		require.NoError(t, err)
		assert.Equal(t, want, <-lines, "the reader stopped at the end of the file")
	}
	_, err = child.WriteString("last, without a newline")
	require.NoError(t, err)
	close(exited)
	assert.Equal(t, "last, without a newline", <-lines)
	_, open := <-lines
	assert.False(t, open)
}
