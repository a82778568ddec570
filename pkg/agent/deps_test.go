package agent_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkg/agent links none of the heavy optional dependencies: each is linked
// only by the subpackage that needs it (fleet, otel, otel/prom, mcptool).
func TestAgentLinksNoOptionalDependency(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no go command on PATH")
		}
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	deps := string(out)
	require.Contains(t, deps, "github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator\n", "the list is pkg/agent's")
	for pkg, by := range map[string]string{
		"github.com/redis/":                "pkg/agent/fleet",
		"go.opentelemetry.io/":             "pkg/agent/otel",
		"github.com/prometheus/":           "pkg/agent/otel/prom",
		"github.com/modelcontextprotocol/": "pkg/agent/mcptool",
	} {
		assert.NotContains(t, deps, pkg, "pkg/agent links %s, which only %s should", pkg, by)
	}
}
