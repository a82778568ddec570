package limiter

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field string
		cfg   Config
	}{
		{"QueriesPerMinute", Config{QueriesPerMinute: -2}},
		{"QueriesPerMinute", Config{QueriesPerMinute: maxWindowCount + 1}},
		{"QueriesPerHour", Config{QueriesPerHour: -5}},
		{"MaxConcurrent", Config{MaxConcurrent: -2}},
		{"MaxQueued", Config{MaxQueued: -3}},
		{"CostBudgetHourly", Config{CostBudgetHourly: -0.5}},
		{"CostBudgetHourly", Config{CostBudgetHourly: math.NaN()}},
		{"CostBudgetHourly", Config{CostBudgetHourly: math.Inf(1)}},
		{"QueryBudget", Config{QueryBudget: -1}},
		{"QueryBudget", Config{QueryBudget: math.NaN()}},
		{"QueryBudget", Config{QueryBudget: math.Inf(1)}},
		{"QueryBudget", Config{CostBudgetHourly: 1, QueryBudget: 1.5}},
		{"QueryBudget", Config{CostBudgetHourly: 1, QueryBudget: 1e-7}},
		{"MinQueryBudget", Config{MinQueryBudget: -0.01}},
		{"MinQueryBudget", Config{MinQueryBudget: math.NaN()}},
		{"MinQueryBudget", Config{MinQueryBudget: 1e-9}},
		{"CostBudgetHourly", Config{CostBudgetHourly: 1e-9}},
		{"CostBudgetHourly", Config{CostBudgetHourly: 3e-6, MaxConcurrent: 4}},
		{"MaxWait", Config{MaxWait: -time.Second}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%+v: %v", tt.cfg, err)
		assert.Equal(t, tt.field, ce.Field)
		assert.Contains(t, err.Error(), "limiter: "+tt.field+" ")

		_, err = New(tt.cfg)
		assert.ErrorAs(t, err, &ce, "New validates")
	}
}

func TestConfigValidAndDefaults(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{QueriesPerMinute: Unlimited, QueriesPerHour: Unlimited, CostBudgetHourly: Unlimited, MaxConcurrent: Unlimited, MaxQueued: Unlimited},
		{QueriesPerMinute: 1, CostBudgetHourly: 0.01, QueryBudget: 0.005, MaxWait: time.Second},
		{CostBudgetHourly: 4e-6, MaxConcurrent: 4},
		{CostBudgetHourly: Unlimited, QueryBudget: 50},
	} {
		assert.NoError(t, cfg.Validate(), "%+v", cfg)
	}

	d := Config{}.withDefaults()
	assert.Equal(t, 60, d.QueriesPerMinute)
	assert.Equal(t, 1000, d.QueriesPerHour)
	assert.Equal(t, 10.0, d.CostBudgetHourly)
	assert.Equal(t, 4, d.MaxConcurrent)
	assert.Equal(t, 1000, d.MaxQueued)
	assert.Equal(t, 2.5, d.QueryBudget, "the budget shared by MaxConcurrent")
	assert.Equal(t, 0.01, d.MinQueryBudget)
	assert.Equal(t, 0.25, Config{CostBudgetHourly: 1, MaxConcurrent: Unlimited}.withDefaults().QueryBudget, "a quarter without a concurrency cap")
	assert.Equal(t, 0.5, Config{CostBudgetHourly: 1, MaxConcurrent: 2}.withDefaults().QueryBudget)
	assert.NotNil(t, d.Clock)
	assert.NotNil(t, d.Logger)

	u := Config{MaxConcurrent: Unlimited, CostBudgetHourly: Unlimited}.withDefaults()
	assert.Equal(t, Unlimited, u.MaxConcurrent, "Unlimited is kept, not defaulted")
	assert.Equal(t, float64(Unlimited), u.CostBudgetHourly)
}

func TestReasonString(t *testing.T) {
	assert.Equal(t, "minute", ReasonMinute.String())
	assert.Equal(t, "hour", ReasonHour.String())
	assert.Equal(t, "budget", ReasonBudget.String())
	assert.Equal(t, "concurrency", ReasonConcurrency.String())
	assert.Equal(t, "paused", ReasonPaused.String())
	assert.Equal(t, "none", Reason(0).String())
}

func TestErrorsMatch(t *testing.T) {
	var err error = &WaitError{Reason: ReasonHour, RetryAfter: time.Minute}
	assert.ErrorIs(t, err, ErrWaitTooLong)
	assert.Equal(t, "limiter: hour limit: wait exceeds MaxWait, retry after 1m0s", err.Error())

	inner := errors.New("boom")
	err = &PanicError{Value: inner}
	assert.ErrorIs(t, err, inner, "the panic value is wrapped")
	assert.Equal(t, "limiter: internal panic: boom", err.Error())
}
