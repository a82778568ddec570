package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Config.Fleet is checked by New before anything else, each error naming
// its field; this test binary does not link pkg/agent/fleet, so a fleet
// that is on asks for it.
func TestFleetConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fleet agent.FleetConfig
		want  []string
	}{
		{"not linked", agent.FleetConfig{RedisURL: "redis://localhost:6379", Key: "k"},
			[]string{"Config.Fleet needs package github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/fleet"}},
		{"no key", agent.FleetConfig{RedisURL: "redis://localhost:6379"},
			[]string{"Config.Fleet.Key is required"}},
		{"key alone", agent.FleetConfig{Key: "k"},
			[]string{"Config.Fleet.Key is set but neither Config.Fleet.RedisURL nor Config.Fleet.Client is"}},
		{"both", agent.FleetConfig{RedisURL: "redis://localhost:6379", Client: struct{}{}, Key: "k"},
			[]string{"Config.Fleet.Client and Config.Fleet.RedisURL are both set"}},
		{"scheme", agent.FleetConfig{RedisURL: "http://localhost:6379", Key: "k"},
			[]string{`Config.Fleet.RedisURL must be a redis://, rediss:// or unix:// URL, got scheme "http"`}},
		{"numbers", agent.FleetConfig{RedisURL: "redis://h", Key: "k", Size: -1, Timeout: -time.Second, OnRedisDown: 7},
			[]string{"Config.Fleet.Size must not be negative", "Config.Fleet.Timeout must not be negative", "Config.Fleet.OnRedisDown must be FleetFailClosed or FleetFailOver, got FleetPolicy(7)"}},
		{"lease", agent.FleetConfig{RedisURL: "redis://h", Key: "k", Timeout: time.Second, LeaseTTL: 2 * time.Second},
			[]string{"Config.Fleet.LeaseTTL must be at least 3 × Config.Fleet.Timeout (3s), got 2s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := agent.DefaultConfig()
			cfg.CLIPath, cfg.Fleet = "/nonexistent/claude", tt.fleet
			_, err := agent.New(cfg)
			require.Error(t, err)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), "agent: "+want)
			}
			assert.NotErrorIs(t, err, agent.ErrCLINotFound, "validated before the CLI is looked for")
		})
	}
}
