package protocol

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrCLINotFound means the claude CLI was found neither at the configured
// path, nor in $CLAUDE_CLI_PATH, nor on $PATH, nor in the usual install
// places.
var ErrCLINotFound = errors.New("agent: claude CLI not found; install it with `npm install -g @anthropic-ai/claude-code`, or set CLAUDE_CLI_PATH to its path")

// ErrIdleTimeout means the CLI wrote no output line for the configured idle
// timeout; it was stopped.
var ErrIdleTimeout = errors.New("agent: claude CLI idle timeout")

// ProcessError means the CLI ended without a result message: a non-zero exit
// code, death by a signal, or exit 0 without a result.
type ProcessError struct {
	// ExitCode is the exit code, -1 when a signal ended the process.
	ExitCode int
	// Signal names the signal that ended the process ("killed",
	// "terminated"...), empty when it exited by itself.
	Signal string
	// Stderr is the tail of what the CLI wrote to stderr.
	Stderr string
}

func (e *ProcessError) Error() string {
	var b strings.Builder
	b.WriteString("agent: claude CLI ")
	switch {
	case e.Signal != "":
		b.WriteString("killed by signal: ")
		b.WriteString(e.Signal)
	case e.ExitCode == 0:
		b.WriteString("exited with code 0 without a result")
	default:
		b.WriteString("exited with code ")
		b.WriteString(strconv.Itoa(e.ExitCode))
	}
	if last := lastLine(e.Stderr, 200); last != "" {
		b.WriteString(": ")
		b.WriteString(last)
	}
	return b.String()
}

// APIError means the run ended with an error result (is_error true), e.g.
// after the Anthropic API answered 429, 529 or 400 and the CLI gave up. The
// ResultMessage itself is yielded just before it.
type APIError struct {
	// Status is the HTTP status of the API error, 0 when the result
	// carries none (e.g. a connection error, or a run stopped by the
	// budget or turn limit).
	Status int
	// Subtype is the result's subtype, e.g. "success" (sic) for API
	// errors or "error_max_budget_usd".
	Subtype string
	// Message is the result text, e.g. "API Error: 529 Overloaded".
	Message string
}

// ResultError is the *APIError of an error result (IsError true).
func ResultError(r *ResultMessage) *APIError {
	return &APIError{Status: r.APIErrorStatus, Subtype: r.Subtype, Message: r.Result}
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("agent: claude run failed")
	if e.Status != 0 {
		b.WriteString(" with API status ")
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.Subtype != "" && e.Subtype != "success" { // "success" (sic) says nothing here
		b.WriteString(" (")
		b.WriteString(e.Subtype)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(excerpt([]byte(e.Message), 300))
	}
	return b.String()
}

// DecodeError means a line of CLI output that looks like a JSON object could
// not be decoded. The stream goes on after it.
type DecodeError struct {
	// Excerpt is the start of the line.
	Excerpt string
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("agent: malformed message line %q: %v", e.Excerpt, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// LineTooLongError means the CLI wrote a line longer than the limit; the
// CLI was stopped.
type LineTooLongError struct {
	// Limit is the maximum line length in bytes.
	Limit int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("agent: claude CLI output line longer than %d bytes", e.Limit)
}

// excerptLen is how much of a malformed line a DecodeError keeps.
const excerptLen = 120

// excerpt returns the first max bytes of b as valid UTF-8, with "..." when
// cut.
func excerpt(b []byte, max int) string {
	if len(b) <= max {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(b[:cut]), "\uFFFD") + "..."
}

// lastLine returns the last non-blank line of s, cut to max bytes.
func lastLine(s string, max int) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return excerpt([]byte(strings.TrimSpace(s)), max)
}
