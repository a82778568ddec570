//go:build unix

package agent_test

import (
	"errors"
	"syscall"
)

// reaped reports whether pid no longer exists at all (not even a zombie).
func reaped(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// killPid sends SIGKILL to pid.
func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
