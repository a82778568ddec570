//go:build linux

package cli

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the CLI in a process group of its own and has the kernel
// kill it if the thread that started it exits (see supervise).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killEscaped kills, with SIGKILL, every process whose environment holds
// the entry marker ("KEY=token") and returns how many it killed. It finds
// the descendants of a CLI that left its process group, without a child
// subreaper (which would change the whole host program). Each candidate is
// pinned by a pidfd and checked again through it, so a pid reused between
// the scan and the kill is never signalled. A few passes catch a process
// that forked while the previous one ran; each process counts once. Only
// processes of our own user can be read, which are the only ones a CLI we
// started could leave.
func killEscaped(marker string) int {
	entry := []byte("\x00" + marker + "\x00")
	self := os.Getpid()
	killed := map[int]bool{} // a killed process reads alive for a moment
	var env envReader
	for range 3 {
		n := 0
		for _, pid := range pids() {
			if pid == self || killed[pid] || !env.has(pid, entry) {
				continue
			}
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			if env.has(pid, entry) && unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
				killed[pid] = true
				n++
			}
			unix.Close(fd)
		}
		if n == 0 {
			break
		}
	}
	return len(killed)
}

// pids lists the processes in /proc.
func pids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1) // best effort: a partial list still helps
	out := make([]int, 0, len(names))
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue // not a process (and no error to allocate)
		}
		if pid, err := strconv.Atoi(name); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// envReader reads processes' environments (/proc/PID/environ) into one
// buffer it keeps, for a scan over every process.
type envReader struct {
	path []byte
	buf  []byte
}

// has reports whether pid's environment holds entry ("\x00KEY=VALUE\x00").
// A zombie's environment reads empty.
func (r *envReader) has(pid int, entry []byte) bool {
	r.path = strconv.AppendInt(append(r.path[:0], "/proc/"...), int64(pid), 10)
	r.path = append(r.path, "/environ"...)
	fd, err := unix.Open(string(r.path), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // gone, or another user's
	}
	defer unix.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 0, 16<<10)
	}
	env := r.buf[:0]
	for {
		if len(env) == cap(env) {
			env = append(env, 0)[:len(env)]
		}
		n, err := unix.Read(fd, env[len(env):cap(env)])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			break
		}
		env = env[:len(env)+n]
	}
	r.buf = env[:0]
	return len(env) > 0 && (bytes.HasPrefix(env, entry[1:]) || bytes.Contains(env, entry))
}
