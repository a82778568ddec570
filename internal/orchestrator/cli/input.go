package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// JSON lines in: what the host writes to the CLI's stdin (user turns and
// control lines), one line at a time, and when stdin closes. The policy is
// one-shot (stdin closes at the turn's result) or a session (it closes at
// Controller.CloseInput); see run in stream.go.

// ErrStdinClosed is the error of a write to the CLI after its stdin was
// closed (its last turn is done, or it was stopped).
var ErrStdinClosed = errors.New("agent: claude CLI's stdin is closed")

// errNotSession is SendTurn's error in a one-shot stream.
var errNotSession = errors.New("agent: SendTurn needs a session (Request.Session): a one-shot stream ends at its first result")

// SendTurn writes the next user turn of a session (Request.Session), after
// the initialize if there is one; its messages follow in the same stream,
// up to its result.
func (k *Controller) SendTurn(prompt string) error {
	if !k.c.session {
		return errNotSession
	}
	return k.c.sendTurn(prompt)
}

// CloseInput closes the CLI's stdin: a session's CLI exits once it has
// answered the turns it has, and the stream ends (cleanly, if the CLI
// exits with code 0 and no turn is left without its result).
func (k *Controller) CloseInput() {
	k.c.mu.Lock()
	k.c.ownerClosed = true
	k.c.mu.Unlock()
	k.c.closeStdin()
}

// sendTurn writes a user turn, once the initialize is answered, and counts
// it until its result.
func (c *control) sendTurn(prompt string) error {
	select {
	case <-c.ready:
	case <-c.ctx.Done():
		return ErrStdinClosed
	}
	c.mu.Lock()
	c.turns++
	c.mu.Unlock()
	if err := c.write(protocol.UserTurn(prompt)); err != nil {
		c.mu.Lock()
		c.turns--
		c.mu.Unlock()
		return err
	}
	return nil
}

// resultDone counts a turn's result, and reports whether the stream goes
// on after it (a session).
func (c *control) resultDone() (session bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.turns > 0 {
		c.turns--
	}
	return c.session
}

// endedByOwner reports whether a session's stream may end cleanly: its
// owner closed the input and no turn is left without its result.
func (c *control) endedByOwner() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownerClosed && c.turns == 0
}

// inputDone reports whether the CLI has nothing left to do: stdin closed
// and every turn answered.
func (c *control) inputDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed && c.turns == 0
}

// write writes one line to the CLI's stdin; lines never interleave. A
// write after closeStdin, or to a CLI that is gone, is an error.
func (c *control) write(line []byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrStdinClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.stdin.Write(line); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return ErrStdinClosed
		}
		return fmt.Errorf("agent: write to claude CLI: %w", err)
	}
	return nil
}

// How long the reader of stdout looks for the CLI's reply without waiting
// after the host writes a control line: a request of the host's is
// answered in well under a millisecond; after the host's answer to one of
// its requests, the CLI often runs a tool or calls the API (nothing comes
// for a while), but may send its next request at once (a burst of MCP
// messages at start-up).
const (
	requestSpin = time.Millisecond
	answerSpin  = 250 * time.Microsecond
)

// writeControl is write for a control line, after which the reader of
// stdout looks for the CLI's reply for spin without waiting.
func (c *control) writeControl(line []byte, spin time.Duration) error {
	if err := c.write(line); err != nil {
		return err
	}
	select {
	case c.poke <- spin:
	default:
	}
	return nil
}

// closeStdin closes stdin once; a write blocked on a full pipe returns.
func (c *control) closeStdin() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		c.stdin.Close()
	}
}
