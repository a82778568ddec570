package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func readLines(t *testing.T, r io.Reader, max int) ([]string, error) {
	t.Helper()
	lr := newLineReader(r, max)
	var out []string
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(line))
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("z", 3*readBufSize+17)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}},
		{"no trailing newline", "a\nb", []string{"a", "b"}},
		{"blank lines kept", "\n\r\na\n", []string{"", "", "a"}},
		{"longer than the read buffer", long + "\n" + long, []string{long, long}},
		{"empty", "", nil},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got, err := readLines(t, wrap(strings.NewReader(tt.in)), 1<<20)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		}
	}
}

func TestLineReaderMax(t *testing.T) {
	got, err := readLines(t, strings.NewReader("12345\r\n1234\n"), 5)
	require.NoError(t, err)
	assert.Equal(t, []string{"12345", "1234"}, got, "exactly max is fine, CRLF not counted")

	for _, in := range []string{"123456\n", "123456", strings.Repeat("x", readBufSize*2) + "\n"} {
		got, err = readLines(t, iotest.HalfReader(strings.NewReader("ok\n"+in)), 5)
		assert.Equal(t, []string{"ok"}, got)
		var tooLong *protocol.LineTooLongError
		require.ErrorAs(t, err, &tooLong)
		assert.Equal(t, 5, tooLong.Limit)
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	got, err := readLines(t, io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)), 100)
	assert.Equal(t, []string{"a"}, got)
	assert.ErrorIs(t, err, boom)
}

func TestTailBuffer(t *testing.T) {
	tb := tailBuffer{max: 5}
	tb.Write([]byte("ab"))
	assert.Equal(t, "ab", tb.String())
	tb.Write([]byte("cde"))
	assert.Equal(t, "abcde", tb.String())
	tb.Write([]byte("fg"))
	assert.Equal(t, "cdefg", tb.String())
	tb.Write([]byte("0123456789"))
	assert.Equal(t, "56789", tb.String())
	assert.LessOrEqual(t, cap(tb.buf), 16, "bounded memory")
}
