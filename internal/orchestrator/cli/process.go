package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// errStopped is the stop cause when the consumer ends the stream early.
var errStopped = errors.New("agent: stream stopped by its consumer")

// ErrKill, wrapped in the cause of a stop (the cause the caller's context
// is cancelled with), makes the stop a SIGKILL of the CLI's group at once,
// without the grace period: for a CLI that must not go on spending. (On
// Windows every stop is that kill: see procGroup in group_windows.go.)
var ErrKill = errors.New("agent: claude CLI killed at once")

// process is one running CLI in its own process group (on Windows, in a
// job object of its own: see procGroup).
//
// Goroutines, all ended before close returns:
//   - supervise starts the CLI from an OS thread of its own and keeps it
//     until the CLI is reaped;
//   - begin sends the initialize, if any, then the first user turn;
//   - writeLoop owns stdin and writes its lines (input.go);
//   - read reads stdout to its end, routing control lines and queueing the
//     rest for the stream's consumer (reader.go);
//   - drainStderr reads stderr to EOF into the tail buffer;
//   - watchExit learns when the group leader has exited, without reaping it;
//   - limitUnread pauses the group while the caller is too far behind;
//   - supervise then stops the group when ctx ends; once the leader has
//     exited it kills the group and the escaped descendants (killEscaped),
//     and once stdin is closed and stderr is at EOF, it is the only caller
//     of cmd.Wait.
//
// read may end after the CLI is reaped (a consumer that is slow to take
// its messages holds it back, and the file keeps what the CLI wrote).
type process struct {
	cmd    *exec.Cmd
	pid    int           // also the process group id; set by supervise before start returns
	group  procGroup     // the CLI and its descendants; set by supervise before start returns
	grace  time.Duration // SIGTERM -> SIGKILL
	token  string        // marks the environment of the CLI and its descendants (envRunToken)
	count  *Counters
	stdout io.ReadCloser // see newStdout
	stderr *os.File

	// inbox holds what read has read for the stream's consumer; what the
	// consumer does not take goes to the Request's Drain.
	inbox *inbox
	idle  *watchdog

	ctx  context.Context // ends when the caller's ctx ends or stop is called
	stop context.CancelCauseFunc

	ctl        *control      // stdin's writer and the control protocol
	begun      chan struct{} // begin returned
	stdoutDone chan struct{} // read returned: stdout read to its end
	stderrDone chan struct{} // stderr read to EOF; tail final
	exited     chan struct{} // leader exited, not reaped: the pgid is still ours
	unreadDone chan struct{} // limitUnread returned
	done       chan struct{} // reaped; fields below are final

	// sigMu orders limitUnread's SIGSTOP after a check that the CLI is not
	// being stopped, against terminate's SIGTERM and SIGCONT: a CLI is
	// never left paused once it is asked to exit.
	sigMu sync.Mutex

	tail    tailBuffer
	state   *os.ProcessState
	waitErr error
}

// start starts the CLI at path with its own process group, pipes for stdin
// and stderr, and newStdout's file or pipe for stdout. No shell is involved.
// p.ctx is ctx; stop must cancel it. idle is reset by each line read, and
// held while the CLI waits for the host.
func start(ctx context.Context, stop context.CancelCauseFunc, path string, req *Request, opt *Options, idle *watchdog) (*process, error) {
	childOut, stdout, err := newStdout()
	if err != nil {
		return nil, err
	}
	var files [4]*os.File // stdin r/w, stderr r/w
	for i := 0; i < len(files); i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(files[:i])
			childOut.Close()
			stdout.Close()
			return nil, fmt.Errorf("agent: pipe for claude CLI: %w", err)
		}
		files[i], files[i+1] = r, w
	}
	token := rand.Text()
	cmd := exec.Command(path, req.args()...)
	cmd.Dir = req.WorkingDir
	cmd.Env = append(req.env(os.Environ()), envRunToken+"="+token)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], childOut, files[3]
	cmd.SysProcAttr = sysProcAttr()

	p := &process{
		cmd:        cmd,
		grace:      opt.GracePeriod,
		token:      token,
		count:      opt.Counters,
		stdout:     stdout,
		stderr:     files[2],
		ctx:        ctx,
		stop:       stop,
		begun:      make(chan struct{}),
		stdoutDone: make(chan struct{}),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
		unreadDone: make(chan struct{}),
		done:       make(chan struct{}),
		tail:       tailBuffer{max: opt.StderrTailBytes},
		inbox:      newInbox(req.Drain),
		idle:       idle,
		ctl:        newControl(ctx, files[1], req.Handlers, opt.Callbacks, idle, opt.ControlTimeout, req.Session),
	}
	started := make(chan error, 1)
	opt.Tracker.add() // done by supervise once the process is reaped, or failed to start
	go p.supervise(started, opt.Tracker)
	err = <-started
	closeAll([]*os.File{files[0], childOut, files[3]}) // the child's ends
	if err != nil {
		closeAll([]*os.File{files[1], files[2]})
		stdout.Close()
		return nil, fmt.Errorf("agent: start claude CLI: %w", err)
	}
	stdout.exited, stdout.stopped, stdout.poke = p.exited, ctx.Done(), p.ctl.poke
	go p.ctl.writeLoop()
	go p.begin(req)
	go p.read(opt.MaxLineBytes)
	go p.drainStderr(opt.OnStderr, opt.Callbacks)
	go p.watchExit()
	go p.limitUnread(stdout, opt.MaxUnreadStdout)
	return p, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// begin sends the initialize request when there is one (and waits for its
// answer), then the prompt as one stream-json user turn (a session may
// have none yet), and leaves stdin open: the CLI reads turns until stdin
// closes (input.go says when). A CLI that exits without reading makes the
// write fail: that is reported by its exit, not here; a refused initialize
// stops the CLI.
func (p *process) begin(req *Request) {
	defer close(p.begun)
	var err error
	if req.Initialize != nil {
		_, err = p.ctl.request(p.ctx, protocol.ControlInitialize, req.Initialize)
	}
	close(p.ctl.ready) // turns may follow, or fail: the CLI is stopped
	if err != nil {
		p.stop(fmt.Errorf("agent: initialize the claude CLI: %w", err))
		return
	}
	if req.Prompt != "" || !req.Session {
		p.ctl.sendTurn(p.ctx, req.Prompt) //nolint:errcheck // see above
	}
}

// stderrBufSize is the read buffer of stderr: its lines are short, and a
// longer one is handled in pieces.
const stderrBufSize = 4 << 10

// drainStderr reads stderr to EOF into the tail, and queues each line for
// onLine's goroutine (see Options.OnStderr), dropping lines it has no room
// for: stderr is always drained, whatever onLine does.
func (p *process) drainStderr(onLine func(string), g *callback.Guard) {
	defer close(p.stderrDone)
	defer p.stderr.Close()
	var lines chan string
	if onLine != nil {
		lines = make(chan string, StderrQueue) // see StderrQueue
		defer close(lines)
		g.Go("Config.Stderr", func() {
			for line := range lines {
				g.Do("Config.Stderr", func() { onLine(line) }) //nolint:errcheck // logged and counted
			}
		})
	}
	r := bufio.NewReaderSize(p.stderr, stderrBufSize)
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			p.tail.Write(chunk)
			if lines != nil {
				select {
				case lines <- string(bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r"))):
				default:
					p.count.StderrDropped.Add(1)
				}
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// envRunToken is the environment variable holding a run's token: the CLI's
// descendants inherit it, so those that leave its process group can still
// be found (killEscaped).
const envRunToken = "CLAUDE_AGENT_SDK_RUN"

// supervise starts the CLI and owns cmd.Wait. It reports the start on
// started, then stops the group when p.ctx ends before the leader exits;
// once the leader has exited it kills what is left of the group and the
// descendants that escaped it (so nothing outlives the query), waits for
// stderr to be read to EOF, and reaps the leader (stdout may be read
// later: a consumer busy in its loop body keeps no zombie).
//
// On Linux the CLI gets SIGKILL when the thread that started it exits
// (Pdeathsig, so a host that crashes leaves no CLI behind), and Go may end
// a thread whenever a goroutine exits locked to it (golang/go#27505): the
// start happens on this goroutine's locked thread, which it keeps until the
// CLI is reaped.
func (p *process) supervise(started chan<- error, tracker *Tracker) {
	defer tracker.done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := p.cmd.Start(); err != nil {
		started <- err
		return
	}
	p.pid = p.cmd.Process.Pid
	g, err := newGroup(p.cmd.Process)
	if err != nil {
		p.cmd.Process.Kill() //nolint:errcheck // reaped below either way
		p.cmd.Wait()         //nolint:errcheck // the start failed: err says why
		started <- err
		return
	}
	p.group = g
	started <- nil

	defer close(p.done)
	select {
	case <-p.exited:
	case <-p.ctx.Done():
		p.terminate()
	}
	if p.ctx.Err() != nil {
		p.ctl.end() // stopped: the host's requests fail at once
	} // else read ends them once it has read every answer the CLI wrote
	// The leader is not reaped yet, so its pid still names our group.
	p.group.kill()
	p.count.EscapedKilled.Add(int64(killEscaped(envRunToken + "=" + p.token)))
	p.ctl.killStdin()
	<-p.unreadDone
	<-p.begun
	<-p.ctl.writerDone
	p.awaitStderr()
	// Not waiting for stdout to be read: the CLI writes to a file of ours
	// (or a pipe), which keeps what it holds once the CLI is reaped, so a
	// consumer busy elsewhere does not keep a zombie.
	p.waitErr = p.cmd.Wait()
	p.state = p.cmd.ProcessState
	p.group.close()
}

// awaitStderr waits for stderr's EOF. A descendant that left the group
// (setsid, a daemon) and dropped the run's token from its environment
// escaped both kills and may hold stderr open: after the grace period the
// read is cut short.
func (p *process) awaitStderr() {
	t := time.NewTimer(p.grace)
	defer t.Stop()
	select {
	case <-p.stderrDone:
	case <-t.C:
		p.stderr.SetReadDeadline(time.Now()) //nolint:errcheck // a pipe: pollable
		<-p.stderrDone
	}
}

// terminate closes stdin, sends SIGTERM to the group, and SIGKILL if the
// leader is still there after the grace period (real time: it is the
// CLI's own shutdown time). SIGCONT after SIGTERM lets a CLI paused by
// limitUnread exit.
func (p *process) terminate() {
	p.ctl.killStdin()
	if errors.Is(context.Cause(p.ctx), ErrKill) {
		p.group.kill()
		<-p.exited
		return
	}
	p.sigMu.Lock()
	p.group.terminate()
	p.sigMu.Unlock()
	t := time.NewTimer(p.grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.group.kill()
		<-p.exited
	}
}

// discardStdout gives what the consumer has not taken, and what the CLI
// writes until it ends, to the Request's Drain, and waits until stdout is
// read to its end.
func (p *process) discardStdout() {
	p.inbox.leave()
	<-p.stdoutDone
}

// finish waits for a CLI that has printed its result to exit, and stops it
// if it has not within the grace period (the CLI can linger after its
// result, e.g. with background tasks), then reaps it.
func (p *process) finish() {
	t := time.AfterFunc(p.grace, func() { p.stop(errStopped) })
	p.discardStdout()
	t.Stop()
	<-p.done
}

// close stops the CLI if it still runs and waits until it is reaped and
// every goroutine of the process has returned.
func (p *process) close() {
	p.stop(errStopped)
	p.discardStdout()
	<-p.done
}

// end runs once the stream's iterator has returned: a CLI that has nothing
// left to do (it printed its last result, its stdin is closed) gets the
// grace period to exit (finish), any other is stopped (close). Then
// p.ctx's resources are released.
func (p *process) end(done bool) {
	if done {
		p.finish()
	} else {
		p.close()
	}
	p.stop(nil)
}

// exitError describes how the CLI ended when it gave no result.
func (p *process) exitError() error {
	if p.state == nil {
		return fmt.Errorf("agent: wait for claude CLI: %w", p.waitErr)
	}
	e := &protocol.ProcessError{ExitCode: p.state.ExitCode(), Stderr: p.tail.String()}
	if sig := exitSignal(p.state); sig != "" {
		e.ExitCode = -1
		e.Signal = sig
	}
	return e
}
