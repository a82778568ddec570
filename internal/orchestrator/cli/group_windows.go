package cli

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procGroup is the CLI's job object: the CLI is started suspended
// (sysProcAttr), put in the job, then resumed, so every process it starts
// is in the job too (a job's processes cannot break away from it unless
// the job allows it, and this one does not). The job kills its processes
// when its last handle is closed (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE): a
// host that dies leaves no CLI behind, as Pdeathsig does on Linux. It is
// used by supervise's goroutine only, and by watchExit until the leader
// exits.
//
// Windows has no SIGTERM for a process without a console of its own, so
// terminate is kill: the grace period is not given to the CLI, and a
// graceful stop is the kill of the whole tree.
type procGroup struct {
	job  windows.Handle
	proc windows.Handle // the leader, for watchExit; it keeps the pid ours
}

// killExitCode is the exit code of the processes the job kills, that of
// os.Process.Kill on Windows.
const killExitCode = 1

// newGroup puts the CLI just started, still suspended, in a new job object
// and resumes it.
func newGroup(proc *os.Process) (procGroup, error) {
	var g procGroup
	err := g.open(uint32(proc.Pid))
	if err != nil {
		g.close()
		return procGroup{}, fmt.Errorf("agent: job object for claude CLI: %w", err)
	}
	return g, nil
}

func (g *procGroup) open(pid uint32) error {
	var err error
	if g.job, err = windows.CreateJobObject(nil, nil); err != nil {
		return err
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(g.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		return err
	}
	access := uint32(windows.PROCESS_SET_QUOTA | windows.PROCESS_TERMINATE | windows.SYNCHRONIZE)
	if g.proc, err = windows.OpenProcess(access, false, pid); err != nil {
		return err
	}
	if err := windows.AssignProcessToJobObject(g.job, g.proc); err != nil {
		return err
	}
	return resumeThreads(pid)
}

// resumeThreads resumes the threads of the process pid: the one thread of
// a process created suspended. (os.StartProcess closes the thread's handle
// it got, so the thread is found in a snapshot.)
func resumeThreads(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(snap) //nolint:errcheck // read only
	resumed := false
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return err
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th) //nolint:errcheck // nothing written through it
		if err != nil {
			return err
		}
		resumed = true
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return err
	}
	if !resumed {
		return errors.New("no thread to resume")
	}
	return nil
}

// kill terminates every process in the job.
func (g procGroup) kill() {
	windows.TerminateJobObject(g.job, killExitCode) //nolint:errcheck // an empty job: nothing to kill
}

// terminate is kill: see procGroup.
func (g procGroup) terminate() { g.kill() }

// close closes the job, killing what is left in it, once the leader is
// reaped (or failed to join the job).
func (g procGroup) close() {
	for _, h := range []windows.Handle{g.proc, g.job} {
		if h != 0 {
			windows.CloseHandle(h) //nolint:errcheck // nothing written through it
		}
	}
}

// exitSignal is "": a Windows process ends with an exit code only.
func exitSignal(*os.ProcessState) string { return "" }
