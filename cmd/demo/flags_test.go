package main

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Bad flags exit 2 with a message naming the problem and a pointer to
// --help, before anything runs.
func TestBadFlagsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rpm", "many"}, `invalid value "many" for flag -rpm`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"--scenario", "chaos"}, `--scenario must be one of all, burst, outage, pause, budget, warm, reuse, got "chaos"`},
		{[]string{"--queries", "-1"}, "--queries must be at least 1, got -1"},
		{[]string{"--concurrency", "0"}, "--concurrency must be at least 1, got 0"},
		{[]string{"--rph", "0"}, "--rph must be at least 1, got 0"},
		{[]string{"--failure-threshold", "0"}, "--failure-threshold must be at least 1"},
		{[]string{"--budget", "0"}, "--budget must be a positive USD amount"},
		{[]string{"--budget", "NaN"}, "--budget must be a positive USD amount"},
		{[]string{"--open-timeout", "0s"}, "--open-timeout must be positive"},
		{[]string{"--scale", "0"}, "--scale must be in (0, 100]"},
		{[]string{"burst"}, `unexpected argument "burst"`},
		{[]string{"--real", "--scenario", "outage"}, "--scenario does not apply to --real"},
		{[]string{"--real", "--prompt", " "}, "--prompt must not be empty"},
		{[]string{"--metrics", "9464"}, `--metrics must be an address to listen on, as host:port or :port, got "9464"`},
		{[]string{"--metrics", ":http"}, `--metrics must be an address to listen on`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			code, out, stderr := runDemo(t, t.Context(), tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out, "it ran anyway")
			assert.Contains(t, stderr, tc.want)
			assert.Contains(t, stderr, "--help")
		})
	}
}

// --help explains every flag but the hidden one, on stdout, and exits 0.
func TestHelp(t *testing.T) {
	code, out, stderr := runDemo(t, t.Context(), "--help")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stderr)
	for _, flag := range []string{"--queries", "--concurrency", "--rpm", "--rph", "--budget", "--failure-threshold",
		"--open-timeout", "--scenario", "--json", "--real", "--prompt", "--metrics"} {
		assert.Regexp(t, "\n  "+flag+"[ \n]", out)
	}
	for _, scenario := range scenarioNames {
		assert.Contains(t, out, "\n  "+scenario+" ")
	}
	assert.Contains(t, out, "ANTHROPIC_API_KEY")
	assert.NotContains(t, out, "--scale", "the hidden flag shows in --help")
	for _, line := range lines(out) {
		assert.LessOrEqual(t, len(line), 80, "a --help line is wider than a terminal: %q", line)
	}
}

// An address --metrics cannot listen on is an error before anything runs.
func TestMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	code, out, stderr := runDemo(t, t.Context(), "--metrics", ln.Addr().String())
	assert.Equal(t, exitError, code)
	assert.Empty(t, out, "it ran anyway")
	assert.Contains(t, stderr, "demo: --metrics: listen tcp "+ln.Addr().String())
}

// The defaults: a burst of rpm+4 (3 with --real), nothing scaled.
func TestFlagDefaults(t *testing.T) {
	o, err := parseFlags(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 64, o.queries)
	assert.Equal(t, "all", o.scenario)
	assert.Equal(t, 1.0, o.scale)

	o, err = parseFlags([]string{"--rpm", "30"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 34, o.queries)

	o, err = parseFlags([]string{"--real"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, o.queries)
}

// noCLI makes sure the usual search finds no claude: an empty PATH and
// HOME, no $CLAUDE_CLI_PATH.
func noCLI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLAUDE_CLI_PATH", "")
	if _, err := os.Stat("/usr/local/bin/claude"); err == nil {
		t.Skip("a claude CLI is installed in /usr/local/bin, which the search always looks at")
	}
}

// --real without a CLI says what is missing and exits 2.
func TestRealWithoutCLI(t *testing.T) {
	noCLI(t)
	t.Setenv("ANTHROPIC_API_KEY", "sk-test")
	code, out, stderr := runDemo(t, t.Context(), "--real")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "--real needs the claude CLI, and none was found")
	assert.Contains(t, stderr, "npm install", "the CLI-not-found error says how to install it")
	assert.Contains(t, stderr, "Without --real the demo simulates the CLI")
}

// --real with a CLI but no API key and no login says so and exits 2.
func TestRealWithoutCredentials(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("a macOS login lives in the keychain, which the demo does not look at")
	}
	noCLI(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	t.Setenv("CLAUDE_CLI_PATH", exe) // this binary plays the CLI: it answers --version, no query runs
	t.Setenv(fakecli.EnvVersion, agent.TestedCLIVersion)
	for _, name := range credentialEnv {
		t.Setenv(name, "")
	}
	t.Setenv("CLAUDE_CONFIG_DIR", "")

	code, out, stderr := runDemo(t, t.Context(), "--real")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "--real needs ANTHROPIC_API_KEY in the environment, or a login")

	// A login's credentials file is enough.
	home, _ := os.UserHomeDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".claude"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".claude", ".credentials.json"), []byte("{}"), 0o600))
	assert.True(t, haveCredentials())
}
