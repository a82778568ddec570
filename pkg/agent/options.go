package agent

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// Options are the per-query settings, each becoming a CLI flag (named on
// its field). Query starts from the zero Options (with an empty, non-nil
// Env), applies the Options it was given in order, then checks them all
// before the query is admitted: an invalid value fails the query with an
// error matching ErrInvalidRequest that names the option, and costs
// nothing. Values are passed as --flag=value arguments, so a value can
// never be taken for a flag; the prompt itself always goes to the CLI on
// stdin.
//
// The zero value runs the CLI with its defaults. A nil slice means "not
// set" (no flag); where an empty one means something else, the field says
// so.
type Options struct {
	// Model selects the model (--model), e.g. "sonnet".
	Model string
	// FallbackModels are tried in order when Model is overloaded or not
	// available (--fallback-model, comma-separated).
	FallbackModels []string
	// SystemPrompt replaces the default system prompt (--system-prompt);
	// SystemPromptFile does so with a file's content
	// (--system-prompt-file). At most one of the two may be set.
	SystemPrompt, SystemPromptFile string
	// AppendSystemPrompt is appended to the system prompt
	// (--append-system-prompt); AppendSystemPromptFile appends a file's
	// content (--append-system-prompt-file).
	AppendSystemPrompt, AppendSystemPromptFile string
	// MaxTurns caps the agentic turns (--max-turns); 0: the CLI's default.
	MaxTurns int
	// MaxBudgetUSD caps what the query may spend (--max-budget-usd, the
	// smaller of this and the hourly budget left at admission); 0: no cap
	// of the caller's own.
	MaxBudgetUSD float64
	// Tools is the set of built-in tools the CLI offers the model
	// (--tools): nil, all of them; empty, none.
	Tools []string
	// AllowedTools may be used without asking (--allowedTools);
	// DisallowedTools may not be used at all (--disallowedTools).
	AllowedTools, DisallowedTools []string
	// PermissionMode is the permission mode (--permission-mode), e.g.
	// "acceptEdits" or "bypassPermissions".
	PermissionMode string
	// Effort is the effort level (--effort): "low", "medium", "high",
	// "xhigh" or "max".
	Effort string
	// WorkingDir is the CLI's working directory, an existing directory;
	// empty: the caller's.
	WorkingDir string
	// AddDirs are more directories the CLI's tools may use (one --add-dir
	// each); each must exist.
	AddDirs []string
	// Resume continues the session of that id (--resume); Continue the
	// most recent one in the working directory (--continue). At most one
	// of the two may be set.
	Resume   string
	Continue bool
	// ForkSession makes a resumed session continue under a new session id
	// (--fork-session); it needs Resume or Continue.
	ForkSession bool
	// SessionID is the id, a UUID, of the session the query starts
	// (--session-id); with Resume or Continue, it needs ForkSession.
	SessionID string
	// NoSessionPersistence keeps the session off the disk: it cannot be
	// resumed (--no-session-persistence).
	NoSessionPersistence bool
	// MCPConfigs load MCP servers, each a JSON object or a JSON file's path
	// (one --mcp-config each); StrictMCPConfig uses only those, ignoring
	// the user's and the project's (--strict-mcp-config).
	MCPConfigs      []string
	StrictMCPConfig bool
	// Settings loads more settings, a JSON object or a JSON file's path
	// (--settings).
	Settings string
	// SettingSources lists the setting sources to load, among "user",
	// "project" and "local" (--setting-sources, comma-separated): nil, the
	// CLI's default; empty, none of them.
	SettingSources []string
	// Agents defines custom subagents, a JSON object of name -> definition
	// (--agents); WithAgents builds it from AgentDefinitions.
	Agents json.RawMessage
	// JSONSchema, a JSON object, asks for structured output matching it
	// (--json-schema): the result's StructuredOutput (see
	// DecodeStructuredOutput).
	JSONSchema json.RawMessage
	// Env is added to the CLI's environment, which is otherwise the
	// caller's own (minus CLAUDECODE). A key must be non-empty, without '='
	// or NUL; a value without NUL.
	Env map[string]string
	// PartialMessages streams partial message events (*StreamEvent) as they
	// arrive (--include-partial-messages).
	PartialMessages bool
	// IncludeHookEvents adds the hook lifecycle events to the stream
	// (--include-hook-events).
	IncludeHookEvents bool
	// ExtraArgs are passed to the CLI last, as they are: flags this
	// package has no field for, each "--flag" or "--flag=value" (one
	// argument), and none that the SDK sets itself (the flags named above,
	// -p, --output-format, --input-format, --verbose,
	// --permission-prompt-tool).
	ExtraArgs []string

	// CanUseTool decides each tool use that needs permission (see
	// WithCanUseTool); nil: the CLI's own rules (WithPermissionMode,
	// WithAllowedTools) decide.
	CanUseTool PermissionFunc
	// Hooks are called at the CLI's hook events (see WithHook); they are
	// sent to the CLI in an initialize control request.
	Hooks map[HookEvent][]HookMatcher
	// MCPServers are in-process MCP servers (see WithMCPServers).
	MCPServers []SDKMCPServer
	// CallbackTimeout bounds each call of CanUseTool and of a hook whose
	// matcher has no Timeout; 0: DefaultCallbackTimeout. A call that
	// takes longer is answered with its safe choice (see FailedHookOutput
	// and PermissionFunc) and left to finish, counted in
	// Stats.Callbacks.
	CallbackTimeout time.Duration

	// sessionIdle is WithSessionIdle's (sessions only).
	sessionIdle time.Duration

	// err is a problem an Option of this package found that no field can
	// show (a JSON schema that does not marshal).
	err error
}

// Option sets one or more fields of a query's Options. Any function of
// this type is an Option: write one to set several fields at once, or one
// this package has no With... function for.
type Option func(*Options)

// request is the query the Options describe, for the orchestrator, which
// checks it before anything else.
func (o *Options) request(prompt string) cli.Request {
	r := cli.Request{
		Prompt:                 prompt,
		Model:                  o.Model,
		FallbackModels:         o.FallbackModels,
		SystemPrompt:           o.SystemPrompt,
		SystemPromptFile:       o.SystemPromptFile,
		AppendSystemPrompt:     o.AppendSystemPrompt,
		AppendSystemPromptFile: o.AppendSystemPromptFile,
		MaxTurns:               o.MaxTurns,
		MaxBudgetUSD:           o.MaxBudgetUSD,
		Tools:                  o.Tools,
		AllowedTools:           o.AllowedTools,
		DisallowedTools:        o.DisallowedTools,
		PermissionMode:         o.PermissionMode,
		Effort:                 o.Effort,
		WorkingDir:             o.WorkingDir,
		AddDirs:                o.AddDirs,
		Resume:                 o.Resume,
		Continue:               o.Continue,
		ForkSession:            o.ForkSession,
		SessionID:              o.SessionID,
		NoSessionPersistence:   o.NoSessionPersistence,
		MCPConfigs:             o.MCPConfigs,
		StrictMCPConfig:        o.StrictMCPConfig,
		Settings:               o.Settings,
		SettingSources:         o.SettingSources,
		Agents:                 string(o.Agents),
		JSONSchema:             string(o.JSONSchema),
		PartialMessages:        o.PartialMessages,
		IncludeHookEvents:      o.IncludeHookEvents,
		ExtraArgs:              o.ExtraArgs,
		OptionError:            o.err,
	}
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		if k == "" || strings.Contains(k, "=") {
			if r.OptionError == nil {
				r.OptionError = orchestrator.Invalid("WithEnv", "key must not be empty or contain '=', got %q", k)
			}
			continue
		}
		r.Env = append(r.Env, k+"="+o.Env[k])
	}
	return r
}

// WithModel selects the model (--model), e.g. "sonnet".
func WithModel(model string) Option { return func(o *Options) { o.Model = model } }

// WithFallbackModel adds models to fall back to, in order, when the
// model is overloaded or not available (--fallback-model).
func WithFallbackModel(models ...string) Option {
	return func(o *Options) { o.FallbackModels = append(o.FallbackModels, models...) }
}

// WithSystemPrompt replaces the system prompt (--system-prompt).
func WithSystemPrompt(prompt string) Option {
	return func(o *Options) { o.SystemPrompt = prompt }
}

// WithSystemPromptFile replaces the system prompt with the content of the
// file at path, which must exist (--system-prompt-file); it cannot be
// combined with WithSystemPrompt.
func WithSystemPromptFile(path string) Option {
	return func(o *Options) { o.SystemPromptFile = path }
}

// WithAppendSystemPrompt appends to the default system prompt (--append-system-prompt).
func WithAppendSystemPrompt(prompt string) Option {
	return func(o *Options) { o.AppendSystemPrompt = prompt }
}

// WithAppendSystemPromptFile appends the content of the file at path,
// which must exist, to the system prompt (--append-system-prompt-file).
func WithAppendSystemPromptFile(path string) Option {
	return func(o *Options) { o.AppendSystemPromptFile = path }
}

// WithMaxTurns caps the agentic turns of the query (--max-turns); 0: the
// CLI's default. A negative n fails the query with ErrInvalidRequest.
func WithMaxTurns(n int) Option { return func(o *Options) { o.MaxTurns = n } }

// WithTools sets the built-in tools the CLI offers the model (--tools),
// e.g. WithTools("Bash", "Read"); WithTools() offers none.
func WithTools(tools ...string) Option {
	return func(o *Options) { o.Tools = appendSet(o.Tools, tools) }
}

// WithAllowedTools lets the CLI use these tools without asking (--allowedTools).
func WithAllowedTools(tools ...string) Option {
	return func(o *Options) { o.AllowedTools = append(o.AllowedTools, tools...) }
}

// WithDisallowedTools forbids these tools (--disallowedTools).
func WithDisallowedTools(tools ...string) Option {
	return func(o *Options) { o.DisallowedTools = append(o.DisallowedTools, tools...) }
}

// WithPermissionMode sets the permission mode (--permission-mode), e.g.
// "acceptEdits" or "bypassPermissions".
func WithPermissionMode(mode string) Option {
	return func(o *Options) { o.PermissionMode = mode }
}

// WithEffort sets the effort level (--effort): "low", "medium", "high",
// "xhigh" or "max"; another fails the query with ErrInvalidRequest.
func WithEffort(level string) Option { return func(o *Options) { o.Effort = level } }

// WithWorkingDir runs the CLI in dir, which must be an existing directory
// (checked before the query is admitted: otherwise ErrInvalidRequest).
func WithWorkingDir(dir string) Option { return func(o *Options) { o.WorkingDir = dir } }

// WithAddDirs lets the CLI's tools use these directories too (one
// --add-dir each); each must exist.
func WithAddDirs(dirs ...string) Option {
	return func(o *Options) { o.AddDirs = append(o.AddDirs, dirs...) }
}

// WithResume continues an earlier session (--resume).
func WithResume(sessionID string) Option {
	return func(o *Options) { o.Resume = sessionID }
}

// WithContinue continues the most recent session in the working directory
// (--continue); it cannot be combined with WithResume.
func WithContinue() Option { return func(o *Options) { o.Continue = true } }

// WithForkSession makes the session WithResume or WithContinue picks up
// go on under a new id (--fork-session), leaving the original as it was.
func WithForkSession() Option { return func(o *Options) { o.ForkSession = true } }

// WithSessionID starts the session under id, which must be a UUID
// (--session-id); with WithResume or WithContinue it needs
// WithForkSession (it is then the fork's id).
func WithSessionID(id string) Option { return func(o *Options) { o.SessionID = id } }

// WithNoSessionPersistence keeps the session off the disk: it cannot be
// resumed (--no-session-persistence).
func WithNoSessionPersistence() Option {
	return func(o *Options) { o.NoSessionPersistence = true }
}

// WithMaxBudgetUSD caps what this query may spend (--max-budget-usd). The
// client passes the smaller of this and the hourly budget left at admission.
// A negative, NaN or infinite usd fails the query with ErrInvalidRequest
// before it starts; 0 means no cap of the caller's own.
func WithMaxBudgetUSD(usd float64) Option {
	return func(o *Options) { o.MaxBudgetUSD = usd }
}

// WithMCPConfig loads MCP servers from each config, a JSON object
// ({"mcpServers":{...}}) or a JSON file's path (one --mcp-config each).
func WithMCPConfig(configs ...string) Option {
	return func(o *Options) { o.MCPConfigs = append(o.MCPConfigs, configs...) }
}

// WithStrictMCPConfig uses only the MCP servers of WithMCPConfig, ignoring
// every other MCP configuration (--strict-mcp-config).
func WithStrictMCPConfig() Option { return func(o *Options) { o.StrictMCPConfig = true } }

// WithSettings loads more settings from fileOrJSON, a JSON object or a
// JSON file's path, which must exist (--settings).
func WithSettings(fileOrJSON string) Option { return func(o *Options) { o.Settings = fileOrJSON } }

// WithSettingSources loads only these setting sources, among "user",
// "project" and "local" (--setting-sources); WithSettingSources() loads
// none.
func WithSettingSources(sources ...string) Option {
	return func(o *Options) { o.SettingSources = appendSet(o.SettingSources, sources) }
}

// appendSet appends more to list, giving a non-nil slice even when both
// are empty: for the fields where empty (set to nothing) differs from nil.
func appendSet(list, more []string) []string {
	return append(append(make([]string, 0, len(list)+len(more)), list...), more...)
}

// AgentDefinition is a custom subagent of WithAgents.
type AgentDefinition struct {
	Description string   `json:"description"`
	Prompt      string   `json:"prompt"`
	Tools       []string `json:"tools,omitempty"` // nil: the tools of the session
	Model       string   `json:"model,omitempty"` // e.g. "sonnet"; empty: the session's
}

// WithAgents defines custom subagents by name (--agents).
func WithAgents(agents map[string]AgentDefinition) Option {
	return func(o *Options) {
		b, err := json.Marshal(agents)
		if err != nil { // not for these types; kept for a future field
			o.err = orchestrator.Invalid("WithAgents", "%v", err)
			return
		}
		o.Agents = b
	}
}

// WithJSONSchema asks for structured output matching schema, a JSON
// Schema object (--json-schema): json.RawMessage, []byte or string as JSON
// text, any other value marshalled to JSON (a map, a struct). The result
// then carries the answer in StructuredOutput; see DecodeStructuredOutput.
// A schema that is not a JSON object fails the query with
// ErrInvalidRequest.
func WithJSONSchema(schema any) Option {
	return func(o *Options) {
		switch s := schema.(type) {
		case json.RawMessage:
			o.JSONSchema = s
		case []byte:
			o.JSONSchema = s
		case string:
			o.JSONSchema = json.RawMessage(s)
		default:
			b, err := json.Marshal(schema)
			if err != nil {
				o.err = orchestrator.Invalid("WithJSONSchema", "%v", err)
				return
			}
			o.JSONSchema = b
		}
		if len(o.JSONSchema) == 0 {
			o.err = orchestrator.Invalid("WithJSONSchema", "must be a JSON object, got nothing")
		}
	}
}

// WithEnv adds an environment variable to the CLI's environment, which is
// otherwise the caller's own (minus CLAUDECODE). A key that is empty or
// holds '=' or NUL, or a value with NUL, makes the query fail with
// ErrInvalidRequest before it starts.
func WithEnv(key, value string) Option {
	return func(o *Options) {
		if o.Env == nil {
			o.Env = map[string]string{}
		}
		o.Env[key] = value
	}
}

// WithPartialMessages streams partial message events (*StreamEvent) as they
// arrive (--include-partial-messages).
func WithPartialMessages() Option {
	return func(o *Options) { o.PartialMessages = true }
}

// WithIncludeHookEvents adds the hook lifecycle events to the stream
// (--include-hook-events).
func WithIncludeHookEvents() Option {
	return func(o *Options) { o.IncludeHookEvents = true }
}

// WithExtraArgs passes flags this package has no option for to the CLI,
// after all others: each "--flag" or "--flag=value" (one argument, so a
// value can never be taken for a flag). A flag the SDK sets itself (-p,
// --output-format, --input-format, --verbose, --max-budget-usd,
// --permission-prompt-tool, or any flag of an option of this package)
// fails the query with ErrInvalidRequest.
func WithExtraArgs(args ...string) Option {
	return func(o *Options) { o.ExtraArgs = append(o.ExtraArgs, args...) }
}
