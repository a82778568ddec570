package cli

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the fake claude CLI: before flags are
	// parsed, since the CLI's own flags (-p...) would upset them.
	fakecli.RunIfRequested()
	runHostIfRequested()
	goleak.VerifyTestMain(m)
}
