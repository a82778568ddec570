package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// readBufSize is the read buffer of the line readers; lines longer than it
// are assembled in lineReader.buf.
const readBufSize = 16 << 10

// lineReader splits a stream into lines of any length up to max, unlike
// bufio.Scanner's default 64 KiB. Not safe for concurrent use.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte // assembles lines longer than the read buffer
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, readBufSize), max: max}
}

// next returns the next line without its "\n" or "\r\n"; the slice is
// valid until the next call. A last line without a newline is returned
// like any other; then next returns io.EOF. A line longer than max gives a
// *protocol.LineTooLongError.
func (lr *lineReader) next() ([]byte, error) {
	if cap(lr.buf) > 4*readBufSize {
		lr.buf = nil // let a huge line's memory go
	}
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		switch {
		case err == nil && len(lr.buf) == 0:
			return lr.check(chunk) // whole line in the read buffer: no copy
		case err == nil:
			lr.buf = append(lr.buf, chunk...)
			return lr.check(lr.buf)
		case errors.Is(err, bufio.ErrBufferFull):
			lr.buf = append(lr.buf, chunk...)
			if len(lr.buf) > lr.max+1 { // +1: a '\r' may end it
				return nil, &protocol.LineTooLongError{Limit: lr.max}
			}
		case errors.Is(err, io.EOF):
			lr.buf = append(lr.buf, chunk...)
			if len(lr.buf) == 0 {
				return nil, io.EOF
			}
			return lr.check(lr.buf)
		default:
			return nil, err
		}
	}
}

func (lr *lineReader) check(line []byte) ([]byte, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > lr.max {
		return nil, &protocol.LineTooLongError{Limit: lr.max}
	}
	return line, nil
}

// tailBuffer keeps the last max bytes written to it. Not safe for
// concurrent use.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) {
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return
	}
	if drop := len(t.buf) + len(p) - t.max; drop > 0 {
		t.buf = append(t.buf[:0], t.buf[drop:]...)
	}
	t.buf = append(t.buf, p...)
}

func (t *tailBuffer) String() string { return string(t.buf) }
