//go:build !linux

package cli

// limitUnread does nothing: stdout is a pipe, whose writer blocks when it
// is full.
func (p *process) limitUnread(*pipeReader, int64) { close(p.unreadDone) }
