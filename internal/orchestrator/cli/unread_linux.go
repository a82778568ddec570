//go:build linux

package cli

import (
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// How often limitUnread looks at the size of stdout while the CLI runs:
// every millisecond while it grows or a quarter of the bound is unread,
// backing off to unreadMaxPoll otherwise. A paused CLI cannot write, so
// then only a read wakes it.
const unreadMaxPoll = 20 * time.Millisecond

// limitUnread is the backpressure of stdout, which is a file and so gives
// none by itself: while the CLI has written more than bound bytes that the
// caller has not read, its process group is stopped (SIGSTOP), and it is
// continued (SIGCONT) once the caller has caught up to half of it. It
// returns when the leader exits or p.ctx ends (terminate then continues
// the group).
func (p *process) limitUnread(r *follower, bound int64) {
	defer close(p.unreadDone)
	// A descriptor of its own: the reader may close its file meanwhile.
	fd, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return // no bound rather than no output
	}
	defer unix.Close(fd)
	t := time.NewTimer(minPoll)
	defer t.Stop()
	var (
		paused bool
		size   int64
		wait   = minPoll
	)
	for {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			return
		}
		grew := st.Size > size
		size = st.Size
		unread := size - r.read.Load()
		wait = min(2*wait, unreadMaxPoll)
		if grew || unread > bound/4 {
			wait = minPoll
		}
		raiseMax(&p.count.MaxUnreadStdout, unread)
		switch {
		case !paused && unread > bound:
			p.sigMu.Lock()
			if p.ctx.Err() == nil {
				syscall.Kill(-p.pid, syscall.SIGSTOP) //nolint:errcheck // ESRCH: gone, and exited follows
				paused = true
				p.count.StdoutPauses.Add(1)
			}
			p.sigMu.Unlock()
		case paused && unread <= bound/2:
			syscall.Kill(-p.pid, syscall.SIGCONT) //nolint:errcheck // ESRCH: gone, and exited follows
			paused, wait = false, minPoll
		}
		var tick <-chan time.Time
		if !paused {
			t.Reset(wait)
			tick = t.C
		}
		select {
		case <-tick:
		case <-r.progress:
		case <-p.exited:
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// raiseMax raises m to at least v.
func raiseMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}
