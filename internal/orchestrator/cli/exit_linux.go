//go:build linux

package cli

import (
	"syscall"
	"unsafe"
)

const (
	pPID    = 1         // idtype P_PID of waitid(2)
	wNOWAIT = 0x1000000 // leave the child waitable
)

// watchExit closes p.exited when the group leader has exited, leaving it a
// zombie so that its pid, hence the group id, cannot be reused before
// supervise reaps it.
func (p *process) watchExit() {
	defer close(p.exited)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(p.pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|wNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}
