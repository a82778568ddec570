// Package agent is a Go client for the Claude Code CLI that cannot blow an API
// quota, a cost budget or a failing backend: every query waits its turn in a
// rate limiter, asks a circuit breaker, then streams through a `claude`
// subprocess.
package agent
