package breaker

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"zero is valid", Config{}, ""},
		{"all set", Config{FailureThreshold: 3, Timeout: time.Second, MaxTimeout: time.Minute, HalfOpenRequests: 1, SuccessThreshold: 1, SharedTimeout: time.Second}, ""},
		{"FailureThreshold", Config{FailureThreshold: -1}, "breaker: FailureThreshold must be >= 0"},
		{"Timeout", Config{Timeout: -time.Second}, "breaker: Timeout must be >= 0"},
		{"MaxTimeout negative", Config{MaxTimeout: -time.Second}, "breaker: MaxTimeout must be >= 0"},
		{"MaxTimeout below default Timeout", Config{MaxTimeout: 30 * time.Second}, "breaker: MaxTimeout must be >= Timeout (1m0s)"},
		{"MaxTimeout below Timeout", Config{Timeout: time.Minute, MaxTimeout: time.Second}, "breaker: MaxTimeout must be >= Timeout"},
		{"HalfOpenRequests", Config{HalfOpenRequests: -2}, "breaker: HalfOpenRequests must be >= 0"},
		{"SuccessThreshold", Config{SuccessThreshold: -1}, "breaker: SuccessThreshold must be >= 0"},
		{"SharedTimeout", Config{SharedTimeout: -1}, "breaker: SharedTimeout must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			_, err = New(tt.cfg)
			assert.ErrorContains(t, err, tt.want, "New validates")
		})
	}
}

func TestConfigValidateNamesTheFirstField(t *testing.T) {
	err := Config{FailureThreshold: -1, SuccessThreshold: -1}.Validate()
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "FailureThreshold", ce.Field)
	assert.NotContains(t, err.Error(), "SuccessThreshold", "the first invalid field only, as the limiter")
}

func TestConfigDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	assert.Equal(t, 5, d.FailureThreshold)
	assert.Equal(t, 60*time.Second, d.Timeout)
	assert.Equal(t, 600*time.Second, d.MaxTimeout)
	assert.Equal(t, 2, d.HalfOpenRequests)
	assert.Equal(t, 2, d.SuccessThreshold)
	assert.Equal(t, time.Second, d.SharedTimeout)
	assert.NotNil(t, d.Shared, "a MemoryState of its own")
	assert.NotNil(t, d.Clock)
	assert.NotNil(t, d.Logger)
	assert.NotNil(t, d.Rand)
	assert.Equal(t, 20*time.Second, Config{Timeout: 2 * time.Second}.withDefaults().MaxTimeout)
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "closed", StateClosed.String())
	assert.Equal(t, "open", StateOpen.String())
	assert.Equal(t, "half-open", StateHalfOpen.String())
	assert.Equal(t, "State(7)", State(7).String())
	assert.Equal(t, "success", Success.String())
	assert.Equal(t, "failure", Failure.String())
	assert.Equal(t, "ignored", Ignored.String())
	assert.Equal(t, "Outcome(9)", Outcome(9).String())
}

func TestOpenError(t *testing.T) {
	var err error = &OpenError{State: StateOpen, RetryAfter: 1500 * time.Millisecond}
	assert.ErrorIs(t, err, ErrCircuitOpen)
	assert.ErrorIs(t, fmt.Errorf("wrapped: %w", err), ErrCircuitOpen)
	assert.NotErrorIs(t, err, ErrClosed)
	assert.Equal(t, "breaker: circuit open, retry after 1.5s", err.Error())
	assert.Equal(t, "breaker: circuit open", (&OpenError{State: StateOpen}).Error())
	assert.Equal(t, "breaker: circuit half-open, all probe slots taken", (&OpenError{State: StateHalfOpen}).Error())
}
