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
	for range 3 {
		n := 0
		for _, pid := range pids() {
			if pid == self || killed[pid] || !hasEnv(pid, entry) {
				continue
			}
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			if hasEnv(pid, entry) && unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
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
		if pid, err := strconv.Atoi(name); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// hasEnv reports whether pid's environment holds entry ("\x00KEY=VALUE\x00").
// A zombie's environment reads empty.
func hasEnv(pid int, entry []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(env) == 0 {
		return false
	}
	return bytes.HasPrefix(env, entry[1:]) || bytes.Contains(env, entry)
}
