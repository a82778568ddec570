package agent_test

import (
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
