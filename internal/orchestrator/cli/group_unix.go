//go:build unix

package cli

import (
	"os"
	"syscall"
)

// procGroup is the CLI's process group (sysProcAttr gives it one of its
// own), named by the leader's pid: that is the group id, and it cannot be
// reused while the leader is not reaped (supervise reaps it last). It is
// used by supervise's goroutine only.
type procGroup struct{ pid int }

// newGroup returns the group that the CLI just started leads.
func newGroup(proc *os.Process) (procGroup, error) { return procGroup{pid: proc.Pid}, nil }

// kill sends SIGKILL to the group.
func (g procGroup) kill() {
	syscall.Kill(-g.pid, syscall.SIGKILL) //nolint:errcheck // ESRCH: already gone
}

// terminate sends SIGTERM to the group, then SIGCONT, so that a CLI paused
// by limitUnread can exit.
func (g procGroup) terminate() {
	syscall.Kill(-g.pid, syscall.SIGTERM) //nolint:errcheck // ESRCH: already gone
	syscall.Kill(-g.pid, syscall.SIGCONT) //nolint:errcheck // ESRCH: already gone
}

// close releases the group once the leader is reaped: nothing to do.
func (procGroup) close() {}

// exitSignal names the signal that ended the CLI, or is "" if it exited.
func exitSignal(state *os.ProcessState) string {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}
