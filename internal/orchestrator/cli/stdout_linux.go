//go:build linux

package cli

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// newStdout returns the file the CLI writes its stdout to (the child's end)
// and the reader of it.
//
// Not a pipe: the CLI (a Bun binary) writes to a pipe asynchronously and
// exits without flushing what the pipe could not take yet, with code 0
// (anthropics/claude-code#77112; seen here: a 3 MB answer arrived cut at a
// few hundred KB, without its result line). Its writes to a regular file
// are synchronous. So stdout is an unlinked temporary file, which the
// reader follows: at its end it waits for an inotify IN_MODIFY event or
// the CLI's exit, and once the CLI has exited it reads to the end and stops.
func newStdout() (child *os.File, r *follower, err error) {
	child, err = os.CreateTemp("", "claude-stdout-*")
	if err != nil {
		return nil, nil, fmt.Errorf("agent: file for the claude CLI's stdout: %w", err)
	}
	defer func() {
		os.Remove(child.Name()) // unlinked: it lives as long as its descriptors
		if err != nil {
			child.Close()
		}
	}()
	f, err := os.Open(child.Name()) // its own read offset
	if err != nil {
		return nil, nil, fmt.Errorf("agent: file for the claude CLI's stdout: %w", err)
	}
	notify, err := watchModify(child.Name())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("agent: watch the claude CLI's stdout: %w", err)
	}
	r = &follower{f: f, notify: notify, wake: make(chan struct{}, 1), watchDone: make(chan struct{})}
	go r.watch()
	return child, r, nil
}

// watchModify returns a non-blocking inotify descriptor, as a pollable
// *os.File, watching path for modifications.
func watchModify(path string) (*os.File, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_MODIFY); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "inotify"), nil
}

// follower reads a file that the CLI is still writing, like tail -f, until
// the CLI has exited and the end is reached. Read and Close are for one
// goroutine; watch runs in its own, ended by Close.
type follower struct {
	f         *os.File
	notify    *os.File      // inotify events: the file grew
	wake      chan struct{} // one pending "the file grew"; buffered so watch never blocks
	exited    <-chan struct{}
	watchDone chan struct{}
}

// Read reads what the CLI has written; at the end of the file it waits for
// more, and returns io.EOF once the CLI has exited and all is read.
func (r *follower) Read(b []byte) (int, error) {
	for {
		exited := isClosed(r.exited) // before the read: then that read saw all
		n, err := r.f.Read(b)
		if n > 0 || err != io.EOF {
			return n, err
		}
		if exited {
			return 0, io.EOF
		}
		select {
		case <-r.wake:
		case <-r.exited:
		}
	}
}

// watch turns inotify events into wake-ups until Close.
func (r *follower) watch() {
	defer close(r.watchDone)
	buf := make([]byte, 4096)
	for {
		if _, err := r.notify.Read(buf); err != nil {
			return // closed
		}
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops watch and closes the file.
func (r *follower) Close() error {
	r.notify.Close()
	<-r.watchDone
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
