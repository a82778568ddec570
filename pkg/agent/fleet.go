package agent

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fleet"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
)

// FleetConfig shares one quota, one budget and one circuit breaker among
// every process whose Config.Fleet has the same Key and the same Redis:
// the per-minute and per-hour windows, the hourly cost budget (spend plus
// running queries' reservations), a 429 pause and the breaker's trips and
// half-open probes are the fleet's; MaxConcurrent and MaxQueued stay per
// process. Each process still counts its own breaker outcomes and trips
// on its own run of failures, then opens the others. The zero value is
// off: every guard is this process's alone.
//
// The Redis client lives in package pkg/agent/fleet, so that programs
// without a fleet do not link it: import it (for its side effect, or for
// fleet.Client), else New refuses a Config.Fleet.
type FleetConfig struct {
	// RedisURL is the Redis server, a redis://, rediss:// or unix:// URL
	// (as go-redis's ParseURL reads it). Either it or Client turns the
	// fleet on.
	RedisURL string
	// Client, instead of RedisURL, is an existing go-redis v9 client (a
	// redis.UniversalClient: a plain client, a cluster or a failover
	// client). The caller keeps owning it: Close does not close it.
	Client any
	// Key names the quota: processes with the same Key share it.
	// Required with RedisURL or Client.
	Key string
	// OnRedisDown is what the guards do while Redis cannot be reached
	// (default FleetFailClosed).
	OnRedisDown FleetPolicy
	// Size is the number of processes of the fleet, for FleetFailOver:
	// each allows itself the windows and the budget left at the fleet's
	// last seen spend, divided by Size (default 1).
	Size int
	// LeaseTTL is how long a running query's reservation outlives its
	// process if that dies (default 30 s; renewed every LeaseTTL/3 while
	// the process lives). At least three round trips (3 × Timeout).
	LeaseTTL time.Duration
	// Timeout bounds each round trip to Redis (default 1 s); a slower one
	// counts as Redis down for that call.
	Timeout time.Duration
}

// FleetPolicy is what a fleet's guards do while Redis cannot be reached.
type FleetPolicy int

// The policies. Either way no caller waits for Redis longer than
// FleetConfig.Timeout per round trip, and the guards go back to the shared
// state by themselves when Redis returns; each change is logged once.
const (
	// FleetFailClosed refuses queries with a *RejectedError matching
	// ErrFleetUnavailable (LimitFleet). The breaker goes on with its
	// local state.
	FleetFailClosed FleetPolicy = iota
	// FleetFailOver admits from local guards: this process's share
	// (1/Size) of the windows and of the budget left at the fleet's last
	// seen spend. What they admitted and charged is written to Redis when
	// it returns.
	FleetFailOver
)

// String returns "fail-closed" or "fail-over".
func (p FleetPolicy) String() string {
	switch p {
	case FleetFailClosed:
		return "fail-closed"
	case FleetFailOver:
		return "fail-over"
	}
	return "FleetPolicy(" + strconv.Itoa(int(p)) + ")"
}

// on reports whether the fleet is configured.
func (f FleetConfig) on() bool { return f.RedisURL != "" || f.Client != nil }

// fleetPackage is the import path New asks for when the fleet is not linked.
const fleetPackage = "github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/fleet"

// validate checks Config.Fleet; bad names the field.
func (f FleetConfig) validate(bad func(path, format string, args ...any)) {
	if !f.on() {
		if f.Key != "" {
			bad("Fleet.Key", "is set but neither Config.Fleet.RedisURL nor Config.Fleet.Client is")
		}
		return
	}
	if f.RedisURL != "" && f.Client != nil {
		bad("Fleet.Client", "and Config.Fleet.RedisURL are both set; set one")
	}
	if f.RedisURL != "" {
		u, err := url.Parse(f.RedisURL)
		switch {
		case err != nil:
			bad("Fleet.RedisURL", "is not a URL: %v", err)
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			bad("Fleet.RedisURL", "must be a redis://, rediss:// or unix:// URL, got scheme %q", u.Scheme)
		}
	}
	if f.Key == "" {
		bad("Fleet.Key", "is required when the fleet is on (it names the shared quota)")
	}
	if f.OnRedisDown != FleetFailClosed && f.OnRedisDown != FleetFailOver {
		bad("Fleet.OnRedisDown", "must be FleetFailClosed or FleetFailOver, got %v", f.OnRedisDown)
	}
	if f.Size < 0 {
		bad("Fleet.Size", "must not be negative (0 means 1), got %d", f.Size)
	}
	if f.Timeout < 0 {
		bad("Fleet.Timeout", "must not be negative (0 means the default), got %v", f.Timeout)
	}
	timeout := f.Timeout
	if timeout == 0 {
		timeout = time.Second // the store's default
	}
	switch {
	case f.LeaseTTL < 0:
		bad("Fleet.LeaseTTL", "must not be negative (0 means the default), got %v", f.LeaseTTL)
	case f.LeaseTTL > 0 && timeout > 0 && f.LeaseTTL < 3*timeout:
		bad("Fleet.LeaseTTL", "must be at least 3 × Config.Fleet.Timeout (%v), got %v", 3*timeout, f.LeaseTTL)
	}
	if !fleet.Linked() {
		bad("Fleet", "needs package %s: import it (import _ %q)", fleetPackage, fleetPackage)
	}
}

// openFleet opens the shared guards of c.Fleet into oc (nothing when the
// fleet is off) and returns what Close must release after the guards.
func (c Config) openFleet(oc *orchestrator.Config, log *slog.Logger) (release func() error, err error) {
	if !c.Fleet.on() {
		return func() error { return nil }, nil
	}
	f := c.Fleet
	g, err := fleet.Open(fleet.Options{
		RedisURL: f.RedisURL,
		Client:   f.Client,
		Key:      f.Key,
		Policy:   fleet.Policy(f.OnRedisDown),
		Size:     f.Size,
		LeaseTTL: f.LeaseTTL,
		Timeout:  f.Timeout,
		Logger:   log,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	oc.Limiter.Store = g.Store
	oc.Breaker.Shared = g.Breaker
	if f.Timeout > 0 {
		oc.Breaker.SharedTimeout = f.Timeout
	}
	return g.Close, nil
}
