package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// How a query's CLI started, from the pool's counts before the previous
// query, before this one and after it.
func TestStartedHow(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		before0, before, after agent.WarmStats
		want                   string
	}{
		{"no pool", agent.WarmStats{}, agent.WarmStats{}, agent.WarmStats{}, startCold},
		{"a miss", agent.WarmStats{}, agent.WarmStats{}, agent.WarmStats{Misses: 1}, startCold},
		{"a spare", agent.WarmStats{}, agent.WarmStats{Misses: 1}, agent.WarmStats{Misses: 1, Hits: 1}, startSpare},
		{"the previous query's CLI, parked again", agent.WarmStats{Misses: 1}, agent.WarmStats{Misses: 1, Reused: 1},
			agent.WarmStats{Misses: 1, Hits: 1, Reused: 1}, startReused},
		{"an older reuse is not the previous query's", agent.WarmStats{Reused: 1}, agent.WarmStats{Hits: 1, Reused: 1},
			agent.WarmStats{Hits: 2, Reused: 1}, startSpare},
		{"a miss after a reuse", agent.WarmStats{}, agent.WarmStats{Reused: 1}, agent.WarmStats{Misses: 1, Reused: 1}, startCold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, startedHow(tc.before0, tc.before, tc.after))
		})
	}
}

// The pid is read from the simulated CLI's answer, never from another's.
func TestServedPid(t *testing.T) {
	assert.Equal(t, 4242, servedPid("hello", &agent.ResultMessage{Result: fakecli.ServedText("hello", 4242, 1)}))
	assert.Zero(t, servedPid("hello", &agent.ResultMessage{Result: "Hello there, friend!"}))
	assert.Zero(t, servedPid("hello", &agent.ResultMessage{Result: fakecli.ServedText("bye", 4242, 1)}))
	assert.Zero(t, servedPid("hello", nil))
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	assert.Equal(t, 5*ms, median([]time.Duration{5 * ms}))
	assert.Equal(t, 6*ms, median([]time.Duration{8 * ms, 4 * ms}))
	l := []time.Duration{9 * ms, 1 * ms, 3 * ms}
	assert.Equal(t, 3*ms, median(l))
	assert.Equal(t, []time.Duration{9 * ms, 1 * ms, 3 * ms}, l, "the list is left as it was")
}
