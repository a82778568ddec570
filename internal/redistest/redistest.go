// Package redistest starts a real redis-server for tests: on a free
// 127.0.0.1 port, with its data in t.TempDir() and `appendonly yes`, so a
// test can kill it (SIGKILL) mid-run and start it again on the same port
// with its data kept. It is never imported by non-test code.
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//	srv.Kill()    // as a crash: nothing is flushed beyond what the AOF holds
//	srv.Restart() // same port, same data
//
// Without redis-server on PATH, Start skips the test with a line that says
// how to install it; with the environment variable CI set it fails the test
// instead.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds the wait for a started server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process and the directory of its data. Its
// methods are safe for concurrent use. Start registers Stop with
// t.Cleanup; nobody else needs to call it.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the running process was reaped; nil: none runs
}

// Option changes the server's configuration.
type Option func(*Server)

// Config sets a redis.conf directive for the server, as `--name value` on
// its command line (for example Config("appendfsync", "everysec")).
func Config(name, value string) Option {
	return func(s *Server) { s.args = append(s.args, "--"+name, value) }
}

// Start starts a redis-server for the test and waits until it answers
// PING. The server keeps an append-only file in a directory of
// t.TempDir(), fsynced at every write (appendfsync always) unless an
// Option says otherwise, and is stopped at t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redistest: no redis-server on PATH: apt-get install redis-server"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(s.Stop)
	// A free port can be taken by someone else between our probe and the
	// server's bind; try a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("redistest: %v", err)
		}
	}
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the directory of the server's data and log.
func (s *Server) Dir() string { return s.dir }

// Kill sends SIGKILL to the server and waits until it is reaped. The data
// it acknowledged is in its append-only file. Killing a stopped server
// does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart starts the server again on the same port with the same data
// directory and waits until it answers PING, having loaded its data. A
// running server is killed first.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.killLocked()
	s.mu.Unlock()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Stop kills the server if it runs and waits for it. It is idempotent.
func (s *Server) Stop() { s.Kill() }

func (s *Server) killLocked() {
	if s.done == nil {
		return
	}
	_ = s.cmd.Process.Kill() // SIGKILL on unix
	<-s.done
	s.cmd, s.done = nil, nil
}

// start runs redis-server on s.port and waits for it to answer PING.
func (s *Server) start() error {
	logFile := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--logfile", logFile,
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--save", "",
		"--protected-mode", "no",
		"--daemonize", "no",
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { // the one owner of Wait
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.awaitPong(done); err != nil {
		s.Kill()
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("redis-server on port %d: %w; log tail:\n%s", s.port, err, tail(string(log), 10))
	}
	return nil
}

// awaitPong dials the server until it answers PING with PONG (not LOADING)
// or exits, or startTimeout passes.
func (s *Server) awaitPong(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v: %w", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond) // a real process starting up: nothing to wait on but the wall clock
	}
}

// ping sends one PING and reads the reply.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
