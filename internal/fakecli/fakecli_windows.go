package fakecli

import (
	"os"
	"syscall"
)

// killSelf ends the fake as sig would: Windows has only the kill, so any
// signal terminates the process (exit code 1).
func killSelf(syscall.Signal) error {
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		return err
	}
	return p.Kill()
}

// spawnAttr ignores setsid: Windows has no sessions to leave, and a child
// stays in its parent's job object.
func spawnAttr(bool) *syscall.SysProcAttr { return nil }
