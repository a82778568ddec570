package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// HookEvent names a point of the CLI's run where hooks are called.
type HookEvent string

// The hook events the CLI sends to the host.
const (
	PreToolUse         HookEvent = "PreToolUse"         // before a tool runs: may block it or change its input
	PostToolUse        HookEvent = "PostToolUse"        // after a tool ran: may add context for the model
	PostToolUseFailure HookEvent = "PostToolUseFailure" // after a tool failed
	UserPromptSubmit   HookEvent = "UserPromptSubmit"   // a user turn arrives: may add context, or block it
	Stop               HookEvent = "Stop"               // the main agent is about to stop
	SubagentStop       HookEvent = "SubagentStop"       // a sub-agent is about to stop
	PreCompact         HookEvent = "PreCompact"         // before the conversation is compacted
	Notification       HookEvent = "Notification"       // the CLI notifies the user
)

// HookFunc is called at a hook event. ctx ends when the turn ends, is
// interrupted or the client closes, and at the matcher's timeout. A
// returned error, a panic or a time-out is answered with the event's safe
// choice (FailedHookOutput) and never reaches the host.
type HookFunc func(ctx context.Context, in HookInput) (HookOutput, error)

// HookMatcher is a set of hooks for one event, called for the tools whose
// name Matcher matches (the CLI's syntax: "Bash", "Write|Edit", a regular
// expression; "" or "*" for every tool; ignored by events without a tool).
type HookMatcher struct {
	Matcher string
	Hooks   []HookFunc
	// Timeout bounds each hook; 0: Options.CallbackTimeout.
	Timeout time.Duration
}

// WithHook adds hooks for event on the tools matcher matches.
func WithHook(event HookEvent, matcher string, hooks ...HookFunc) Option {
	return func(o *Options) {
		if o.Hooks == nil {
			o.Hooks = make(map[HookEvent][]HookMatcher)
		}
		o.Hooks[event] = append(o.Hooks[event], HookMatcher{Matcher: matcher, Hooks: hooks})
	}
}

// HookInput is what the CLI tells a hook. Fields that do not apply to the
// event are empty.
type HookInput struct {
	Event          HookEvent `json:"hook_event_name"`
	SessionID      string    `json:"session_id"`
	TranscriptPath string    `json:"transcript_path"`
	Cwd            string    `json:"cwd"`
	PermissionMode string    `json:"permission_mode"`
	// ToolName, ToolInput and ToolUseID: PreToolUse, PostToolUse,
	// PostToolUseFailure.
	ToolName  string         `json:"tool_name"`
	ToolInput map[string]any `json:"tool_input"`
	ToolUseID string         `json:"tool_use_id"`
	// ToolResponse is the tool's output (PostToolUse), raw JSON.
	ToolResponse json.RawMessage `json:"tool_response"`
	// Error is the tool's error (PostToolUseFailure).
	Error string `json:"error"`
	// Prompt is the user's turn (UserPromptSubmit).
	Prompt string `json:"prompt"`
	// StopHookActive is true when the CLI stops again after a Stop hook
	// made it go on (Stop, SubagentStop): a hook that blocks again may
	// loop.
	StopHookActive bool `json:"stop_hook_active"`
	// Raw is the whole input object.
	Raw json.RawMessage `json:"-"`
}

// HookOutput is a hook's answer. The zero value lets the CLI go on as if
// there were no hook.
type HookOutput struct {
	// Stop, when true, stops the run after this hook, with StopReason.
	Stop       bool
	StopReason string
	// Block blocks what the event is about with Reason, which the model
	// sees: a PreToolUse hook refuses the tool, a UserPromptSubmit hook
	// the prompt, a Stop hook makes the agent go on.
	Block  bool
	Reason string
	// SystemMessage is shown to the user.
	SystemMessage string
	// SuppressOutput hides the hook's output from the transcript.
	SuppressOutput bool
	// PermissionDecision (PreToolUse): "allow", "deny" or "ask"; with
	// PermissionDecisionReason. Block sets "deny" with Reason.
	PermissionDecision       string
	PermissionDecisionReason string
	// UpdatedInput replaces the tool's input (PreToolUse).
	UpdatedInput map[string]any
	// AdditionalContext is added for the model (PostToolUse,
	// UserPromptSubmit).
	AdditionalContext string
}

// BlockTool is a PreToolUse answer that refuses the tool; the model sees
// reason.
func BlockTool(reason string) HookOutput { return HookOutput{Block: true, Reason: reason} }

// FailedHookOutput is the answer to a hook that failed (an error, a
// panic, a time-out): a PreToolUse refuses the tool (a hook meant to guard
// it could not); every other event goes on as without the hook (a Stop
// is let through, so a failing hook can never loop the agent).
func FailedHookOutput(event HookEvent, cause error) HookOutput {
	if event == PreToolUse {
		return BlockTool(fmt.Sprintf("the host's PreToolUse hook failed: %v", cause))
	}
	return HookOutput{}
}

// wire is the answer as the CLI reads it.
func (h HookOutput) wire(event HookEvent) map[string]any {
	out := map[string]any{}
	if h.Stop {
		out["continue"] = false
		if h.StopReason != "" {
			out["stopReason"] = h.StopReason
		}
	}
	if h.SuppressOutput {
		out["suppressOutput"] = true
	}
	if h.SystemMessage != "" {
		out["systemMessage"] = h.SystemMessage
	}
	specific := map[string]any{}
	decision, reason := h.PermissionDecision, h.PermissionDecisionReason
	if h.Block {
		if event == PreToolUse {
			decision, reason = "deny", h.Reason
		} else {
			out["decision"] = "block"
		}
		if h.Reason != "" {
			out["reason"] = h.Reason
		}
	}
	if event == PreToolUse {
		if decision != "" {
			specific["permissionDecision"] = decision
		}
		if reason != "" {
			specific["permissionDecisionReason"] = reason
		}
		if h.UpdatedInput != nil {
			specific["updatedInput"] = h.UpdatedInput
		}
	}
	if h.AdditionalContext != "" {
		specific["additionalContext"] = h.AdditionalContext
	}
	if len(specific) > 0 {
		specific["hookEventName"] = string(event)
		out["hookSpecificOutput"] = specific
	}
	return out
}

// hookSet is the hooks of one query or session, by callback id.
type hookSet struct {
	byID  map[string]registeredHook
	init  map[string]any // the initialize request's "hooks"
	guard *callback.Guard
}

type registeredHook struct {
	event   HookEvent
	f       HookFunc
	timeout time.Duration
}

// newHookSet registers hooks under ids hook_0, hook_1... and builds the
// initialize request's hooks field.
func newHookSet(hooks map[HookEvent][]HookMatcher, g *callback.Guard, timeout time.Duration) *hookSet {
	hs := &hookSet{byID: make(map[string]registeredHook), init: make(map[string]any), guard: g}
	n := 0
	for _, event := range sortedEvents(hooks) {
		var matchers []any
		for _, m := range hooks[event] {
			t := m.Timeout
			if t <= 0 {
				t = timeout
			}
			var ids []string
			for _, f := range m.Hooks {
				if f == nil {
					continue
				}
				id := "hook_" + strconv.Itoa(n)
				n++
				hs.byID[id] = registeredHook{event: event, f: f, timeout: t}
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				continue
			}
			entry := map[string]any{"matcher": m.Matcher, "hookCallbackIds": ids, "timeout": math.Ceil(t.Seconds())}
			if m.Matcher == "" {
				entry["matcher"] = nil
			}
			matchers = append(matchers, entry)
		}
		if len(matchers) > 0 {
			hs.init[string(event)] = matchers
		}
	}
	return hs
}

// hookWire is the hook_callback request as the CLI sends it.
type hookWire struct {
	CallbackID string          `json:"callback_id"`
	Input      json.RawMessage `json:"input"`
}

// handle answers one hook_callback request.
func (hs *hookSet) handle(ctx context.Context, r *protocol.ControlRequest) (any, error) {
	var w hookWire
	if err := json.Unmarshal(r.Request, &w); err != nil {
		return nil, fmt.Errorf("agent: malformed hook_callback request: %w", err)
	}
	h, ok := hs.byID[w.CallbackID]
	if !ok {
		return nil, fmt.Errorf("agent: no hook registered as %q", w.CallbackID)
	}
	var in HookInput
	if err := json.Unmarshal(w.Input, &in); err != nil {
		return FailedHookOutput(h.event, err).wire(h.event), nil
	}
	in.Raw = w.Input
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	type answer struct {
		out HookOutput
		err error
	}
	a, err := callback.Call(hs.guard, "hook "+string(h.event), h.timeout, func() answer {
		out, err := h.f(ctx, in)
		return answer{out, err}
	})
	if err == nil {
		err = a.err
	}
	if err != nil {
		return FailedHookOutput(h.event, err).wire(h.event), nil
	}
	return a.out.wire(h.event), nil
}

// sortedEvents returns the events of hooks in order, so that callback ids
// are the same from run to run.
func sortedEvents(hooks map[HookEvent][]HookMatcher) []HookEvent {
	return slices.Sorted(maps.Keys(hooks))
}
