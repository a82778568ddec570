package fakecli

import "golang.org/x/sys/unix"

// stdinUnread is how many bytes wait unread in the stdin pipe.
func stdinUnread() (int, error) { return unix.IoctlGetInt(0, unix.TIOCINQ) }

// StdinBytesSupported tells whether AwaitStdinBytes works here.
const StdinBytesSupported = true
