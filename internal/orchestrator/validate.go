package orchestrator

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// invalid is an error matching ErrInvalidRequest that names option:
// "agent: invalid request: WithMaxTurns: must be >= 0, got -1".
func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidRequest, option, fmt.Sprintf(format, args...))
}

// Invalid is invalid for the options in pkg/agent that find a problem a
// request cannot carry (see cli.Request.OptionError).
func Invalid(option, format string, args ...any) error { return invalid(option, format, args...) }

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
	if req.OptionError != nil {
		return req.OptionError
	}
	for _, s := range []struct{ option, v string }{
		{"WithModel", req.Model},
		{"WithSystemPrompt", req.SystemPrompt},
		{"WithAppendSystemPrompt", req.AppendSystemPrompt},
		{"WithPermissionMode", req.PermissionMode},
		{"WithWorkingDir", req.WorkingDir},
		{"WithResume", req.Resume},
		{"WithSystemPromptFile", req.SystemPromptFile},
		{"WithAppendSystemPromptFile", req.AppendSystemPromptFile},
		{"WithSettings", req.Settings},
		{"WithAgents", req.Agents},
		{"WithJSONSchema", req.JSONSchema},
		{"WithEffort", req.Effort},
		{"WithSessionID", req.SessionID},
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
		{"WithTools", req.Tools},
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
	return validateNewOptions(req)
}

// effortLevels are the values --effort accepts (claude --help, 2.1.197;
// the CLI itself only warns about another and ignores it).
var effortLevels = []string{"low", "medium", "high", "xhigh", "max"}

// settingSources are the values --setting-sources accepts.
var settingSources = []string{"user", "project", "local"}

// validateNewOptions checks the options beyond the first dozen: files
// and directories exist, JSON parses, enumerations hold a known value,
// the session flags go together as the CLI requires, and extra arguments
// are --flag forms the SDK does not set itself.
func validateNewOptions(req *cli.Request) error {
	for _, c := range req.MCPConfigs {
		if err := fileOrJSON(c); err != nil {
			return invalid("WithMCPConfig", "%v", err)
		}
	}
	if req.Settings != "" {
		if err := fileOrJSON(req.Settings); err != nil {
			return invalid("WithSettings", "%v", err)
		}
	}
	for _, f := range []struct{ option, path string }{
		{"WithSystemPromptFile", req.SystemPromptFile},
		{"WithAppendSystemPromptFile", req.AppendSystemPromptFile},
	} {
		if f.path == "" {
			continue
		}
		if err := regularFile(f.path); err != nil {
			return invalid(f.option, "%v", err)
		}
	}
	if req.SystemPrompt != "" && req.SystemPromptFile != "" {
		return invalid("WithSystemPromptFile", "cannot be combined with WithSystemPrompt (the CLI takes one)")
	}
	for _, j := range []struct{ option, v string }{
		{"WithAgents", req.Agents},
		{"WithJSONSchema", req.JSONSchema},
	} {
		if j.v != "" && !jsonObject(j.v) {
			return invalid(j.option, "must be a JSON object, got %q", clip(j.v))
		}
	}
	if req.Effort != "" && !slices.Contains(effortLevels, req.Effort) {
		return invalid("WithEffort", "must be one of %s, got %q", strings.Join(effortLevels, ", "), req.Effort)
	}
	for _, src := range req.SettingSources {
		if !slices.Contains(settingSources, src) {
			return invalid("WithSettingSources", "each must be one of %s, got %q", strings.Join(settingSources, ", "), src)
		}
	}
	for _, m := range req.FallbackModels {
		if m == "" || strings.ContainsAny(m, "\x00,") {
			return invalid("WithFallbackModel", "a model name must be non-empty, without commas or NUL bytes, got %q", m)
		}
	}
	for _, dir := range req.AddDirs {
		if dir == "" || strings.IndexByte(dir, 0) >= 0 {
			return invalid("WithAddDirs", "a directory must be non-empty, without NUL bytes, got %q", dir)
		}
		switch fi, err := os.Stat(dir); {
		case err != nil:
			return invalid("WithAddDirs", "%v", err)
		case !fi.IsDir():
			return invalid("WithAddDirs", "%q is not a directory", dir)
		}
	}
	if req.SessionID != "" && !isUUID(req.SessionID) {
		return invalid("WithSessionID", "must be a UUID (8-4-4-4-12 hex digits), got %q", req.SessionID)
	}
	resumes := req.Resume != "" || req.Continue
	switch {
	case req.Continue && req.Resume != "":
		return invalid("WithContinue", "cannot be combined with WithResume (the CLI would resume that session)")
	case req.ForkSession && !resumes:
		return invalid("WithForkSession", "needs WithResume or WithContinue")
	case req.SessionID != "" && resumes && !req.ForkSession:
		return invalid("WithSessionID", "with WithResume or WithContinue needs WithForkSession (the new session's id)")
	}
	for _, arg := range req.ExtraArgs {
		if err := extraArg(arg); err != nil {
			return err
		}
	}
	return nil
}

// extraArg checks one of Request.ExtraArgs: "--flag" or "--flag=value",
// the flag's name made of letters, digits and '-', and not one the SDK
// sets itself.
func extraArg(arg string) error {
	if strings.IndexByte(arg, 0) >= 0 {
		return invalid("WithExtraArgs", "must not contain NUL bytes, got %q", arg)
	}
	flag, _, _ := strings.Cut(arg, "=")
	name, ok := strings.CutPrefix(flag, "--")
	if !ok || name == "" || name[0] == '-' || strings.TrimFunc(name, func(r rune) bool {
		return r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}) != "" {
		return invalid("WithExtraArgs", "each must be --flag or --flag=value, got %q", arg)
	}
	if cli.SetsFlag(flag) {
		return invalid("WithExtraArgs", "%s is set by the SDK (use its option, if it has one), got %q", flag, arg)
	}
	return nil
}

// fileOrJSON checks a value the CLI takes as JSON or as a file's path,
// as it tells them: JSON when it starts with '{'.
func fileOrJSON(v string) error {
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		if !jsonObject(v) {
			return fmt.Errorf("not valid JSON: %q", clip(v))
		}
		return nil
	}
	if v == "" || strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("must be a JSON object or a file's path, got %q", v)
	}
	return regularFile(v)
}

// regularFile checks that path names an existing file.
func regularFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%q is a directory, not a file", path)
	}
	return nil
}

// jsonObject reports whether v is valid JSON holding an object.
func jsonObject(v string) bool {
	return json.Valid([]byte(v)) && strings.HasPrefix(strings.TrimSpace(v), "{")
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'):
			return false
		}
	}
	return true
}

// clip shortens v for an error message.
func clip(v string) string {
	if len(v) > 80 {
		return v[:77] + "..."
	}
	return v
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
