package agent

import (
	"strings"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// Option sets one CLI option of a query. Values are passed as --flag=value
// arguments, so a value can never be taken for a flag; the prompt itself
// always goes to the CLI on stdin.
type Option func(*cli.Request)

// WithModel selects the model (--model), e.g. "sonnet".
func WithModel(model string) Option { return func(r *cli.Request) { r.Model = model } }

// WithSystemPrompt replaces the system prompt (--system-prompt).
func WithSystemPrompt(prompt string) Option {
	return func(r *cli.Request) { r.SystemPrompt = prompt }
}

// WithAppendSystemPrompt appends to the default system prompt (--append-system-prompt).
func WithAppendSystemPrompt(prompt string) Option {
	return func(r *cli.Request) { r.AppendSystemPrompt = prompt }
}

// WithMaxTurns caps the agentic turns of the query (--max-turns); 0: the
// CLI's default. A negative n fails the query with ErrInvalidRequest.
func WithMaxTurns(n int) Option { return func(r *cli.Request) { r.MaxTurns = n } }

// WithAllowedTools lets the CLI use these tools without asking (--allowedTools).
func WithAllowedTools(tools ...string) Option {
	return func(r *cli.Request) { r.AllowedTools = append(r.AllowedTools, tools...) }
}

// WithDisallowedTools forbids these tools (--disallowedTools).
func WithDisallowedTools(tools ...string) Option {
	return func(r *cli.Request) { r.DisallowedTools = append(r.DisallowedTools, tools...) }
}

// WithPermissionMode sets the permission mode (--permission-mode), e.g.
// "acceptEdits" or "bypassPermissions".
func WithPermissionMode(mode string) Option {
	return func(r *cli.Request) { r.PermissionMode = mode }
}

// WithWorkingDir runs the CLI in dir, which must be an existing directory
// (checked before the query is admitted: otherwise ErrInvalidRequest).
func WithWorkingDir(dir string) Option { return func(r *cli.Request) { r.WorkingDir = dir } }

// WithResume continues an earlier session (--resume).
func WithResume(sessionID string) Option {
	return func(r *cli.Request) { r.Resume = sessionID }
}

// WithMaxBudgetUSD caps what this query may spend (--max-budget-usd). The
// client passes the smaller of this and the hourly budget left at admission.
// A negative, NaN or infinite usd fails the query with ErrInvalidRequest
// before it starts; 0 means no cap of the caller's own.
func WithMaxBudgetUSD(usd float64) Option {
	return func(r *cli.Request) { r.MaxBudgetUSD = usd }
}

// WithEnv adds an environment variable to the CLI's environment, which is
// otherwise the caller's own (minus CLAUDECODE). A key that is empty or
// holds '=' or NUL, or a value with NUL, makes the query fail with
// ErrInvalidRequest before it starts.
func WithEnv(key, value string) Option {
	return func(r *cli.Request) {
		if key == "" || strings.Contains(key, "=") {
			r.BadEnvKeys = append(r.BadEnvKeys, key)
			return
		}
		r.Env = append(r.Env, key+"="+value)
	}
}

// WithPartialMessages streams partial message events (*StreamEvent) as they
// arrive (--include-partial-messages).
func WithPartialMessages() Option {
	return func(r *cli.Request) { r.PartialMessages = true }
}
