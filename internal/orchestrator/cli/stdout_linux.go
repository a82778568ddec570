//go:build linux

package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// newStdout returns the file the CLI writes its stdout to (the child's end)
// and the reader of it.
//
// Not a pipe: the CLI (a Bun binary) writes to a pipe asynchronously and
// exits without flushing what the pipe could not take yet, with code 0
// (anthropics/claude-code#77112; seen here: a 3 MB answer arrived cut at a
// few hundred KB, without its result line). Its writes to a regular file
// are synchronous. So stdout is an anonymous in-memory file (memfd: no
// path, nothing on disk, no writable TMPDIR needed) that the reader
// follows (see follower). The child writes through its own descriptor; the
// follower reads at its own offset.
func newStdout() (child *os.File, r *follower, err error) {
	fd, err := unix.MemfdCreate("claude-stdout", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: memfd for the claude CLI's stdout: %w", err)
	}
	cfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("agent: memfd for the claude CLI's stdout: %w", err)
	}
	r = &follower{f: os.NewFile(uintptr(fd), "claude-stdout"), fd: fd, wait: minPoll, progress: make(chan struct{}, 1)}
	return os.NewFile(uintptr(cfd), "claude-stdout"), r, nil
}

// How long a follower waits at the end of the file before it looks again:
// minPoll after data arrived, doubling up to maxPoll while none does (an
// idle CLI costs a wake-up every maxPoll), except for a moment after a
// poke (the host wrote a control line: a timer here wakes about a
// millisecond late, whatever its duration, and the reply may come
// sooner). The CLI's exit ends any wait at once. (inotify was tried:
// closing an inotify descriptor takes the kernel 6 to 15 ms, more than the
// whole run of a short query.)
const (
	minPoll = time.Millisecond
	maxPoll = 10 * time.Millisecond
)

// follower reads a file that the CLI is still writing, like tail -f, until
// the CLI has exited and the end is reached. It is for one goroutine.
type follower struct {
	f      *os.File
	exited <-chan struct{} // set by start
	// stopped, set by start, ends a wait at the end of the file with
	// errStopped: once the CLI is being stopped, the rest of its output
	// does not matter, and its exit may be a grace period away.
	stopped <-chan struct{}
	fd      int          // f's descriptor, for hole punching
	off     int64        // where the next read starts
	read    atomic.Int64 // off, for limitUnread
	// progress wakes limitUnread after a read; a buffer of one: a wake-up
	// pending is as good as many.
	progress chan struct{}
	// poke, set by start, cuts a wait short and restarts the backoff:
	// the host has just written to the CLI (a control answer), whose
	// reply is likely to follow at once.
	poke  <-chan time.Duration
	freed int64         // [0, freed) is given back to the kernel
	wait  time.Duration // the next wait at the end of the file
	// spinUntil: until then, after a poke (which says for how long), the
	// end of the file is read again without waiting.
	spinUntil time.Time
	timer     *time.Timer
}

// Read reads what the CLI has written; at the end of the file it waits for
// more, and returns io.EOF once the CLI has exited and all is read.
func (r *follower) Read(b []byte) (int, error) {
	for {
		exited := isClosed(r.exited)   // before the read: then that read saw all
		n, err := r.f.ReadAt(b, r.off) // n < len(b) comes with io.EOF
		r.off += int64(n)
		if n > 0 {
			r.read.Store(r.off)
			select {
			case r.progress <- struct{}{}:
			default:
			}
			r.wait = minPoll
			select {
			case <-r.poke: // the reply is here: no spin for it later
			default:
			}
			r.free()
			return n, nil
		}
		if err != io.EOF {
			return 0, err
		}
		if exited {
			return 0, io.EOF
		}
		if isClosed(r.stopped) {
			return 0, errStopped
		}
		if time.Now().Before(r.spinUntil) {
			runtime.Gosched() // a reply is due: look again at once
			continue
		}
		r.sleep()
	}
}

// freeEvery is how much read output the follower lets pile up in memory
// before it gives it back.
const freeEvery = 1 << 20

// free gives the memory of what has been read back to the kernel (a hole
// in the memfd; its size and the CLI's write position stay), so a long run
// holds at most about freeEvery plus the unread rest.
func (r *follower) free() {
	if r.off-r.freed < freeEvery {
		return
	}
	// Best effort: on failure the memory is given back when the file closes.
	if unix.Fallocate(r.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, r.off) == nil {
		r.freed = r.off
	}
}

// sleep waits r.wait or until the CLI exits, and doubles r.wait.
func (r *follower) sleep() {
	if r.timer == nil {
		r.timer = time.NewTimer(r.wait)
	} else {
		r.timer.Reset(r.wait) // Go 1.23 timers: no stale tick to drain
	}
	select {
	case <-r.timer.C:
	case <-r.exited:
	case <-r.stopped:
	case spin := <-r.poke:
		r.wait, r.spinUntil = minPoll, time.Now().Add(spin)
		return
	}
	r.wait = min(2*r.wait, maxPoll)
}

// Close closes the file.
func (r *follower) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return r.f.Close()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
