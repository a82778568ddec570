package agent

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
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
		path string
		v    int
		max  int
	}{
		{"MaxConcurrent", c.MaxConcurrent, math.MaxInt},
		{"MaxQueued", c.MaxQueued, math.MaxInt},
		{"MaxLineBytes", c.MaxLineBytes, math.MaxInt},
		{"RateLimit.QueriesPerMinute", c.RateLimit.QueriesPerMinute, maxWindowCount},
		{"RateLimit.QueriesPerHour", c.RateLimit.QueriesPerHour, maxWindowCount},
		{"CircuitBreaker.FailureThreshold", c.CircuitBreaker.FailureThreshold, math.MaxInt},
		{"CircuitBreaker.HalfOpenRequests", c.CircuitBreaker.HalfOpenRequests, math.MaxInt},
		{"CircuitBreaker.SuccessThreshold", c.CircuitBreaker.SuccessThreshold, math.MaxInt},
	} {
		switch {
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
	if b := c.RateLimit.CostBudgetHourly; b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
		bad("RateLimit.CostBudgetHourly", "must be a finite USD amount >= 0, got %v", b)
	}
	return errors.Join(errs...)
}
