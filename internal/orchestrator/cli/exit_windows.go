package cli

import "golang.org/x/sys/windows"

// watchExit closes p.exited when the leader has exited. Waiting on its
// handle does not reap it, and the handle keeps its pid ours. Should the
// wait fail, the end of its output stands for its exit (exit_other.go).
func (p *process) watchExit() {
	defer close(p.exited)
	if ev, err := windows.WaitForSingleObject(p.group.proc, windows.INFINITE); err == nil && ev == windows.WAIT_OBJECT_0 {
		return
	}
	<-p.stderrDone
	<-p.stdoutDone
}
