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

// DefaultMinQueryBudget is the least cap, in USD, a query is admitted
// with by default (or its own cap, if smaller): with less unreserved, it
// waits.
const DefaultMinQueryBudget = 0.01

// MinCapUSD is the smallest cap a query can have: a micro-dollar. A budget
// that leaves a query less can never admit one.
const MinCapUSD = 1e-6

// Config sets a Limiter's limits. The zero value is valid and means the
// defaults: 60 queries a minute, 1000 an hour, 10.00 USD an hour with
// 2.50 USD per query (the budget over MaxConcurrent), 4 queries at once,
// 1000 waiters, no MaxWait, the real clock, no logging.
//
// MaxWait, when positive, bounds every wait: a query that surely cannot
// be admitted within MaxWait (the windows, a pause or the spend already
// charged hold it back longer, whatever the running queries do) is
// refused at once with a *WaitError; one whose wait depends on running
// queries (a concurrency slot, budget they reserve) waits up to MaxWait
// and is refused then, or as soon as it is sure it cannot make it.
type Config struct {
	QueriesPerMinute int     // 0: 60; Unlimited: no per-minute window
	QueriesPerHour   int     // 0: 1000; Unlimited: no per-hour window
	CostBudgetHourly float64 // USD per rolling 60 min; 0: 10.00; Unlimited (-1): off
	// QueryBudget is the cap, in USD, of a query that asks for none: it
	// reserves that much of the budget (or what is unreserved, if less)
	// while it runs. 0: CostBudgetHourly / MaxConcurrent, or / 4 when
	// MaxConcurrent is Unlimited. At most CostBudgetHourly.
	QueryBudget float64
	// MinQueryBudget is the least cap a query is admitted with (its own
	// cap if smaller): with less unreserved it waits. 0: 0.01 USD.
	MinQueryBudget float64
	MaxConcurrent  int           // 0: 4; Unlimited: no cap
	MaxQueued      int           // 0: 1000; Unlimited: no cap
	MaxWait        time.Duration // 0: wait as long as ctx allows; see above
	Clock          clock.Clock   // nil: clock.New()
	Logger         *slog.Logger  // nil: discard
	// Store, when set, holds the windows, the spend, the reservations and
	// the pause instead of this process's memory: a fleet's processes
	// with the same store share one quota and one budget (see Shared).
	// MaxConcurrent and MaxQueued stay per process. The Limiter owns it
	// and closes it at Close. nil: in memory.
	Store Shared
}

// Validate reports the first invalid field as a *ConfigError naming it:
// a count below Unlimited or above 2^40, a budget that is negative (other
// than Unlimited), NaN or infinite, a QueryBudget or MinQueryBudget that
// is negative, NaN or infinite, a QueryBudget above the budget, a budget
// so small that a query's cap would be under MinCapUSD, or a negative
// MaxWait.
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
	for _, f := range []struct {
		name string
		v    float64
	}{{"QueryBudget", c.QueryBudget}, {"MinQueryBudget", c.MinQueryBudget}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return &ConfigError{Field: f.name, Problem: fmt.Sprintf("must be a finite USD amount >= 0, got %v", f.v)}
		}
	}
	if c.MaxWait < 0 {
		return &ConfigError{Field: "MaxWait", Problem: fmt.Sprintf("must be >= 0, got %v", c.MaxWait)}
	}
	d := c.withDefaults()
	if d.CostBudgetHourly < 0 {
		return nil
	}
	if d.QueryBudget > d.CostBudgetHourly {
		return &ConfigError{Field: "QueryBudget", Problem: fmt.Sprintf("must be at most CostBudgetHourly (%v USD), got %v", d.CostBudgetHourly, d.QueryBudget)}
	}
	if need := min(d.QueryBudget, d.MinQueryBudget); need < MinCapUSD {
		field := "CostBudgetHourly"
		switch {
		case c.QueryBudget > 0 && c.QueryBudget == need:
			field = "QueryBudget"
		case c.MinQueryBudget > 0 && c.MinQueryBudget == need:
			field = "MinQueryBudget"
		}
		return &ConfigError{Field: field, Problem: fmt.Sprintf("leaves a query a cap of %v USD, below the least that can admit one (%v USD): no query could ever run", need, MinCapUSD)}
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
	if c.QueryBudget == 0 && c.CostBudgetHourly > 0 {
		share := c.MaxConcurrent
		if share <= 0 {
			share = DefaultMaxConcurrent // MaxConcurrent is Unlimited
		}
		c.QueryBudget = c.CostBudgetHourly / float64(share)
	}
	c.MinQueryBudget = cmp.Or(c.MinQueryBudget, DefaultMinQueryBudget)
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
