package breaker

import (
	"cmp"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults used for zero fields of Config.
const (
	DefaultFailureThreshold = 5
	DefaultTimeout          = 60 * time.Second
	DefaultMaxTimeoutFactor = 10 // MaxTimeout is this many times Timeout
	DefaultHalfOpenRequests = 2
	DefaultSuccessThreshold = 2
	DefaultSharedTimeout    = time.Second
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
	// half-open (with a shared state, in the whole fleet). 0: 2.
	HalfOpenRequests int
	// SuccessThreshold is the number of successes in a row, while
	// half-open, that closes the circuit. 0: 2.
	SuccessThreshold int

	// Disabled turns the breaker off: Allow and Check always allow.
	Disabled bool

	// Shared is the state the breaker shares with the other processes of
	// a fleet: their trips open it, and half-open probes are limited
	// fleet-wide. The breaker does not close it. nil: a MemoryState of
	// its own (a fleet of one).
	Shared SharedState
	// SharedTimeout bounds each call to Shared; a call that fails or
	// times out leaves the breaker on its local state. 0: 1 s.
	SharedTimeout time.Duration

	// Clock is the source of time. nil: clock.New().
	Clock clock.Clock
	// Logger receives panics recovered in the breaker's loop and in
	// subscribers, and the shared state's changes between reachable and
	// not. nil: discard.
	Logger *slog.Logger
	// Rand is the random source of the open-time jitter, read only by the
	// breaker's own goroutine. nil: math/rand/v2's global source.
	Rand rand.Source
}

// Validate reports the first invalid field as a *ConfigError naming it:
// "breaker: FailureThreshold must be >= 0 ...".
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
		def  int
	}{
		{"FailureThreshold", c.FailureThreshold, DefaultFailureThreshold},
		{"HalfOpenRequests", c.HalfOpenRequests, DefaultHalfOpenRequests},
		{"SuccessThreshold", c.SuccessThreshold, DefaultSuccessThreshold},
	} {
		if f.v < 0 {
			return &ConfigError{Field: f.name, Problem: fmt.Sprintf("must be >= 0 (0 means %d), got %d", f.def, f.v)}
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
		def  string
	}{
		{"Timeout", c.Timeout, DefaultTimeout.String()},
		{"MaxTimeout", c.MaxTimeout, fmt.Sprintf("%d × Timeout", DefaultMaxTimeoutFactor)},
		{"SharedTimeout", c.SharedTimeout, DefaultSharedTimeout.String()},
	} {
		if f.v < 0 {
			return &ConfigError{Field: f.name, Problem: fmt.Sprintf("must be >= 0 (0 means %s), got %v", f.def, f.v)}
		}
	}
	if d := c.withDefaults(); d.MaxTimeout < d.Timeout {
		return &ConfigError{Field: "MaxTimeout", Problem: fmt.Sprintf("must be >= Timeout (%v), got %v", d.Timeout, d.MaxTimeout)}
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	c.FailureThreshold = cmp.Or(c.FailureThreshold, DefaultFailureThreshold)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxTimeout = cmp.Or(c.MaxTimeout, DefaultMaxTimeoutFactor*c.Timeout)
	c.HalfOpenRequests = cmp.Or(c.HalfOpenRequests, DefaultHalfOpenRequests)
	c.SuccessThreshold = cmp.Or(c.SuccessThreshold, DefaultSuccessThreshold)
	c.SharedTimeout = cmp.Or(c.SharedTimeout, DefaultSharedTimeout)
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = globalSource{}
	}
	if c.Shared == nil {
		c.Shared = NewMemoryState(c.Clock)
	}
	return c
}

// globalSource is math/rand/v2's global source as a rand.Source.
type globalSource struct{}

func (globalSource) Uint64() uint64 { return rand.Uint64() }
