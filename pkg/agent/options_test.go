package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// argsWith runs one query on the fake CLI with opts and returns the
// arguments it got beyond those of a query without options.
func argsWith(t *testing.T, c *agent.Client, baseline []string, opts ...agent.Option) []string {
	t.Helper()
	script, record := recorded(t, fakecli.Success("ok", 0))
	_, err := c.Run(t.Context(), "p", append([]agent.Option{play(script)}, opts...)...)
	require.NoError(t, err)
	var extra []string
	for _, a := range argsOf(t, record) {
		if i := slices.Index(baseline, a); i >= 0 {
			baseline = slices.Delete(slices.Clone(baseline), i, i+1)
			continue
		}
		extra = append(extra, a)
	}
	return extra
}

// Every option reaches the CLI as the flag, in the exact form, that
// claude --help (2.1.197) documents, each value in --flag=value form.
func TestOptionsReachTheCLI(t *testing.T) {
	dir, dir2 := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "prompt.txt")
	require.NoError(t, os.WriteFile(file, []byte("be brief"), 0o600))
	const uuid = "74785f66-97a5-40cb-b0e0-5553b4ad0799"
	cases := []struct {
		name string
		opts []agent.Option
		want []string
	}{
		{"model", []agent.Option{agent.WithModel("-sonnet")}, []string{"--model=-sonnet"}},
		{"fallback model", []agent.Option{agent.WithFallbackModel("sonnet", "haiku")}, []string{"--fallback-model=sonnet,haiku"}},
		{"system prompt", []agent.Option{agent.WithSystemPrompt("--x")}, []string{"--system-prompt=--x"}},
		{"system prompt file", []agent.Option{agent.WithSystemPromptFile(file)}, []string{"--system-prompt-file=" + file}},
		{"append system prompt", []agent.Option{agent.WithAppendSystemPrompt("Be brief.")}, []string{"--append-system-prompt=Be brief."}},
		{"append system prompt file", []agent.Option{agent.WithAppendSystemPromptFile(file)}, []string{"--append-system-prompt-file=" + file}},
		{"max turns", []agent.Option{agent.WithMaxTurns(3)}, []string{"--max-turns=3"}},
		{"tools", []agent.Option{agent.WithTools("Bash", "Read")}, []string{"--tools=Bash,Read"}},
		{"no tools", []agent.Option{agent.WithTools()}, []string{"--tools="}},
		{"allowed tools", []agent.Option{agent.WithAllowedTools("Bash(git *)", "Read")}, []string{"--allowedTools=Bash(git *),Read"}},
		{"disallowed tools", []agent.Option{agent.WithDisallowedTools("Write")}, []string{"--disallowedTools=Write"}},
		{"permission mode", []agent.Option{agent.WithPermissionMode("acceptEdits")}, []string{"--permission-mode=acceptEdits"}},
		{"effort", []agent.Option{agent.WithEffort("xhigh")}, []string{"--effort=xhigh"}},
		{"add dirs", []agent.Option{agent.WithAddDirs(dir), agent.WithAddDirs(dir2)}, []string{"--add-dir=" + dir, "--add-dir=" + dir2}},
		{"resume", []agent.Option{agent.WithResume("-r")}, []string{"--resume=-r"}},
		{"resume forked", []agent.Option{agent.WithResume(uuid), agent.WithForkSession(), agent.WithSessionID(uuid)}, []string{"--resume=" + uuid, "--session-id=" + uuid, "--fork-session"}},
		{"continue", []agent.Option{agent.WithContinue()}, []string{"--continue"}},
		{"continue forked", []agent.Option{agent.WithContinue(), agent.WithForkSession()}, []string{"--continue", "--fork-session"}},
		{"session id", []agent.Option{agent.WithSessionID(uuid)}, []string{"--session-id=" + uuid}},
		{"no session persistence", []agent.Option{agent.WithNoSessionPersistence()}, []string{"--no-session-persistence"}},
		{"mcp config", []agent.Option{agent.WithMCPConfig(`{"mcpServers":{}}`, file), agent.WithStrictMCPConfig()}, []string{`--mcp-config={"mcpServers":{}}`, "--mcp-config=" + file, "--strict-mcp-config"}},
		{"settings", []agent.Option{agent.WithSettings(`{"env":{"A":"b"}}`)}, []string{`--settings={"env":{"A":"b"}}`}},
		{"settings file", []agent.Option{agent.WithSettings(file)}, []string{"--settings=" + file}},
		{"setting sources", []agent.Option{agent.WithSettingSources("user", "project")}, []string{"--setting-sources=user,project"}},
		{"no setting sources", []agent.Option{agent.WithSettingSources()}, []string{"--setting-sources="}},
		{"agents", []agent.Option{agent.WithAgents(map[string]agent.AgentDefinition{"rev": {Description: "Reviews", Prompt: "Review it", Tools: []string{"Read"}}})},
			[]string{`--agents={"rev":{"description":"Reviews","prompt":"Review it","tools":["Read"]}}`}},
		{"json schema value", []agent.Option{agent.WithJSONSchema(map[string]string{"type": "object"})}, []string{`--json-schema={"type":"object"}`}},
		{"json schema raw", []agent.Option{agent.WithJSONSchema(json.RawMessage(`{"type": "object"}`))}, []string{`--json-schema={"type": "object"}`}},
		{"json schema string", []agent.Option{agent.WithJSONSchema(`{"type":"object"}`)}, []string{`--json-schema={"type":"object"}`}},
		{"hook events", []agent.Option{agent.WithIncludeHookEvents()}, []string{"--include-hook-events"}},
		{"extra args", []agent.Option{agent.WithExtraArgs("--bare", "--betas=x,y")}, []string{"--bare", "--betas=x,y"}},
	}
	c, _ := newClient(t, nil)
	baseline := argsWith(t, c, nil)
	require.Contains(t, baseline, "-p")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, argsWith(t, c, baseline, tc.opts...))
		})
	}
}

// An Option is any func(*agent.Options): one a user writes reaches the
// CLI like the package's own, and sees the fields earlier options set.
func TestUserWrittenOption(t *testing.T) {
	fast := func(o *agent.Options) {
		o.Model = "haiku"
		o.Effort = "low"
		o.Tools = []string{}
		o.Env["XA"] = "from the user"
		o.AllowedTools = append(o.AllowedTools, "Read")
	}
	c, _ := newClient(t, nil)
	path := filepath.Join(t.TempDir(), "record.json")
	script := append(fakecli.Script{fakecli.Record(path, "XA")}, fakecli.Success("ok", 0)...)
	_, err := c.Run(t.Context(), "p", play(script), agent.WithAllowedTools("Bash"), fast)
	require.NoError(t, err)
	rec := readRecord(t, path)
	for _, want := range []string{"--model=haiku", "--effort=low", "--tools=", "--allowedTools=Bash,Read"} {
		assert.Contains(t, rec.Args, want)
	}
	assert.Equal(t, "from the user", rec.Env["XA"])
}
