package cli

import (
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"

	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
)

// Request is one query: the prompt and the options that become CLI flags.
// The zero value (plus a Prompt) runs the CLI with its defaults.
type Request struct {
	// Prompt is written to the CLI's stdin as one stream-json user turn
	// (--input-format stream-json), never put in argv, so it may be
	// of any size.
	Prompt string
	// Model, SystemPrompt, AppendSystemPrompt, PermissionMode and Resume
	// become --model, --system-prompt, --append-system-prompt,
	// --permission-mode and --resume when not empty.
	Model, SystemPrompt, AppendSystemPrompt string
	// MaxTurns becomes --max-turns when > 0.
	MaxTurns int
	// AllowedTools and DisallowedTools become --allowedTools and
	// --disallowedTools, comma-separated, when not empty.
	AllowedTools, DisallowedTools []string
	PermissionMode                string
	// WorkingDir is the CLI's working directory; empty: the caller's.
	WorkingDir string
	Resume     string
	// PermissionPromptTool becomes --permission-prompt-tool ("stdio": the
	// CLI asks the host, a can_use_tool control request, for a tool that
	// needs permission).
	PermissionPromptTool string
	// MCPConfig becomes --mcp-config (JSON, or a file); a server of type
	// "sdk" in it is reached through mcp_message control requests.
	MCPConfig string
	// MCPConfigs (JSON, or files) each become one more --mcp-config, after
	// MCPConfig's; StrictMCPConfig adds --strict-mcp-config.
	MCPConfigs      []string
	StrictMCPConfig bool
	// MaxBudgetUSD becomes --max-budget-usd when > 0.
	MaxBudgetUSD float64
	// PartialMessages adds --include-partial-messages: the stream then
	// carries StreamEvents.
	PartialMessages bool
	// SystemPromptFile, AppendSystemPromptFile, Settings, Agents,
	// JSONSchema, Effort and SessionID become --system-prompt-file,
	// --append-system-prompt-file, --settings, --agents, --json-schema,
	// --effort and --session-id when not empty.
	SystemPromptFile, AppendSystemPromptFile string
	Settings, Agents, JSONSchema             string
	Effort, SessionID                        string
	// FallbackModels become --fallback-model, comma-separated, when not
	// empty.
	FallbackModels []string
	// AddDirs each become one --add-dir.
	AddDirs []string
	// SettingSources becomes --setting-sources, comma-separated, when not
	// nil (empty: load no settings source).
	SettingSources []string
	// Tools becomes --tools, comma-separated, when not nil (empty: no
	// tools at all).
	Tools []string
	// Continue, ForkSession, NoSessionPersistence and IncludeHookEvents add
	// --continue, --fork-session, --no-session-persistence and
	// --include-hook-events.
	Continue, ForkSession, NoSessionPersistence, IncludeHookEvents bool
	// ExtraArgs go last, as they are: flags of the CLI's that Request has
	// no field for, each "--flag" or "--flag=value", none that SetsFlag
	// names.
	ExtraArgs []string
	// Env holds "KEY=VALUE" entries added to the inherited environment
	// (which loses CLAUDECODE); they win over inherited ones.
	Env []string
	// TraceEnv holds entries added after Env for this run only (the trace
	// context: TRACEPARENT, TRACESTATE): not part of WarmKey, and not
	// given to a warm process, which started before the query.
	TraceEnv []string
	// OptionError, when set, is a problem the caller's options had that
	// no field can show (a WithEnv key holding '=', a JSON schema that
	// does not marshal): the orchestrator refuses the request with it.
	OptionError error
	// Reaped, when set, is called exactly once per Stream that is ranged
	// over, after its last yield: once the CLI is reaped and every
	// goroutine of the stream has ended (a user callback still running is
	// left to Options.Callbacks). It is called in the iterator's goroutine
	// when no process started, else from a goroutine of the stream's, maybe
	// after the iterator has returned (an early break or a stop does not
	// wait for the CLI to go). It must not block for long.
	Reaped func()
	// Drain, when set, is given each message the CLI wrote that the
	// stream did not yield because it was stopped (its context ended) or
	// the caller broke out of it: to account for what the CLI did, e.g.
	// its spend. It is called from the goroutine that ends the process,
	// one message at a time, before Reaped; it must not block.
	Drain func(protocol.Message)
	// Handlers answer the CLI's control requests, by subtype (see
	// ControlHandler); a request of another subtype is answered with an
	// error. They need the CLI to be told where to send them (e.g.
	// --permission-prompt-tool stdio for can_use_tool, Initialize's hooks
	// for hook_callback).
	Handlers map[string]ControlHandler
	// Initialize, when not nil, is sent as an initialize control request
	// (these fields next to its subtype, e.g. "hooks") before the user
	// turn, which waits for its answer; a refused or unanswered initialize
	// stops the CLI.
	Initialize map[string]any
	// Session keeps the CLI for more turns: the stream does not end at a
	// result; the owner sends turns with Controller.SendTurn, and the stream
	// ends once Controller.CloseInput has closed stdin and the CLI exits.
	// A session's Prompt may be empty: then no turn is written until the
	// first SendTurn.
	Session bool
	// OnStart, when set, is called with the CLI's Controller once the
	// process has started, before its output is read, from the iterator's
	// goroutine.
	OnStart func(*Controller)
	// Warm, when set, is the process that serves the request, started
	// ahead of it (StartWarm) for the request's WarmKey: the stream
	// writes the initialize (unless the process already had it) and the
	// turn, and ends at the turn's result, whose TotalCostUSD is then the
	// turn's own cost (the CLI counts from the process's start). Session
	// and OnStart must not be set with it; the process's own flags, not
	// the request's, apply.
	Warm *Warm
	// Reuse, with Warm, takes the process back once its turn is answered
	// and the CLI waits for the next: it is handed to Reuse after Reaped,
	// when the stream's iterator returns, from its goroutine (Reuse must
	// not block), and is reset with /clear when a stream claims it next.
	// Without it, the process exits like a one-shot's.
	Reuse func(*Warm)
}

// reaped calls r.Reaped if set.
func (r *Request) reaped() {
	if r.Reaped != nil {
		r.Reaped()
	}
}

// Options configures how the CLI is run. The zero value uses the defaults
// given on each field.
type Options struct {
	// Path is the CLI, resolved with Find: empty searches the usual places.
	Path string
	// MaxLineBytes is the longest stdout line accepted; a longer one ends
	// the stream with *LineTooLongError. 0: 32 MiB.
	MaxLineBytes int
	// StderrTailBytes is how much of the end of stderr errors keep.
	// 0: 64 KiB.
	StderrTailBytes int
	// OnStderr, when set, is called with each stderr line (without its
	// line ending; lines over 4 KiB come in pieces), in order, never
	// concurrently for one stream (streams call it concurrently), from a
	// goroutine of its own run by Callbacks: it delays neither the CLI nor
	// the stream, and may run after the stream has ended. While it runs,
	// up to StderrQueue lines wait; further lines are dropped, counted in
	// Counters.StderrDropped (the stderr tail kept for errors has them).
	// A panic in it is recovered, logged and counted by Callbacks.
	OnStderr func(line string)
	// Callbacks runs OnStderr and the control handlers (Request.Handlers)
	// and tracks the calls still running, for the owner's Close to wait
	// for (callback.Guard.Wait). nil: a guard of the stream's own, which
	// nobody waits for.
	Callbacks *callback.Guard
	// GracePeriod is how long a stopped CLI gets between SIGTERM and
	// SIGKILL. 0: 5 s.
	GracePeriod time.Duration
	// IdleTimeout stops the CLI when it writes no stdout line for this
	// long while it has a turn to work on (the time the caller spends in
	// its loop body, a control handler takes, or a session waits between
	// turns does not count); the stream then ends with an error matching
	// ErrIdleTimeout. 0: none.
	IdleTimeout time.Duration
	// Tracker, when set, counts the processes until they are reaped, so
	// that their owner can wait for them all (Tracker.Wait).
	Tracker *Tracker
	// ControlTimeout bounds each control request of the host's (0:
	// DefaultControlTimeout), whatever its context allows.
	ControlTimeout time.Duration
	// Clock times IdleTimeout. nil: the real clock.
	Clock clock.Clock
	// MaxUnreadStdout bounds the output the CLI may write ahead of the
	// caller: once more than this is unread, the CLI's process group is
	// paused (SIGSTOP) until the caller has read half of it (SIGCONT). The
	// CLI's output the caller holds is at most about this, plus the line
	// being assembled (up to MaxLineBytes), plus 1 MiB read but not yet
	// given back to the kernel, plus the decoded messages the reader of
	// stdout holds ahead of the caller (lines of up to 1 MiB in all, or
	// one longer line); a CLI writing fast can overshoot it by what it
	// writes in a millisecond. Linux only (elsewhere stdout is a pipe,
	// which bounds itself). 0: 4 MiB.
	MaxUnreadStdout int64
	// Counters, when set, is added to by every stream run with these
	// Options (see Counters). nil: counted privately, unseen.
	Counters *Counters
}

// Defaults of Options.
const (
	DefaultMaxLineBytes    = 32 << 20
	DefaultStderrTailBytes = 64 << 10
	DefaultGracePeriod     = 5 * time.Second
	DefaultMaxUnreadStdout = 4 << 20
)

// StderrQueue is how many stderr lines wait for a busy OnStderr before
// lines are dropped: a burst of a CLI's warnings, not a log to keep.
const StderrQueue = 1024

func (o Options) withDefaults() Options {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.StderrTailBytes <= 0 {
		o.StderrTailBytes = DefaultStderrTailBytes
	}
	if o.GracePeriod <= 0 {
		o.GracePeriod = DefaultGracePeriod
	}
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.MaxUnreadStdout <= 0 {
		o.MaxUnreadStdout = DefaultMaxUnreadStdout
	}
	if o.Counters == nil {
		o.Counters = new(Counters)
	}
	if o.Callbacks == nil {
		o.Callbacks = callback.New(nil, nil)
	}
	if o.ControlTimeout <= 0 {
		o.ControlTimeout = DefaultControlTimeout
	}
	return o
}

func (r *Request) validate() error {
	switch {
	case r.MaxTurns < 0:
		return errors.New("agent: MaxTurns must be >= 0")
	case r.MaxBudgetUSD < 0 || math.IsNaN(r.MaxBudgetUSD) || math.IsInf(r.MaxBudgetUSD, 0):
		return errors.New("agent: MaxBudgetUSD must be a finite amount >= 0")
	}
	for _, kv := range r.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return errors.New("agent: Env entry " + strconv.Quote(kv) + " is not KEY=VALUE")
		}
	}
	return nil
}

// args returns the CLI's arguments. Values from users use the --flag=value
// form, so that a value starting with "-" cannot be taken for a flag.
func (r *Request) args() []string {
	args := []string{"-p", "--output-format", "stream-json", "--verbose", "--input-format", "stream-json"}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag+"="+v)
		}
	}
	add("--model", r.Model)
	add("--system-prompt", r.SystemPrompt)
	add("--append-system-prompt", r.AppendSystemPrompt)
	if r.MaxTurns > 0 {
		add("--max-turns", strconv.Itoa(r.MaxTurns))
	}
	add("--allowedTools", strings.Join(r.AllowedTools, ","))
	add("--disallowedTools", strings.Join(r.DisallowedTools, ","))
	add("--permission-mode", r.PermissionMode)
	add("--resume", r.Resume)
	add("--permission-prompt-tool", r.PermissionPromptTool)
	add("--mcp-config", r.MCPConfig)
	for _, c := range r.MCPConfigs {
		add("--mcp-config", c)
	}
	if r.MaxBudgetUSD > 0 {
		add("--max-budget-usd", strconv.FormatFloat(r.MaxBudgetUSD, 'f', -1, 64))
	}
	flag := func(name string, on bool) {
		if on {
			args = append(args, name)
		}
	}
	flag("--include-partial-messages", r.PartialMessages)
	flag("--strict-mcp-config", r.StrictMCPConfig)
	add("--system-prompt-file", r.SystemPromptFile)
	add("--append-system-prompt-file", r.AppendSystemPromptFile)
	add("--fallback-model", strings.Join(r.FallbackModels, ","))
	for _, d := range r.AddDirs {
		add("--add-dir", d)
	}
	add("--settings", r.Settings)
	if r.SettingSources != nil {
		args = append(args, "--setting-sources="+strings.Join(r.SettingSources, ","))
	}
	add("--agents", r.Agents)
	add("--json-schema", r.JSONSchema)
	add("--effort", r.Effort)
	if r.Tools != nil {
		args = append(args, "--tools="+strings.Join(r.Tools, ","))
	}
	add("--session-id", r.SessionID)
	flag("--continue", r.Continue)
	flag("--fork-session", r.ForkSession)
	flag("--no-session-persistence", r.NoSessionPersistence)
	flag("--include-hook-events", r.IncludeHookEvents)
	return append(args, r.ExtraArgs...)
}

// sdkFlags are the flags args sets, under every name the CLI knows them
// by: Request.ExtraArgs may name none of them.
var sdkFlags = map[string]bool{
	"-p": true, "--print": true, "--output-format": true, "--verbose": true, "--input-format": true,
	"--model": true, "--system-prompt": true, "--append-system-prompt": true, "--max-turns": true,
	"--allowedTools": true, "--allowed-tools": true, "--disallowedTools": true, "--disallowed-tools": true,
	"--permission-mode": true, "-r": true, "--resume": true, "--permission-prompt-tool": true,
	"--mcp-config": true, "--strict-mcp-config": true, "--max-budget-usd": true,
	"--include-partial-messages": true, "--system-prompt-file": true, "--append-system-prompt-file": true,
	"--fallback-model": true, "--add-dir": true, "--settings": true, "--setting-sources": true,
	"--agents": true, "--json-schema": true, "--effort": true, "--tools": true, "--session-id": true,
	"-c": true, "--continue": true, "--fork-session": true, "--no-session-persistence": true,
	"--include-hook-events": true,
}

// SetsFlag reports whether the SDK sets flag itself (e.g. "--model"),
// from a field of Request or always, so that an extra argument must not.
func SetsFlag(flag string) bool { return sdkFlags[flag] }

// envNested is set by Claude Code in the shells it runs; it must not leak
// into the CLI started here, which would take itself for a nested session.
const envNested = "CLAUDECODE"

// env returns base without CLAUDECODE, followed by the request's entries
// (exec keeps the last value of a duplicated key).
func (r *Request) env(base []string) []string {
	out := make([]string, 0, len(base)+len(r.Env))
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); k == envNested {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, r.Env...)
	return append(out, r.TraceEnv...)
}
