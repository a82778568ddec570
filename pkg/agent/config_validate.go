package agent

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// maxWindowCount bounds RateLimit.QueriesPerMinute and QueriesPerHour, as
// the limiter's arithmetic in nanoseconds needs; far above any real quota.
const maxWindowCount = 1 << 40

// validate is the one check of the whole public Config, run by New before
// anything else (before the CLI is looked for). It reports every invalid
// field, each error naming its public path ("agent: Config.CircuitBreaker.Timeout
// must not be negative, got -1s"), so that the guards' own checks, which
// name their internal fields, never fail on a Config that passed it.
func (c Config) validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("agent: Config.%s "+format, append([]any{path}, args...)...))
	}
	for _, f := range []struct {
		path      string
		v         int
		max       int
		unlimited bool // Unlimited turns the limit off
	}{
		{"MaxConcurrent", c.MaxConcurrent, math.MaxInt, true},
		{"MaxQueued", c.MaxQueued, math.MaxInt, false},
		{"MaxLineBytes", c.MaxLineBytes, math.MaxInt, false},
		{"RateLimit.QueriesPerMinute", c.RateLimit.QueriesPerMinute, maxWindowCount, true},
		{"RateLimit.QueriesPerHour", c.RateLimit.QueriesPerHour, maxWindowCount, true},
		{"CircuitBreaker.FailureThreshold", c.CircuitBreaker.FailureThreshold, math.MaxInt, false},
		{"CircuitBreaker.HalfOpenRequests", c.CircuitBreaker.HalfOpenRequests, math.MaxInt, false},
		{"CircuitBreaker.SuccessThreshold", c.CircuitBreaker.SuccessThreshold, math.MaxInt, false},
		{"Warm.Spares", c.Warm.Spares, maxParked, false},
		{"Warm.MaxParked", c.Warm.MaxParked, maxParked, false},
		{"Warm.MaxUses", c.Warm.MaxUses, math.MaxInt, false},
	} {
		switch {
		case f.unlimited && f.v == Unlimited:
		case f.v < 0 && f.unlimited:
			bad(f.path, "must not be negative (0 means the default, Unlimited no limit), got %d", f.v)
		case f.v < 0:
			bad(f.path, "must not be negative (0 means the default), got %d", f.v)
		case f.v > f.max:
			bad(f.path, "must be at most %d, got %d", f.max, f.v)
		}
	}
	for _, f := range []struct {
		path string
		v    time.Duration
	}{
		{"QueryTimeout", c.QueryTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"StopGracePeriod", c.StopGracePeriod},
		{"RateLimit.MaxWait", c.RateLimit.MaxWait},
		{"RateLimit.MaxPause", c.RateLimit.MaxPause},
		{"CircuitBreaker.Timeout", c.CircuitBreaker.Timeout},
		{"CircuitBreaker.MaxTimeout", c.CircuitBreaker.MaxTimeout},
		{"Warm.MaxAge", c.Warm.MaxAge},
	} {
		if f.v < 0 {
			bad(f.path, "must not be negative (0 means the default), got %v", f.v)
		}
	}
	if cb := c.CircuitBreaker; cb.Timeout >= 0 && cb.MaxTimeout > 0 {
		timeout := cmp.Or(cb.Timeout, breaker.DefaultTimeout)
		if cb.MaxTimeout < timeout {
			bad("CircuitBreaker.MaxTimeout", "must be >= CircuitBreaker.Timeout (%v), got %v", timeout, cb.MaxTimeout)
		}
	}
	errs = append(errs, c.validateBudget()...)
	c.Fleet.validate(bad)
	return errors.Join(errs...)
}

// maxParked bounds Warm.Spares and Warm.MaxParked: each parked process
// holds about 200 MB.
const maxParked = 64

// validateBudget checks the budget fields the way the limiter does, with
// the public names: a finite budget, caps within it, and a cap per query
// that some query can be admitted with.
func (c Config) validateBudget() (errs []error) {
	r := c.RateLimit
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("agent: Config.RateLimit.%s "+format, append([]any{path}, args...)...))
	}
	b := r.CostBudgetHourly
	if math.IsNaN(b) || math.IsInf(b, 0) || (b < 0 && b != Unlimited) {
		bad("CostBudgetHourly", "must be a finite USD amount >= 0 (0 means the default, Unlimited no budget), got %v", b)
		return errs
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"QueryBudget", r.QueryBudget}, {"MinQueryBudget", r.MinQueryBudget}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			bad(f.name, "must be a finite USD amount >= 0 (0 means the default), got %v", f.v)
		}
	}
	if len(errs) > 0 || r.Disabled {
		return errs
	}
	// The limiter's own check, with the same defaults (the query budget
	// shares the hourly one among MaxConcurrent), under the public name.
	var ce *limiter.ConfigError
	if err := c.limiterConfig().Validate(); errors.As(err, &ce) {
		bad(ce.Field, "%s", ce.Problem)
	}
	return errs
}
