package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// JSON lines in: what the host writes to the CLI's stdin (user turns and
// control lines) and when stdin closes. One goroutine (writeLoop) owns
// stdin and writes one line at a time, so lines never interleave and a
// writer that gives up (its context ended) never leaves half a line; the
// reader of stdout never writes. The policy: a one-shot's stdin closes at
// its turn's result, a session's at Controller.CloseInput.

// ErrStdinClosed is the error of a write to the CLI after its stdin was
// closed (its last turn is done, or it was stopped).
var ErrStdinClosed = errors.New("agent: claude CLI's stdin is closed")

// errNotSession is SendTurn's error in a one-shot stream.
var errNotSession = errors.New("agent: SendTurn needs a session (Request.Session): a one-shot stream ends at its first result")

// SendTurn writes the next user turn of a session (Request.Session), after
// the initialize if there is one; its messages follow in the same stream,
// up to its result. ctx bounds the wait for stdin (a CLI that is not
// reading); a turn whose write has begun is written whole.
func (k *Controller) SendTurn(ctx context.Context, prompt string) error {
	if !k.c.session {
		return errNotSession
	}
	return k.c.sendTurn(ctx, prompt)
}

// CloseInput closes the CLI's stdin once the lines being written are out:
// a session's CLI exits once it has answered the turns it has, and the
// stream ends (cleanly, if the CLI exits with code 0 and no turn is left
// without its result).
func (k *Controller) CloseInput() {
	k.c.mu.Lock()
	k.c.ownerClosed = true
	k.c.mu.Unlock()
	k.c.closeStdin()
}

// sendTurn writes a user turn, once the initialize is answered, and counts
// it until its result.
func (c *control) sendTurn(ctx context.Context, prompt string) error {
	select {
	case <-c.ready:
	case <-c.ctx.Done():
		return ErrStdinClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	c.turnStarted()
	if err := c.write(ctx, protocol.UserTurn(prompt)); err != nil {
		c.turnDone()
		return err
	}
	return nil
}

// turnStarted counts a turn written; a session is no longer idle between
// turns.
func (c *control) turnStarted() {
	c.mu.Lock()
	c.turns++
	first := c.turns == 1
	c.mu.Unlock()
	if first && c.session {
		c.idle.release()
	}
}

// turnDone counts a turn's end; a session with no turn left is idle
// between turns, which its idle timeout does not count.
func (c *control) turnDone() {
	c.mu.Lock()
	last := c.turns == 1
	if c.turns > 0 {
		c.turns--
	}
	c.mu.Unlock()
	if last && c.session {
		c.idle.hold()
	}
}

// resultDone counts a turn's result (from the reader of stdout). A
// one-shot's one turn is done: its stdin closes, and the CLI exits.
func (c *control) resultDone() {
	c.turnDone()
	if !c.session {
		c.closeStdin()
	}
}

// endedByOwner reports whether a session's stream may end cleanly: its
// owner closed the input and no turn is left without its result.
func (c *control) endedByOwner() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownerClosed && c.turns == 0
}

// atRest reports whether a warm process's CLI waits for a turn: every
// turn answered, stdin open, the CLI not ended.
func (c *control) atRest() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.turns == 0 && !c.closed && !c.ended
}

// inputDone reports whether the CLI has nothing left to do: stdin closed
// and every turn answered.
func (c *control) inputDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed && c.turns == 0
}

// writeJob is one line for writeLoop; done (a buffer of one: writeLoop
// never waits for a writer that gave up) gets the write's error.
type writeJob struct {
	line []byte
	done chan error
}

// writeLoop owns stdin: it writes the lines handed to it, one at a time,
// until stdin is closed (closeStdin: after the line being written) or the
// CLI ends; then it closes stdin.
func (c *control) writeLoop() {
	defer close(c.writerDone)
	defer c.stdin.Close()
	for {
		select {
		case j := <-c.jobs:
			_, err := c.stdin.Write(j.line)
			j.done <- err
		case <-c.closing:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// write has writeLoop write one line to the CLI's stdin, waiting at most
// until ctx ends (the line, once begun, is still written whole). A write
// after closeStdin, or to a CLI that is gone, is an error.
func (c *control) write(ctx context.Context, line []byte) error {
	j := writeJob{line: line, done: make(chan error, 1)}
	select {
	case c.jobs <- j:
	case <-c.closing:
		return ErrStdinClosed
	case <-c.ctx.Done():
		return ErrStdinClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, os.ErrClosed):
			return ErrStdinClosed
		}
		return fmt.Errorf("agent: write to claude CLI: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
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
func (c *control) writeControl(ctx context.Context, line []byte, spin time.Duration) error {
	if err := c.write(ctx, line); err != nil {
		return err
	}
	select {
	case c.poke <- spin:
	default:
	}
	return nil
}

// closeStdin closes stdin once the line being written (if any) is out;
// later writes fail with ErrStdinClosed. Safe to call more than once.
func (c *control) closeStdin() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		close(c.closing)
	}
}

// killStdin closes stdin now: a write blocked on a full pipe (a CLI that
// does not read, or is gone) returns.
func (c *control) killStdin() {
	c.closeStdin()
	c.stdin.Close()
}
