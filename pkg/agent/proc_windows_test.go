package agent_test

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// reaped reports whether pid no longer exists at all (no handle keeps it).
func reaped(pid int) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_INVALID_PARAMETER)
	}
	windows.CloseHandle(h) //nolint:errcheck // nothing written through it
	return false
}

// killPid terminates pid.
func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
