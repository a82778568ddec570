// Package fakecli is a scriptable stand-in for the claude CLI, for tests and
// the demo. A program that wants to act as the fake calls RunIfRequested
// first thing (in TestMain, before m.Run parses flags, or at the top of
// main); when the environment variable FAKECLI_SCRIPT holds a script, the
// process plays it and exits instead of returning. The program then uses
// its own executable (os.Executable) as the CLI path and passes a script per
// query with Env:
//
//	func TestMain(m *testing.M) {
//		fakecli.RunIfRequested()
//		os.Exit(m.Run())
//	}
//
//	req.Env = []string{fakecli.Env(fakecli.Success("hello", 0.01))}
package fakecli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvVar is the environment variable that carries the script, as JSON.
const EnvVar = "FAKECLI_SCRIPT"

// EnvVersion, when set, makes RunIfRequested answer a lone `--version`
// argument as the CLI does ("2.1.197 (Claude Code)"), with its value as the
// version; agent.New runs that to check the CLI. AnswerVersion sets it.
const EnvVersion = "FAKECLI_VERSION"

// AnswerVersion makes the fakes this process starts from now on answer
// `--version` with version. Call it after RunIfRequested.
func AnswerVersion(version string) {
	os.Setenv(EnvVersion, version)
}

// Script is the list of steps the fake plays in order. After the last step
// the fake exits with code 0.
type Script []Step

// Op names what a Step does.
type Op string

// Step kinds; build steps with the constructors (Line, Stderr, Exit...).
const (
	OpStdout          Op = "stdout"            // write Data to stdout, or Chunks with Pause between them
	OpStderr          Op = "stderr"            // write Data to stderr
	OpStderrBytes     Op = "stderr_bytes"      // write N bytes of text to stderr
	OpSleep           Op = "sleep"             // sleep Duration (real time)
	OpExit            Op = "exit"              // exit with Code
	OpKill            Op = "kill"              // send Signal to itself
	OpIgnoreSIGTERM   Op = "ignore_sigterm"    // ignore SIGTERM from now on
	OpTrapSIGTERM     Op = "trap_sigterm"      // from now on, exit with 143 from a SIGTERM handler
	OpHang            Op = "hang"              // block until killed
	OpRecord          Op = "record"            // read the prompt (see Record), write a Recording to Path
	OpSpawn           Op = "spawn"             // start a child playing Script, write its pid to Path
	OpCat             Op = "cat"               // copy the file at Path to stdout
	OpEcho            Op = "echo"              // read the prompt (see Record), answer it back as a successful run
	OpSpend           Op = "spend"             // a successful run costing USD, or its --max-budget-usd if less
	OpAwaitStdinEOF   Op = "await_stdin_eof"   // read stdin until it closes, as the CLI does after a turn
	OpControl         Op = "control"           // N control requests of subtype Data, each waiting for its answer; a summary to Path
	OpControlCancel   Op = "control_cancel"    // a control request of subtype Data, then its cancel
	OpControlRaw      Op = "control_raw"       // write Data (a control line) to stdout, no answer awaited
	OpInitialize      Op = "initialize"        // read the initialize request, write its body to Path, answer it (Data: "success" or "error")
	OpAwaitControl    Op = "await_control"     // read stdin until a control request of the host's arrives; answer it with Data ("success"), or leave it unanswered
	OpAwaitStdinBytes Op = "await_stdin_bytes" // wait until N bytes wait unread on stdin
	OpStdoutBytes     Op = "stdout_bytes"      // write about N bytes of assistant lines of Code bytes each to stdout, Pause after each
	OpServe           Op = "serve"             // answer user turns until stdin closes, as a CLI kept for many turns (see Serve)
)

// Step is one action of a Script. Only the fields its Op uses are set.
type Step struct {
	Op       Op             `json:"op"`
	Data     string         `json:"data,omitempty"`
	Chunks   []string       `json:"chunks,omitempty"`
	Pause    time.Duration  `json:"pause,omitempty"`
	N        int            `json:"n,omitempty"`
	Duration time.Duration  `json:"duration,omitempty"`
	Code     int            `json:"code,omitempty"`
	Signal   syscall.Signal `json:"signal,omitempty"`
	Path     string         `json:"path,omitempty"`
	EnvKeys  []string       `json:"env_keys,omitempty"`
	Script   Script         `json:"script,omitempty"`
	Setsid   bool           `json:"setsid,omitempty"` // Spawn: in a session of its own
	USD      float64        `json:"usd,omitempty"`
}

// Control sends n control requests of subtype (ids "cli_1"...), one after
// the other, each waiting for the host's answer on stdin, then writes a
// ControlSummary of the answers to path.
func Control(n int, subtype, path string) Step {
	return Step{Op: OpControl, N: n, Data: subtype, Path: path}
}

// ControlCancel sends a control request of subtype with id "cli_cancel",
// then withdraws it with a control_cancel_request.
func ControlCancel(subtype string) Step { return Step{Op: OpControlCancel, Data: subtype} }

// Initialize reads the first stdin line, which must be an initialize
// control request, writes its "request" object to path, and answers it
// with subtype answer ("success" or "error").
func Initialize(answer, path string) Step { return Step{Op: OpInitialize, Data: answer, Path: path} }

// AwaitControlRequest reads stdin until a control request of the host's
// arrives, and leaves it unanswered.
func AwaitControlRequest() Step { return Step{Op: OpAwaitControl} }

// AnswerControlRequest reads stdin until a control request of the host's
// arrives, and answers it with success.
func AnswerControlRequest() Step { return Step{Op: OpAwaitControl, Data: "success"} }

// AwaitStdinBytes waits until at least n bytes wait unread on stdin (a
// pipe that the fake does not read fills up): the host's writer is then
// blocked. Unix only.
func AwaitStdinBytes(n int) Step { return Step{Op: OpAwaitStdinBytes, N: n} }

// ControlRaw writes line, a control line, to stdout as is.
func ControlRaw(line string) Step { return Step{Op: OpControlRaw, Data: line + "\n"} }

// ControlSummary is what a Control step saw of the host's answers.
type ControlSummary struct {
	Answered int               `json:"answered"`
	Errors   map[string]string `json:"errors"` // request id -> error message, for error answers
	Stdin    []string          `json:"stdin"`  // the other lines read meanwhile
}

// Serve answers the user turns on stdin until it closes, as the CLI does
// with --input-format stream-json: each turn gets an init line, an
// assistant line and a result whose text is ServedText (the prompt, this
// process's pid and the turns it answered since its last /clear), costing
// usd more than the previous result's cumulative total_cost_usd. "/clear"
// starts a new conversation: a result at no cost, and the count restarts.
// Control requests of the host's are answered with success.
func Serve(usd float64) Step { return Step{Op: OpServe, USD: usd} }

// ServedText is the answer of a Serve step to prompt, from the process
// pid, as the turn-th turn since its start or its last /clear.
func ServedText(prompt string, pid, turn int) string {
	return fmt.Sprintf("%s [pid %d, turn %d]", prompt, pid, turn)
}

// AwaitStdinEOF reads stdin until the client closes it, as the CLI does
// with --input-format stream-json after answering a turn: it exits only
// then.
func AwaitStdinEOF() Step { return Step{Op: OpAwaitStdinEOF} }

// Spend plays a successful run (init, assistant, result) whose result
// reports a cost of usd, or of the --max-budget-usd it was given if that
// is less: a CLI that spends all it may, up to usd.
func Spend(usd float64) Step { return Step{Op: OpSpend, USD: usd} }

// Echo reads the prompt from stdin and plays a successful run (init,
// assistant, result, at no cost) whose answer is the prompt itself.
func Echo() Step { return Step{Op: OpEcho} }

// Line prints s and a newline on stdout.
func Line(s string) Step { return Step{Op: OpStdout, Data: s + "\n"} }

// Write prints s on stdout as is (no newline added): for CRLF endings or a
// last line without a newline.
func Write(s string) Step { return Step{Op: OpStdout, Data: s} }

// Chunked writes the chunks to stdout one write each, sleeping pause
// between them, so that a reader sees a line split across reads.
func Chunked(pause time.Duration, chunks ...string) Step {
	return Step{Op: OpStdout, Chunks: chunks, Pause: pause}
}

// Cat copies the file at path to stdout, for output too big to pass in
// the script's environment variable (Linux limits one to 128 KiB).
func Cat(path string) Step { return Step{Op: OpCat, Path: path} }

// Stderr writes s to stderr.
func Stderr(s string) Step { return Step{Op: OpStderr, Data: s} }

// StderrBytes writes n bytes of text to stderr, in lines of 100 bytes.
func StderrBytes(n int) Step { return Step{Op: OpStderrBytes, N: n} }

// StdoutBytes writes about n bytes of stdout as assistant lines of about
// lineBytes each (at least 100), in one write per line: bulk output without
// a file to Cat.
func StdoutBytes(n, lineBytes int) Step { return Step{Op: OpStdoutBytes, N: n, Code: lineBytes} }

// PacedStdoutBytes is StdoutBytes sleeping pause after each line, for a
// writer of a known top speed.
func PacedStdoutBytes(n, lineBytes int, pause time.Duration) Step {
	st := StdoutBytes(n, lineBytes)
	st.Pause = pause
	return st
}

// Sleep sleeps d of real time.
func Sleep(d time.Duration) Step { return Step{Op: OpSleep, Duration: d} }

// Exit exits with code.
func Exit(code int) Step { return Step{Op: OpExit, Code: code} }

// Kill sends sig to the fake itself (e.g. syscall.SIGKILL).
func Kill(sig syscall.Signal) Step { return Step{Op: OpKill, Signal: sig} }

// IgnoreSIGTERM makes the fake ignore SIGTERM from then on, so only
// SIGKILL stops it.
func IgnoreSIGTERM() Step { return Step{Op: OpIgnoreSIGTERM} }

// TrapSIGTERM makes the fake exit with code 143 from a handler of SIGTERM,
// as a CLI that cleans up does: a stopped process runs no handler, so it
// exits only once continued.
func TrapSIGTERM() Step { return Step{Op: OpTrapSIGTERM} }

// Hang blocks until the fake is killed.
func Hang() Step { return Step{Op: OpHang} }

// Record reads the prompt (the content of a first stdin line that is a
// stream-json user turn, else all of stdin), then writes a Recording of
// the arguments, the prompt (Stdin), the working directory and the listed
// environment variables to path (read it back with ReadRecording).
func Record(path string, envKeys ...string) Step {
	return Step{Op: OpRecord, Path: path, EnvKeys: envKeys}
}

// Spawn starts a child process playing script, in the fake's process group
// and sharing its stdout and stderr, and writes the child's pid to pidFile.
// The fake does not wait for it: tests use it to check that a whole process
// group is stopped.
func Spawn(pidFile string, script Script) Step {
	return Step{Op: OpSpawn, Path: pidFile, Script: script}
}

// SpawnEscaped is Spawn with the child in a new session, out of the fake's
// process group: a descendant that a group kill does not reach, still
// holding the fake's stdout and stderr. The test must kill it.
func SpawnEscaped(pidFile string, script Script) Step {
	st := Spawn(pidFile, script)
	st.Setsid = true
	return st
}

// Env returns "FAKECLI_SCRIPT=<script as JSON>", for a query's environment.
func Env(s Script) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic("fakecli: " + err.Error()) // a Script always marshals
	}
	return EnvVar + "=" + string(b)
}

// Recording is what a Record step saw.
type Recording struct {
	Pid   int               `json:"pid"`
	Args  []string          `json:"args"`
	Stdin string            `json:"stdin"`
	Dir   string            `json:"dir"`
	Env   map[string]string `json:"env"` // only the listed keys that were set
}

// ReadRecording reads the file a Record step wrote.
func ReadRecording(path string) (Recording, error) {
	var r Recording
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("fakecli: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("fakecli: recording %s: %w", path, err)
	}
	return r, nil
}

// exitBadScript is the fake's exit code when its own script fails.
const exitBadScript = 97

// RunIfRequested plays the script in FAKECLI_SCRIPT and exits, when the
// variable is set; otherwise it returns at once. Call it before anything
// parses flags: the fake is started with the CLI's arguments (-p ...).
func RunIfRequested() {
	if v, ok := os.LookupEnv(EnvVersion); ok && len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("%s (Claude Code)\n", v)
		os.Exit(0)
	}
	src, ok := os.LookupEnv(EnvVar)
	if !ok {
		return
	}
	var s Script
	if err := json.Unmarshal([]byte(src), &s); err != nil {
		fail(err)
	}
	for _, st := range s {
		if err := play(st); err != nil {
			fail(err)
		}
	}
	os.Exit(0)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fakecli:", err)
	os.Exit(exitBadScript)
}

func play(st Step) error {
	switch st.Op {
	case OpStdout:
		if st.Chunks == nil {
			_, err := io.WriteString(os.Stdout, st.Data)
			return err
		}
		for i, c := range st.Chunks {
			if i > 0 {
				time.Sleep(st.Pause)
			}
			if _, err := io.WriteString(os.Stdout, c); err != nil {
				return err
			}
		}
	case OpStderr:
		_, err := io.WriteString(os.Stderr, st.Data)
		return err
	case OpStderrBytes:
		line := strings.Repeat("e", 99) + "\n"
		for n := st.N; n > 0; n -= len(line) {
			if _, err := io.WriteString(os.Stderr, line[:min(n, len(line))]); err != nil {
				return err
			}
		}
	case OpStdoutBytes:
		line := []byte(AssistantLine(strings.Repeat("x", max(st.Code, 100)-len(AssistantLine(""))-1)) + "\n")
		for n := st.N; n > 0; n -= len(line) {
			if _, err := os.Stdout.Write(line); err != nil {
				return err
			}
			if st.Pause > 0 {
				time.Sleep(st.Pause)
			}
		}
	case OpSleep:
		time.Sleep(st.Duration)
	case OpExit:
		os.Exit(st.Code)
	case OpKill:
		if err := killSelf(st.Signal); err != nil {
			return err
		}
		hang() // until the signal lands
	case OpIgnoreSIGTERM:
		signal.Ignore(syscall.SIGTERM)
	case OpTrapSIGTERM:
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		go func() {
			<-c
			os.Exit(143)
		}()
	case OpHang:
		hang()
	case OpRecord:
		return record(st)
	case OpSpawn:
		return spawn(st)
	case OpCat:
		f, err := os.Open(st.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(os.Stdout, f)
		return err
	case OpEcho:
		prompt, err := readPrompt()
		if err != nil {
			return err
		}
		for _, step := range Success(prompt, 0) {
			if step.Op == OpStdout {
				if err := play(step); err != nil {
					return err
				}
			}
		}
	case OpAwaitStdinEOF:
		_, err := io.Copy(io.Discard, stdin)
		return err
	case OpControl:
		return control(st)
	case OpControlCancel:
		if _, err := fmt.Fprintf(os.Stdout, `{"type":"control_request","request_id":"cli_cancel","request":{"subtype":%q}}`+"\n", st.Data); err != nil {
			return err
		}
		_, err := io.WriteString(os.Stdout, `{"type":"control_cancel_request","request_id":"cli_cancel"}`+"\n")
		return err
	case OpAwaitControl:
		for {
			line, err := stdin.ReadString('\n')
			if err != nil {
				return fmt.Errorf("await control request: %w", err)
			}
			if !strings.Contains(line, `"type":"control_request"`) {
				continue
			}
			if st.Data == "" {
				return nil
			}
			var req struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(line), &req); err != nil {
				return err
			}
			id, _ := json.Marshal(req.RequestID)
			_, err = fmt.Fprintf(os.Stdout, `{"type":"control_response","response":{"subtype":"success","request_id":%s,"response":{}}}`+"\n", id)
			return err
		}
	case OpAwaitStdinBytes:
		for {
			n, err := stdinUnread()
			if err != nil || n >= st.N {
				return err
			}
			time.Sleep(time.Millisecond)
		}
	case OpInitialize:
		line, err := stdin.ReadString('\n')
		if err != nil {
			return err
		}
		var req struct {
			Type      string          `json:"type"`
			RequestID string          `json:"request_id"`
			Request   json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal([]byte(line), &req); err != nil || req.Type != "control_request" {
			return fmt.Errorf("initialize: the first stdin line is not a control request: %q", line)
		}
		if err := writeFileAtomic(st.Path, req.Request); err != nil {
			return err
		}
		answer := fmt.Sprintf(`{"type":"control_response","response":{"subtype":"success","request_id":%q,"response":{"commands":[]}}}`, req.RequestID)
		if st.Data == "error" {
			answer = fmt.Sprintf(`{"type":"control_response","response":{"subtype":"error","request_id":%q,"error":"bad hooks"}}`, req.RequestID)
		}
		_, err = io.WriteString(os.Stdout, answer+"\n")
		return err
	case OpControlRaw:
		_, err := io.WriteString(os.Stdout, st.Data)
		return err
	case OpServe:
		return serve(st.USD)
	case OpSpend:
		cost := st.USD
		for _, arg := range os.Args[1:] {
			if v, ok := strings.CutPrefix(arg, "--max-budget-usd="); ok {
				capUSD, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return err
				}
				cost = min(cost, capUSD)
			}
		}
		for _, step := range Success("spent", cost) {
			if step.Op == OpStdout {
				if err := play(step); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("unknown op %q", st.Op)
	}
	return nil
}

func hang() {
	for {
		time.Sleep(time.Hour)
	}
}

// readPrompt reads the prompt the way the CLI gets it: a first stdin
// line that is a stream-json user turn gives its content (stdin then stays
// open, as the client keeps it until the result); anything else is read
// to EOF, whole.
func readPrompt() (string, error) {
	r := stdin
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	var turn struct {
		Type    string `json:"type"`
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	}
	if json.Unmarshal([]byte(line), &turn) == nil && turn.Type == "user" {
		return turn.Message.Content, nil
	}
	rest, err := io.ReadAll(r)
	return line + string(rest), err
}

// serve plays a Serve step.
func serve(usd float64) error {
	total, turn := 0.0, 0
	for {
		line, err := stdin.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var in struct {
			Type      string `json:"type"`
			RequestID string `json:"request_id"`
			Message   struct {
				Content string `json:"content"`
			} `json:"message"`
		}
		if json.Unmarshal([]byte(line), &in) != nil {
			continue
		}
		var out []string
		switch {
		case in.Type == "control_request":
			out = []string{fmt.Sprintf(`{"type":"control_response","response":{"subtype":"success","request_id":%q,"response":{}}}`, in.RequestID)}
		case in.Type != "user":
			continue
		case in.Message.Content == "/clear":
			turn = 0
			out = []string{InitLine(), ResultLine("", total)}
		default:
			turn++
			total += usd
			text := ServedText(in.Message.Content, os.Getpid(), turn)
			out = []string{InitLine(), AssistantLine(text), ResultLine(text, total)}
		}
		for _, l := range out {
			if _, err := io.WriteString(os.Stdout, l+"\n"); err != nil {
				return err
			}
		}
	}
}

// stdin is the fake's one reader of its stdin, shared by the steps.
var stdin = bufio.NewReaderSize(os.Stdin, 64<<10)

// control plays a Control step.
func control(st Step) error {
	sum := ControlSummary{Errors: map[string]string{}}
	for i := 1; i <= st.N; i++ {
		id := fmt.Sprintf("cli_%d", i)
		if _, err := fmt.Fprintf(os.Stdout, `{"type":"control_request","request_id":%q,"request":{"subtype":%q,"n":%d}}`+"\n", id, st.Data, i); err != nil {
			return err
		}
		for {
			line, err := stdin.ReadString('\n')
			if err != nil {
				return fmt.Errorf("control: stdin ended waiting for the answer to %s: %w", id, err)
			}
			var m struct {
				Type     string `json:"type"`
				Response struct {
					Subtype   string `json:"subtype"`
					RequestID string `json:"request_id"`
					Error     string `json:"error"`
				} `json:"response"`
			}
			if json.Unmarshal([]byte(line), &m) != nil || m.Type != "control_response" || m.Response.RequestID != id {
				sum.Stdin = append(sum.Stdin, strings.TrimSpace(line))
				continue
			}
			sum.Answered++
			if m.Response.Subtype == "error" {
				sum.Errors[id] = m.Response.Error
			}
			break
		}
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return writeFileAtomic(st.Path, b)
}

// ReadControlSummary reads the file a Control step wrote.
func ReadControlSummary(path string) (ControlSummary, error) {
	var s ControlSummary
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("fakecli: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("fakecli: control summary %s: %w", path, err)
	}
	return s, nil
}

func record(st Step) error {
	stdin, err := readPrompt()
	if err != nil {
		return err
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	r := Recording{Pid: os.Getpid(), Args: os.Args[1:], Stdin: stdin, Dir: dir, Env: map[string]string{}}
	for _, k := range st.EnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			r.Env[k] = v
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(st.Path, b)
}

func spawn(st Step) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), Env(st.Script))
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = spawnAttr(st.Setsid)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // reaps the child if the fake outlives it
	return writeFileAtomic(st.Path, []byte(fmt.Sprint(cmd.Process.Pid)))
}

// writeFileAtomic writes via a rename, so a reader polling for path never
// sees it half written.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
