package orchestrator

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// invalid is an error matching ErrInvalidRequest that names option:
// "agent: invalid request: WithMaxTurns: must be >= 0, got -1".
func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidRequest, option, fmt.Sprintf(format, args...))
}

// validateRequest checks every per-query input before the query costs
// anything: it runs first in a query, before the breaker and the limiter.
// It returns the first problem as an error matching ErrInvalidRequest that
// names the option (the public With... name) and the value.
func validateRequest(req *cli.Request) error {
	if strings.TrimSpace(req.Prompt) == "" {
		return invalid("prompt", "must not be empty or only white space")
	}
	if strings.IndexByte(req.Prompt, 0) >= 0 {
		return invalid("prompt", "must not contain NUL bytes")
	}
	for _, s := range []struct{ option, v string }{
		{"WithModel", req.Model},
		{"WithSystemPrompt", req.SystemPrompt},
		{"WithAppendSystemPrompt", req.AppendSystemPrompt},
		{"WithPermissionMode", req.PermissionMode},
		{"WithWorkingDir", req.WorkingDir},
		{"WithResume", req.Resume},
	} {
		if strings.IndexByte(s.v, 0) >= 0 {
			return invalid(s.option, "must not contain NUL bytes, got %q", s.v)
		}
	}
	for _, tools := range []struct {
		option string
		v      []string
	}{
		{"WithAllowedTools", req.AllowedTools},
		{"WithDisallowedTools", req.DisallowedTools},
	} {
		for _, tool := range tools.v {
			if tool == "" || strings.ContainsAny(tool, "\x00,") {
				return invalid(tools.option, "a tool name must be non-empty, without commas or NUL bytes, got %q", tool)
			}
		}
	}
	if req.MaxTurns < 0 {
		return invalid("WithMaxTurns", "must be >= 0, got %d", req.MaxTurns)
	}
	if b := req.MaxBudgetUSD; b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
		return invalid("WithMaxBudgetUSD", "must be a finite USD amount >= 0, got %v", b)
	}
	if len(req.BadEnvKeys) > 0 {
		return invalid("WithEnv", "key must not be empty or contain '=', got %q", req.BadEnvKeys[0])
	}
	for _, kv := range req.Env {
		if err := validEnv(kv); err != nil {
			return err
		}
	}
	if req.WorkingDir != "" {
		fi, err := os.Stat(req.WorkingDir)
		switch {
		case err != nil:
			return invalid("WithWorkingDir", "%v", err)
		case !fi.IsDir():
			return invalid("WithWorkingDir", "%q is not a directory", req.WorkingDir)
		}
	}
	return nil
}

// validEnv checks one "KEY=VALUE" entry of Request.Env.
func validEnv(kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	switch {
	case !ok || key == "":
		return invalid("WithEnv", "key must not be empty or contain '=', got %q", key)
	case strings.IndexByte(key, 0) >= 0:
		return invalid("WithEnv", "key must not contain NUL bytes, got %q", key)
	case strings.IndexByte(value, 0) >= 0:
		return invalid("WithEnv", "value of %s must not contain NUL bytes", key)
	}
	return nil
}

// validate checks a request before it costs anything: validateRequest,
// then its cap against the hourly budget (a cap above the whole budget
// could never be granted).
func (o *Orchestrator) validate(req *cli.Request) error {
	if err := validateRequest(req); err != nil {
		return err
	}
	switch b, budget := req.MaxBudgetUSD, o.limiter.Budget(); {
	case b > 0 && b < limiter.MinCapUSD:
		return invalid("WithMaxBudgetUSD", "must be 0 (no cap of its own) or at least %v USD, got %v", limiter.MinCapUSD, b)
	case budget >= 0 && b > budget:
		return invalid("WithMaxBudgetUSD", "must be at most the whole hourly budget, Config.RateLimit.CostBudgetHourly (%v USD), got %v", budget, b)
	}
	return nil
}
