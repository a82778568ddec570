//go:build linux

package cli

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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

// What has been read is given back to the kernel: a long run does not keep
// all of its output in memory.
func TestFollowerFreesWhatItRead(t *testing.T) {
	child, r, err := newStdout()
	require.NoError(t, err)
	defer child.Close()
	defer r.Close()
	exited := make(chan struct{})
	close(exited)
	r.exited = exited

	chunk := bytes.Repeat([]byte("x"), 1<<20)
	buf := make([]byte, 64<<10)
	for range 4 {
		_, err := child.Write(chunk)
		require.NoError(t, err)
		for read := 0; read < len(chunk); {
			n, err := r.Read(buf)
			require.NoError(t, err)
			read += n
		}
	}
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(r.fd, &st))
	assert.EqualValues(t, 4<<20, st.Size, "the size stays, so the CLI keeps appending")
	assert.Less(t, st.Blocks*512, int64(2<<20), "the read megabytes still take memory")
}
