//go:build unix

package fakecli

import (
	"os"
	"syscall"
)

// killSelf sends sig to the fake itself.
func killSelf(sig syscall.Signal) error { return syscall.Kill(os.Getpid(), sig) }

// spawnAttr puts a spawned child in a session of its own if setsid.
func spawnAttr(setsid bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: setsid} }
