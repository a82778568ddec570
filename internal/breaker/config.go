package breaker

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults used for zero fields of Config.
const (
	DefaultFailureThreshold    = 5
	DefaultTimeout             = 60 * time.Second
	DefaultMaxTimeoutFactor    = 10 // MaxTimeout is this many times Timeout
	DefaultHalfOpenRequests    = 2
	DefaultSuccessThreshold    = 2
	DefaultFailureRateWindow   = 60 * time.Second
	DefaultFailureRateMinCalls = 10
)

// jitterFraction bounds the jitter added to a re-open's doubled open time:
// the open time is in [base, min(base+base/jitterFraction, MaxTimeout)], so
// jitter never makes it shorter than the doubled base nor longer than
// MaxTimeout.
const jitterFraction = 10 // jitter is at most base/jitterFraction

// Config configures a Breaker. The zero value is valid: every zero field
// means its default.
type Config struct {
	// FailureThreshold is the number of consecutive failures that opens a
	// closed circuit. 0: 5.
	FailureThreshold int
	// Timeout is how long the circuit stays open after it trips from
	// closed; each consecutive re-open from half-open doubles it. 0: 60 s.
	Timeout time.Duration
	// MaxTimeout caps the doubled open time. 0: 10 × Timeout.
	MaxTimeout time.Duration
	// HalfOpenRequests is the number of probes allowed at once while
	// half-open. 0: 2.
	HalfOpenRequests int
	// SuccessThreshold is the number of successes in a row, while
	// half-open, that closes the circuit. 0: 2.
	SuccessThreshold int

	// FailureRate turns on a second way to trip a closed circuit: when,
	// over the last FailureRateWindow, at least FailureRateMinCalls calls
	// were reported and the ratio of failures to them is at least
	// FailureRate (0 < FailureRate <= 1). 0: off.
	FailureRate float64
	// FailureRateWindow is the rolling window of the failure-rate rule,
	// measured in ten buckets of a tenth of it each. 0: 60 s.
	FailureRateWindow time.Duration
	// FailureRateMinCalls is the number of calls in the window below which
	// the failure-rate rule does not trip. 0: 10.
	FailureRateMinCalls int

	// Disabled turns the breaker off: Allow and Check always allow.
	Disabled bool

	// Clock is the source of time. nil: clock.New().
	Clock clock.Clock
	// Logger receives panics recovered in the breaker's loop and in
	// subscribers. nil: discard.
	Logger *slog.Logger
	// Rand is the random source of the open-time jitter, read only by the
	// breaker's own goroutine. nil: math/rand/v2's global source.
	Rand rand.Source
}

// Validate reports every invalid field; each error names its field
// ("breaker: FailureThreshold must be ...").
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("breaker: "+format, args...))
	}
	if c.FailureThreshold < 0 {
		bad("FailureThreshold must be >= 0 (0 means %d), got %d", DefaultFailureThreshold, c.FailureThreshold)
	}
	if c.Timeout < 0 {
		bad("Timeout must be >= 0 (0 means %v), got %v", DefaultTimeout, c.Timeout)
	}
	if c.MaxTimeout < 0 {
		bad("MaxTimeout must be >= 0 (0 means %d × Timeout), got %v", DefaultMaxTimeoutFactor, c.MaxTimeout)
	} else if d := c.withDefaults(); c.Timeout >= 0 && d.MaxTimeout < d.Timeout {
		bad("MaxTimeout must be >= Timeout (%v), got %v", d.Timeout, d.MaxTimeout)
	}
	if c.HalfOpenRequests < 0 {
		bad("HalfOpenRequests must be >= 0 (0 means %d), got %d", DefaultHalfOpenRequests, c.HalfOpenRequests)
	}
	if c.SuccessThreshold < 0 {
		bad("SuccessThreshold must be >= 0 (0 means %d), got %d", DefaultSuccessThreshold, c.SuccessThreshold)
	}
	if math.IsNaN(c.FailureRate) || c.FailureRate < 0 || c.FailureRate > 1 {
		bad("FailureRate must be in [0, 1] (0 means off), got %v", c.FailureRate)
	}
	if c.FailureRateWindow < 0 {
		bad("FailureRateWindow must be >= 0 (0 means %v), got %v", DefaultFailureRateWindow, c.FailureRateWindow)
	}
	if c.FailureRateMinCalls < 0 {
		bad("FailureRateMinCalls must be >= 0 (0 means %d), got %d", DefaultFailureRateMinCalls, c.FailureRateMinCalls)
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	c.FailureThreshold = cmp.Or(c.FailureThreshold, DefaultFailureThreshold)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxTimeout = cmp.Or(c.MaxTimeout, DefaultMaxTimeoutFactor*c.Timeout)
	c.HalfOpenRequests = cmp.Or(c.HalfOpenRequests, DefaultHalfOpenRequests)
	c.SuccessThreshold = cmp.Or(c.SuccessThreshold, DefaultSuccessThreshold)
	c.FailureRateWindow = cmp.Or(c.FailureRateWindow, DefaultFailureRateWindow)
	c.FailureRateMinCalls = cmp.Or(c.FailureRateMinCalls, DefaultFailureRateMinCalls)
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = globalSource{}
	}
	return c
}

// globalSource is math/rand/v2's global source as a rand.Source.
type globalSource struct{}

func (globalSource) Uint64() uint64 { return rand.Uint64() }
