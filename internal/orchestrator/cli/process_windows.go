package cli

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// sysProcAttr starts the CLI in a process group of its own (the host's
// console Ctrl+C does not reach it) and suspended, so that newGroup can put
// it in its job object before it runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED}
}

// killEscaped finds nothing: no descendant can leave the job object
// (procGroup), whose kill reaches them all.
func killEscaped(string) int { return 0 }
