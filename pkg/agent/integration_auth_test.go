package agent_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// authThreshold is the FailureThreshold of the authentication tests: one
// more query than it must leave the breaker closed.
const authThreshold = 2

// defaultRetryOpts is apiOpts without CLAUDE_CODE_MAX_RETRIES: the CLI
// retries as it does by default (10 times, over a minute for a 401).
func defaultRetryOpts(t *testing.T, srv *fakeapi.Server, more ...agent.Option) []agent.Option {
	t.Helper()
	var opts []agent.Option
	for _, kv := range srv.Env(t, 0) {
		key, value, _ := strings.Cut(kv, "=")
		if key != "CLAUDE_CODE_MAX_RETRIES" {
			opts = append(opts, agent.WithEnv(key, value))
		}
	}
	opts = append(opts, agent.WithWorkingDir(t.TempDir()))
	return append(opts, more...)
}

// The caller's configuration is not the backend's health: with no API key,
// a key the API rejects (401, which the CLI would retry ten times over a
// minute) or refuses (403), or a model it does not know (404), each query
// ends at the first sign of it with an error that says what to fix, the CLI
// is stopped before any retry (the fake API sees one request per query at
// most), and FailureThreshold+1 of them leave the breaker closed.
func TestIntegrationCallerFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		answer   fakeapi.Answer // the API's answer to every request
		opts     []agent.Option
		want     error
		text     string
		requests int // POST /v1/messages per query
	}{
		{"no API key", fakeapi.Text("unreachable"), []agent.Option{agent.WithEnv("ANTHROPIC_API_KEY", "")},
			agent.ErrAuthentication, "set ANTHROPIC_API_KEY", 0},
		{"401 rejected key", fakeapi.Error(401, "authentication_error", "invalid x-api-key"), nil,
			agent.ErrAuthentication, "the API rejected the API key (401)", 1},
		{"403 refused", fakeapi.Error(403, "permission_error", "no access"), nil,
			agent.ErrAuthentication, "(403)", 1},
		{"404 unknown model", fakeapi.Error(404, "not_found_error", "model: nope"), []agent.Option{agent.WithModel("nope")},
			agent.ErrInvalidRequest, `WithModel: the API does not know model "nope"`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := realClient(t, func(cfg *agent.Config) { cfg.CircuitBreaker.FailureThreshold = authThreshold })
			srv := fakeapi.New(t)
			srv.SetDefault(tc.answer)
			for i := range authThreshold + 1 {
				before := len(srv.Messages())
				_, err := c.Run(queryCtx(t), "say hi", defaultRetryOpts(t, srv, tc.opts...)...)
				require.ErrorIs(t, err, tc.want, "query %d", i)
				assert.Contains(t, err.Error(), tc.text)
				if tc.requests >= 0 {
					assert.Equal(t, tc.requests, len(srv.Messages())-before, "requests to the API of query %d", i)
				}
			}
			s := c.Stats()
			assert.Equal(t, agent.StateClosed, s.Breaker.State)
			assert.Zero(t, s.Breaker.Counts.Failures)
			settled(t, c) // the stopped CLIs are reaped in the background
			assert.Zero(t, c.Stats().Limiter.SpentUSD, "the API billed nothing")
		})
	}
}
