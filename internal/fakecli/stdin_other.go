//go:build !linux

package fakecli

import "errors"

// stdinUnread is implemented on Linux only (AwaitStdinBytes).
func stdinUnread() (int, error) { return 0, errors.New("fakecli: AwaitStdinBytes needs linux") }

// StdinBytesSupported tells whether AwaitStdinBytes works here.
const StdinBytesSupported = false
