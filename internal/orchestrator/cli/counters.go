package cli

import "sync/atomic"

// Counters count what the package did to keep the CLI and the user's
// callbacks from hurting the host, across every stream given the same
// Counters (Options.Counters). The zero value is ready; the fields are safe
// for concurrent use, and are only ever added to (MaxUnreadStdout only
// grows).
type Counters struct {
	// StderrDropped counts stderr lines not given to Options.OnStderr
	// because its queue was full (the tail kept for errors has them).
	StderrDropped atomic.Int64
	// EscapedKilled counts descendants of a CLI found outside its process
	// group when the query ended (setsid, a daemon) and killed.
	EscapedKilled atomic.Int64
	// StdoutPauses counts the times a CLI was paused (SIGSTOP) because the
	// caller had not read Options.MaxUnreadStdout bytes of its output.
	StdoutPauses atomic.Int64
	// MaxUnreadStdout is the most stdout any CLI had written and the
	// caller not yet read, as the follower saw it.
	MaxUnreadStdout atomic.Int64
}
