package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// PermissionFunc decides whether the CLI may use a tool that needs
// permission (a can_use_tool request: see WithCanUseTool). ctx ends when
// the turn ends, is interrupted or the client closes, and at
// Options.CallbackTimeout. A returned error, a panic or a time-out is
// answered with a deny (the tool does not run; the model sees the
// message) and never reaches the host.
type PermissionFunc func(ctx context.Context, req PermissionRequest) (PermissionResult, error)

// PermissionRequest is one request of the CLI's for permission to use a
// tool.
type PermissionRequest struct {
	// ToolName is the tool's name as the model sees it ("Bash", "Write",
	// "mcp__server__tool").
	ToolName string
	// Input is the tool's input as the model wrote it.
	Input map[string]any
	// ToolUseID is the id of the tool_use block asking.
	ToolUseID string
	// BlockedPath is the path the CLI's own rules stopped at, if any.
	BlockedPath string
	// DecisionReason is why the CLI asks, when it says.
	DecisionReason string
	// Suggestions are the permission updates the CLI suggests (raw JSON,
	// e.g. a rule to always allow this command).
	Suggestions []json.RawMessage
	// Raw is the whole request object.
	Raw json.RawMessage
}

// PermissionBehavior is a PermissionResult's decision.
type PermissionBehavior string

// The decisions.
const (
	PermissionAllow PermissionBehavior = "allow"
	PermissionDeny  PermissionBehavior = "deny"
)

// PermissionResult is a PermissionFunc's answer; build it with Allow,
// AllowWithInput, Deny or DenyAndInterrupt. The zero value denies.
type PermissionResult struct {
	Behavior PermissionBehavior
	// UpdatedInput replaces the tool's input (allow only); nil: the input
	// as asked.
	UpdatedInput map[string]any
	// Message tells the model why the tool was denied (deny only).
	Message string
	// Interrupt also stops the turn (deny only).
	Interrupt bool
}

// Allow lets the tool run with its input.
func Allow() PermissionResult { return PermissionResult{Behavior: PermissionAllow} }

// AllowWithInput lets the tool run with input instead of the model's.
func AllowWithInput(input map[string]any) PermissionResult {
	return PermissionResult{Behavior: PermissionAllow, UpdatedInput: input}
}

// Deny refuses the tool; the model sees message as the tool's error.
func Deny(message string) PermissionResult {
	return PermissionResult{Behavior: PermissionDeny, Message: message}
}

// DenyAndInterrupt refuses the tool and stops the turn.
func DenyAndInterrupt(message string) PermissionResult {
	return PermissionResult{Behavior: PermissionDeny, Message: message, Interrupt: true}
}

// DefaultCallbackTimeout bounds a permission callback or a hook whose
// Options.CallbackTimeout (or HookMatcher.Timeout) is 0.
const DefaultCallbackTimeout = time.Minute

// WithCanUseTool has f decide each tool use that needs permission (the
// CLI runs with --permission-prompt-tool=stdio and asks the host). Tools
// allowed by WithAllowedTools or the permission mode are not asked about.
func WithCanUseTool(f PermissionFunc) Option {
	return func(o *Options) { o.CanUseTool = f }
}

// permissionWire is the can_use_tool request as the CLI sends it.
type permissionWire struct {
	ToolName       string            `json:"tool_name"`
	Input          map[string]any    `json:"input"`
	ToolUseID      string            `json:"tool_use_id"`
	BlockedPath    string            `json:"blocked_path"`
	DecisionReason json.RawMessage   `json:"decision_reason"`
	Suggestions    []json.RawMessage `json:"permission_suggestions"`
}

// permissionHandler answers can_use_tool requests with f, through g
// (recovered, tracked, at most timeout).
func permissionHandler(f PermissionFunc, g *callback.Guard, timeout time.Duration) func(context.Context, *protocol.ControlRequest) (any, error) {
	return func(ctx context.Context, r *protocol.ControlRequest) (any, error) {
		var w permissionWire
		if err := json.Unmarshal(r.Request, &w); err != nil {
			return denyAnswer("agent: malformed can_use_tool request: " + err.Error()), nil
		}
		req := PermissionRequest{
			ToolName: w.ToolName, Input: w.Input, ToolUseID: w.ToolUseID, BlockedPath: w.BlockedPath,
			DecisionReason: reasonText(w.DecisionReason), Suggestions: w.Suggestions, Raw: r.Request,
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		type answer struct {
			res PermissionResult
			err error
		}
		a, err := callback.Call(g, "WithCanUseTool", timeout, func() answer {
			res, err := f(ctx, req)
			return answer{res, err}
		})
		switch {
		case err != nil:
			return denyAnswer(fmt.Sprintf("permission callback failed: %v", err)), nil
		case a.err != nil:
			return denyAnswer(fmt.Sprintf("permission callback failed: %v", a.err)), nil
		case a.res.Behavior == PermissionAllow:
			input := a.res.UpdatedInput
			if input == nil {
				input = w.Input
			}
			if input == nil {
				input = map[string]any{}
			}
			return map[string]any{"behavior": "allow", "updatedInput": input}, nil
		}
		msg := a.res.Message
		if msg == "" {
			msg = "denied by the host"
		}
		out := denyAnswer(msg)
		if a.res.Interrupt {
			out["interrupt"] = true
		}
		return out, nil
	}
}

func denyAnswer(message string) map[string]any {
	return map[string]any{"behavior": "deny", "message": message}
}

// reasonText is a decision_reason as text (the CLI may send a string or
// an object).
func reasonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}
