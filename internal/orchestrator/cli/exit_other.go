//go:build unix && !linux

package cli

// watchExit closes p.exited when the leader has exited. Without waitid's
// WNOWAIT, the end of its output stands for its exit.
func (p *process) watchExit() {
	defer close(p.exited)
	<-p.stderrDone
	<-p.stdoutDone
}
