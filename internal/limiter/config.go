package limiter

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/benbjohnson/clock"
)

// Unlimited, in any count or budget field of Config, turns that limit off.
const Unlimited = -1

// Defaults used for the zero value of each Config field.
const (
	DefaultQueriesPerMinute = 60
	DefaultQueriesPerHour   = 1000
	DefaultCostBudgetHourly = 10.00
	DefaultMaxConcurrent    = 4
	DefaultMaxQueued        = 1000
)

// maxWindowCount bounds QueriesPerMinute and QueriesPerHour so that window
// arithmetic in nanoseconds cannot overflow. It is far above any real quota.
const maxWindowCount = 1 << 40

// Config sets a Limiter's limits. The zero value is valid and means the
// defaults: 60 queries a minute, 1000 an hour, 10.00 USD an hour, 4
// queries at once, 1000 waiters, no MaxWait, the real clock, no logging.
//
// MaxWait, when positive, is checked once, when Acquire arrives: a query
// whose computed wait (behind the waiters already queued) exceeds it is
// refused at once with a *WaitError, and so is a query whose wait cannot
// be computed because it needs a concurrency slot, or budget now held by
// reservations, to be freed by a Settle. A queued waiter is not evicted
// if a later Pause makes it wait longer.
type Config struct {
	QueriesPerMinute int           // 0: 60; Unlimited: no per-minute window
	QueriesPerHour   int           // 0: 1000; Unlimited: no per-hour window
	CostBudgetHourly float64       // USD per rolling 60 min; 0: 10.00; Unlimited (-1): off
	CostEstimate     float64       // USD reserved per admission; 0: mean of recent settled costs (0 before any)
	MaxConcurrent    int           // 0: 4; Unlimited: no cap
	MaxQueued        int           // 0: 1000; Unlimited: no cap
	MaxWait          time.Duration // 0: wait as long as ctx allows; see below
	Clock            clock.Clock   // nil: clock.New()
	Logger           *slog.Logger  // nil: discard
}

// Validate reports the first invalid field as a *ConfigError naming it:
// a count below Unlimited or above 2^40, a budget that is negative (other
// than Unlimited), NaN or infinite, a negative, NaN or infinite
// CostEstimate, or a negative MaxWait.
func (c Config) Validate() error {
	counts := []struct {
		name string
		v    int
		max  int
	}{
		{"QueriesPerMinute", c.QueriesPerMinute, maxWindowCount},
		{"QueriesPerHour", c.QueriesPerHour, maxWindowCount},
		{"MaxConcurrent", c.MaxConcurrent, math.MaxInt},
		{"MaxQueued", c.MaxQueued, math.MaxInt},
	}
	for _, f := range counts {
		if f.v < Unlimited {
			return &ConfigError{Field: f.name, Problem: fmt.Sprintf("must be >= 0 or Unlimited (-1), got %d", f.v)}
		}
		if f.v > f.max {
			return &ConfigError{Field: f.name, Problem: fmt.Sprintf("must be at most %d, got %d", f.max, f.v)}
		}
	}
	b := c.CostBudgetHourly
	if math.IsNaN(b) || math.IsInf(b, 0) || (b < 0 && b != Unlimited) {
		return &ConfigError{Field: "CostBudgetHourly", Problem: fmt.Sprintf("must be a finite USD amount >= 0 or Unlimited (-1), got %v", b)}
	}
	e := c.CostEstimate
	if math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
		return &ConfigError{Field: "CostEstimate", Problem: fmt.Sprintf("must be a finite USD amount >= 0, got %v", e)}
	}
	if c.MaxWait < 0 {
		return &ConfigError{Field: "MaxWait", Problem: fmt.Sprintf("must be >= 0, got %v", c.MaxWait)}
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
// Unlimited stays Unlimited.
func (c Config) withDefaults() Config {
	c.QueriesPerMinute = cmp.Or(c.QueriesPerMinute, DefaultQueriesPerMinute)
	c.QueriesPerHour = cmp.Or(c.QueriesPerHour, DefaultQueriesPerHour)
	c.CostBudgetHourly = cmp.Or(c.CostBudgetHourly, DefaultCostBudgetHourly)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.MaxQueued = cmp.Or(c.MaxQueued, DefaultMaxQueued)
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
