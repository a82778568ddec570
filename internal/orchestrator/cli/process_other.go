//go:build unix && !linux

package cli

import "syscall"

// sysProcAttr puts the CLI in a process group of its own.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killEscaped finds nothing: without /proc, a descendant that left the
// group is cut off by the grace period on stderr (awaitStderr).
func killEscaped(string) int { return 0 }
