package agent_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// An invalid prompt or option is refused before admission: the error
// matches ErrInvalidRequest and names the option, no process starts, no
// rate token is taken and the breaker hears nothing, however many there are.
func TestInvalidRequestIsRefusedBeforeAdmission(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	const uuid = "74785f66-97a5-40cb-b0e0-5553b4ad0799"
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cases := []struct {
		name   string
		prompt string
		opt    agent.Option
		want   string // in the error text
	}{
		{"empty prompt", "", nil, "prompt: must not be empty"},
		{"blank prompt", " \n\t", nil, "prompt: must not be empty"},
		{"NUL in prompt", "a\x00b", nil, "prompt: must not contain NUL"},
		{"negative max turns", "p", agent.WithMaxTurns(-1), "WithMaxTurns: must be >= 0, got -1"},
		{"empty env key", "p", agent.WithEnv("", "v"), "WithEnv: key must not be empty"},
		{"env key with =", "p", agent.WithEnv("XA=B", "c"), `WithEnv: key must not be empty or contain '=', got "XA=B"`},
		{"NUL in env key", "p", agent.WithEnv("X\x00", "c"), "WithEnv: key must not contain NUL"},
		{"NUL in env value", "p", agent.WithEnv("X", "c\x00"), "WithEnv: value of X must not contain NUL"},
		{"NUL in model", "p", agent.WithModel("so\x00nnet"), "WithModel: must not contain NUL"},
		{"NUL in system prompt", "p", agent.WithSystemPrompt("\x00"), "WithSystemPrompt: must not contain NUL"},
		{"NUL in resume", "p", agent.WithResume("\x00"), "WithResume: must not contain NUL"},
		{"empty tool", "p", agent.WithAllowedTools(""), "WithAllowedTools: a tool name must be non-empty"},
		{"comma in tool", "p", agent.WithDisallowedTools("Bash,Edit"), "WithDisallowedTools:"},
		{"missing working dir", "p", agent.WithWorkingDir(filepath.Join(file, "nope")), "WithWorkingDir:"},
		{"working dir is a file", "p", agent.WithWorkingDir(file), "WithWorkingDir: " + `"` + file + `" is not a directory`},
		{"NaN budget", "p", agent.WithMaxBudgetUSD(math.NaN()), "WithMaxBudgetUSD: must be a finite USD amount >= 0, got NaN"},
		{"negative budget", "p", agent.WithMaxBudgetUSD(-1), "WithMaxBudgetUSD: must be a finite USD amount >= 0, got -1"},
		{"infinite budget", "p", agent.WithMaxBudgetUSD(math.Inf(1)), "WithMaxBudgetUSD: must be a finite USD amount >= 0, got +Inf"},
		{"budget above the hourly one", "p", agent.WithMaxBudgetUSD(10.01), "WithMaxBudgetUSD: must be at most the whole hourly budget, Config.RateLimit.CostBudgetHourly (10 USD), got 10.01"},
		{"budget under a micro-dollar", "p", agent.WithMaxBudgetUSD(1e-9), "WithMaxBudgetUSD: must be 0 (no cap of its own) or at least 1e-06 USD, got 1e-09"},
		{"bad JSON schema", "p", agent.WithJSONSchema(`{"type":`), `WithJSONSchema: must be a JSON object, got "{\"type\":"`},
		{"JSON schema not an object", "p", agent.WithJSONSchema(`["x"]`), "WithJSONSchema: must be a JSON object"},
		{"JSON schema that does not marshal", "p", agent.WithJSONSchema(map[string]any{"f": func() {}}), "WithJSONSchema: json: unsupported type"},
		{"empty JSON schema", "p", agent.WithJSONSchema(json.RawMessage(nil)), "WithJSONSchema: must be a JSON object, got nothing"},
		{"bad agents JSON", "p", func(o *agent.Options) { o.Agents = json.RawMessage(`{`) }, "WithAgents: must be a JSON object"},
		{"session id not a UUID", "p", agent.WithSessionID("not-a-uuid"), `WithSessionID: must be a UUID (8-4-4-4-12 hex digits), got "not-a-uuid"`},
		{"session id with resume, no fork", "p", options(agent.WithResume("s"), agent.WithSessionID(uuid)), "WithSessionID: with WithResume or WithContinue needs WithForkSession"},
		{"fork without resume", "p", agent.WithForkSession(), "WithForkSession: needs WithResume or WithContinue"},
		{"continue and resume", "p", options(agent.WithContinue(), agent.WithResume("s")), "WithContinue: cannot be combined with WithResume"},
		{"unknown effort", "p", agent.WithEffort("extreme"), `WithEffort: must be one of low, medium, high, xhigh, max, got "extreme"`},
		{"missing add dir", "p", agent.WithAddDirs(filepath.Join(file, "nope")), "WithAddDirs:"},
		{"add dir is a file", "p", agent.WithAddDirs(file), `WithAddDirs: "` + file + `" is not a directory`},
		{"empty add dir", "p", agent.WithAddDirs(""), "WithAddDirs: a directory must be non-empty"},
		{"missing settings file", "p", agent.WithSettings(filepath.Join(file, "nope.json")), "WithSettings: stat "},
		{"bad settings JSON", "p", agent.WithSettings(`{"env":`), "WithSettings: not valid JSON"},
		{"settings dir", "p", agent.WithSettings(t.TempDir()), "WithSettings: " + `"`},
		{"missing mcp config file", "p", agent.WithMCPConfig(filepath.Join(file, "nope.json")), "WithMCPConfig: stat "},
		{"bad mcp config JSON", "p", agent.WithMCPConfig(`{"mcpServers":`), "WithMCPConfig: not valid JSON"},
		{"empty mcp config", "p", agent.WithMCPConfig(""), "WithMCPConfig: must be a JSON object or a file's path"},
		{"missing system prompt file", "p", agent.WithSystemPromptFile(filepath.Join(file, "nope")), "WithSystemPromptFile: stat "},
		{"system prompt and its file", "p", options(agent.WithSystemPrompt("x"), agent.WithSystemPromptFile(file)), "WithSystemPromptFile: cannot be combined with WithSystemPrompt"},
		{"missing append system prompt file", "p", agent.WithAppendSystemPromptFile(filepath.Join(file, "nope")), "WithAppendSystemPromptFile: stat "},
		{"unknown setting source", "p", agent.WithSettingSources("user", "global"), `WithSettingSources: each must be one of user, project, local, got "global"`},
		{"empty fallback model", "p", agent.WithFallbackModel(""), "WithFallbackModel: a model name must be non-empty"},
		{"comma in fallback model", "p", agent.WithFallbackModel("a,b"), "WithFallbackModel:"},
		{"empty tool in tool set", "p", agent.WithTools(""), "WithTools: a tool name must be non-empty"},
		{"extra arg not a flag", "p", agent.WithExtraArgs("value"), `WithExtraArgs: each must be --flag or --flag=value, got "value"`},
		{"extra arg short flag", "p", agent.WithExtraArgs("-d"), `WithExtraArgs: each must be --flag or --flag=value, got "-d"`},
		{"extra arg bare --", "p", agent.WithExtraArgs("--"), "WithExtraArgs: each must be --flag"},
		{"extra arg two flags in one", "p", agent.WithExtraArgs("--debug --bare"), "WithExtraArgs: each must be --flag"},
		{"extra arg NUL", "p", agent.WithExtraArgs("--betas=\x00"), "WithExtraArgs: must not contain NUL"},
		{"NUL in session id", "p", agent.WithSessionID("\x00"), "WithSessionID: must not contain NUL"},
		{"NUL in settings", "p", agent.WithSettings("\x00"), "WithSettings: must not contain NUL"},
		{"reserved extra arg -p", "p", agent.WithExtraArgs("-p"), "WithExtraArgs: each must be --flag"},
		{"reserved extra arg --print", "p", agent.WithExtraArgs("--print"), "WithExtraArgs: --print is set by the SDK"},
		{"reserved extra arg --output-format=json", "p", agent.WithExtraArgs("--output-format=json"), "WithExtraArgs: --output-format is set by the SDK"},
		{"reserved extra arg --input-format=text", "p", agent.WithExtraArgs("--input-format=text"), "WithExtraArgs: --input-format is set by the SDK"},
		{"reserved extra arg --verbose", "p", agent.WithExtraArgs("--verbose"), "WithExtraArgs: --verbose is set by the SDK"},
		{"reserved extra arg --max-budget-usd=5", "p", agent.WithExtraArgs("--max-budget-usd=5"), "WithExtraArgs: --max-budget-usd is set by the SDK"},
		{"reserved extra arg --permission-prompt-tool=stdio", "p", agent.WithExtraArgs("--permission-prompt-tool=stdio"), "WithExtraArgs: --permission-prompt-tool is set by the SDK"},
		{"reserved extra arg --model=x", "p", agent.WithExtraArgs("--model=x"), "WithExtraArgs: --model is set by the SDK"},
		{"reserved extra arg --fallback-model=x", "p", agent.WithExtraArgs("--fallback-model=x"), "WithExtraArgs: --fallback-model is set by the SDK"},
		{"reserved extra arg --system-prompt=x", "p", agent.WithExtraArgs("--system-prompt=x"), "WithExtraArgs: --system-prompt is set by the SDK"},
		{"reserved extra arg --system-prompt-file=x", "p", agent.WithExtraArgs("--system-prompt-file=x"), "WithExtraArgs: --system-prompt-file is set by the SDK"},
		{"reserved extra arg --append-system-prompt=x", "p", agent.WithExtraArgs("--append-system-prompt=x"), "WithExtraArgs: --append-system-prompt is set by the SDK"},
		{"reserved extra arg --append-system-prompt-file=x", "p", agent.WithExtraArgs("--append-system-prompt-file=x"), "WithExtraArgs: --append-system-prompt-file is set by the SDK"},
		{"reserved extra arg --max-turns=1", "p", agent.WithExtraArgs("--max-turns=1"), "WithExtraArgs: --max-turns is set by the SDK"},
		{"reserved extra arg --allowedTools=x", "p", agent.WithExtraArgs("--allowedTools=x"), "WithExtraArgs: --allowedTools is set by the SDK"},
		{"reserved extra arg --allowed-tools=x", "p", agent.WithExtraArgs("--allowed-tools=x"), "WithExtraArgs: --allowed-tools is set by the SDK"},
		{"reserved extra arg --disallowedTools=x", "p", agent.WithExtraArgs("--disallowedTools=x"), "WithExtraArgs: --disallowedTools is set by the SDK"},
		{"reserved extra arg --disallowed-tools=x", "p", agent.WithExtraArgs("--disallowed-tools=x"), "WithExtraArgs: --disallowed-tools is set by the SDK"},
		{"reserved extra arg --tools=x", "p", agent.WithExtraArgs("--tools=x"), "WithExtraArgs: --tools is set by the SDK"},
		{"reserved extra arg --permission-mode=plan", "p", agent.WithExtraArgs("--permission-mode=plan"), "WithExtraArgs: --permission-mode is set by the SDK"},
		{"reserved extra arg --effort=low", "p", agent.WithExtraArgs("--effort=low"), "WithExtraArgs: --effort is set by the SDK"},
		{"reserved extra arg --add-dir=x", "p", agent.WithExtraArgs("--add-dir=x"), "WithExtraArgs: --add-dir is set by the SDK"},
		{"reserved extra arg --resume=x", "p", agent.WithExtraArgs("--resume=x"), "WithExtraArgs: --resume is set by the SDK"},
		{"reserved extra arg --continue", "p", agent.WithExtraArgs("--continue"), "WithExtraArgs: --continue is set by the SDK"},
		{"reserved extra arg --fork-session", "p", agent.WithExtraArgs("--fork-session"), "WithExtraArgs: --fork-session is set by the SDK"},
		{"reserved extra arg --session-id=x", "p", agent.WithExtraArgs("--session-id=x"), "WithExtraArgs: --session-id is set by the SDK"},
		{"reserved extra arg --no-session-persistence", "p", agent.WithExtraArgs("--no-session-persistence"), "WithExtraArgs: --no-session-persistence is set by the SDK"},
		{"reserved extra arg --mcp-config=x", "p", agent.WithExtraArgs("--mcp-config=x"), "WithExtraArgs: --mcp-config is set by the SDK"},
		{"reserved extra arg --strict-mcp-config", "p", agent.WithExtraArgs("--strict-mcp-config"), "WithExtraArgs: --strict-mcp-config is set by the SDK"},
		{"reserved extra arg --settings=x", "p", agent.WithExtraArgs("--settings=x"), "WithExtraArgs: --settings is set by the SDK"},
		{"reserved extra arg --setting-sources=user", "p", agent.WithExtraArgs("--setting-sources=user"), "WithExtraArgs: --setting-sources is set by the SDK"},
		{"reserved extra arg --agents=x", "p", agent.WithExtraArgs("--agents=x"), "WithExtraArgs: --agents is set by the SDK"},
		{"reserved extra arg --json-schema=x", "p", agent.WithExtraArgs("--json-schema=x"), "WithExtraArgs: --json-schema is set by the SDK"},
		{"reserved extra arg --include-partial-messages", "p", agent.WithExtraArgs("--include-partial-messages"), "WithExtraArgs: --include-partial-messages is set by the SDK"},
		{"reserved extra arg --include-hook-events", "p", agent.WithExtraArgs("--include-hook-events"), "WithExtraArgs: --include-hook-events is set by the SDK"},
	}
	c, _ := newClient(t, func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = 2 })
	before := c.Stats()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			script, record := recorded(t, fakecli.Success("ok", 0))
			opts := []agent.Option{play(script)}
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			for range 3 { // more than FailureThreshold
				res, err := c.Run(t.Context(), tc.prompt, opts...)
				assert.Nil(t, res)
				require.ErrorIs(t, err, agent.ErrInvalidRequest)
				assert.Contains(t, err.Error(), "agent: invalid request: "+tc.want)
				var rejected *agent.RejectedError
				assert.NotErrorAs(t, err, &rejected, "not a guard's refusal")
			}
			assert.NoFileExists(t, record, "an invalid query started a process")
		})
	}
	after := c.Stats()
	assert.Equal(t, before.Limiter.Admitted, after.Limiter.Admitted, "an invalid query was admitted")
	assert.Equal(t, before.Limiter.MinuteTokens, after.Limiter.MinuteTokens, "an invalid query took a minute token")
	assert.Equal(t, before.Limiter.HourTokens, after.Limiter.HourTokens, "an invalid query took an hour token")
	assert.Equal(t, before.Breaker, after.Breaker, "an invalid query reached the breaker")
	assert.Equal(t, agent.StateClosed, after.Breaker.State)

	// The same options, valid, do run.
	_, err := c.Run(t.Context(), "p", play(fakecli.Success("ok", 0)), agent.WithMaxTurns(0), agent.WithEnv("XA", "B=c"), agent.WithWorkingDir(t.TempDir()))
	require.NoError(t, err)
}

// WithEnv("XA", "B=c") sets XA to "B=c": only the key may not hold '='.
func TestEnvValueMayHoldEquals(t *testing.T) {
	c, _ := newClient(t, nil)
	path := filepath.Join(t.TempDir(), "record.json")
	_, err := c.Run(t.Context(), "p", play(append(fakecli.Script{fakecli.Record(path, "XA")}, fakecli.Success("ok", 0)...)), agent.WithEnv("XA", "B=c"))
	require.NoError(t, err)
	assert.Equal(t, "B=c", readRecord(t, path).Env["XA"])
}

// options combines opts into one Option, as a user may.
func options(opts ...agent.Option) agent.Option {
	return func(o *agent.Options) {
		for _, opt := range opts {
			opt(o)
		}
	}
}
