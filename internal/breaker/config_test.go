package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
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
		{"all set", Config{FailureThreshold: 3, Timeout: time.Second, MaxTimeout: time.Minute, HalfOpenRequests: 1, SuccessThreshold: 1, FailureRate: 1, FailureRateWindow: time.Second, FailureRateMinCalls: 1}, ""},
		{"FailureThreshold", Config{FailureThreshold: -1}, "breaker: FailureThreshold must be >= 0"},
		{"Timeout", Config{Timeout: -time.Second}, "breaker: Timeout must be >= 0"},
		{"MaxTimeout negative", Config{MaxTimeout: -time.Second}, "breaker: MaxTimeout must be >= 0"},
		{"MaxTimeout below default Timeout", Config{MaxTimeout: 30 * time.Second}, "breaker: MaxTimeout must be >= Timeout (1m0s)"},
		{"MaxTimeout below Timeout", Config{Timeout: time.Minute, MaxTimeout: time.Second}, "breaker: MaxTimeout must be >= Timeout"},
		{"HalfOpenRequests", Config{HalfOpenRequests: -2}, "breaker: HalfOpenRequests must be >= 0"},
		{"SuccessThreshold", Config{SuccessThreshold: -1}, "breaker: SuccessThreshold must be >= 0"},
		{"FailureRate negative", Config{FailureRate: -0.1}, "breaker: FailureRate must be in [0, 1]"},
		{"FailureRate above one", Config{FailureRate: 1.5}, "breaker: FailureRate must be in [0, 1]"},
		{"FailureRate NaN", Config{FailureRate: math.NaN()}, "breaker: FailureRate must be in [0, 1]"},
		{"FailureRateWindow", Config{FailureRateWindow: -1}, "breaker: FailureRateWindow must be >= 0"},
		{"FailureRateMinCalls", Config{FailureRateMinCalls: -1}, "breaker: FailureRateMinCalls must be >= 0"},
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

func TestConfigValidateReportsEveryField(t *testing.T) {
	err := Config{FailureThreshold: -1, SuccessThreshold: -1}.Validate()
	assert.ErrorContains(t, err, "FailureThreshold")
	assert.ErrorContains(t, err, "SuccessThreshold")
}

func TestConfigDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	assert.Equal(t, 5, d.FailureThreshold)
	assert.Equal(t, 60*time.Second, d.Timeout)
	assert.Equal(t, 600*time.Second, d.MaxTimeout)
	assert.Equal(t, 2, d.HalfOpenRequests)
	assert.Equal(t, 2, d.SuccessThreshold)
	assert.Zero(t, d.FailureRate, "failure-rate rule off")
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

func TestOutcomeOf(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	boom := errors.New("boom")

	assert.Equal(t, Success, OutcomeOf(live, nil))
	assert.Equal(t, Success, OutcomeOf(cancelled, nil), "a call that finished is a success")
	assert.Equal(t, Failure, OutcomeOf(live, boom))
	assert.Equal(t, Ignored, OutcomeOf(cancelled, boom), "the caller cancelled: never a failure")
	assert.Equal(t, Ignored, OutcomeOf(live, fmt.Errorf("run: %w", context.Canceled)))
	assert.Equal(t, Failure, OutcomeOf(expired, context.DeadlineExceeded), "the backend was too slow")
}

func TestWindow(t *testing.T) {
	w := newWindow(10*time.Second, t0)
	w.record(t0, true)
	w.record(t0.Add(5*time.Second), false)
	calls, failures := w.sum(t0.Add(9 * time.Second))
	assert.Equal(t, [2]int{2, 1}, [2]int{calls, failures})
	calls, failures = w.sum(t0.Add(10 * time.Second)) // bucket 0 left
	assert.Equal(t, [2]int{1, 0}, [2]int{calls, failures})
	w.record(t0.Add(25*time.Second), true) // reuses the ring
	calls, failures = w.sum(t0.Add(25 * time.Second))
	assert.Equal(t, [2]int{1, 1}, [2]int{calls, failures})
	w.reset()
	calls, _ = w.sum(t0.Add(25 * time.Second))
	assert.Zero(t, calls)
}
