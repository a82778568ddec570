// Package fleet links pkg/agent to the shared engine of a fleet without
// making pkg/agent import it: pkg/agent/fleet (which holds the go-redis
// dependency) registers its opener here in an init function, as a
// database/sql driver does, and pkg/agent opens the fleet's guards
// through Open. A program that never imports pkg/agent/fleet links no
// Redis client.
package fleet

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// Policy is what the guards do while the shared engine is unreachable.
type Policy int

// The policies.
const (
	FailClosed Policy = iota // refuse with an error matching limiter.ErrStoreUnavailable
	FailOver                 // admit from local guards: the fleet's last seen state over Size
)

// Options are the public Config.Fleet, validated by pkg/agent.
type Options struct {
	RedisURL string
	Client   any // a go-redis client, used instead of RedisURL
	Key      string
	Policy   Policy
	Size     int           // processes of the fleet, for FailOver; 0: 1
	LeaseTTL time.Duration // 0: the store's default
	Timeout  time.Duration // of each round trip; 0: the store's default
	Logger   *slog.Logger  // nil: discard
}

// Guards are the shared halves of one process's limiter and breaker.
type Guards struct {
	Store   limiter.Shared      // the Limiter owns it and closes it
	Breaker breaker.SharedState // closed by Close, after the Breaker
	// Close releases what the opener made besides the store (the
	// breaker's state, a client made from RedisURL). Never nil.
	Close func() error
}

// Opener opens the guards of opts; its errors name the public field
// (Config.Fleet.RedisURL, Config.Fleet.Client).
type Opener func(opts Options) (Guards, error)

var (
	mu     sync.Mutex
	opener Opener
)

// ErrNotLinked is returned by Open when no opener is registered.
var ErrNotLinked = errors.New("fleet: no shared engine linked")

// Register makes open the opener. A second registration replaces the
// first (there is one engine, Redis).
func Register(open Opener) {
	mu.Lock()
	defer mu.Unlock()
	opener = open
}

// Linked reports whether an opener is registered.
func Linked() bool {
	mu.Lock()
	defer mu.Unlock()
	return opener != nil
}

// Open opens the guards of opts with the registered opener.
func Open(opts Options) (Guards, error) {
	mu.Lock()
	open := opener
	mu.Unlock()
	if open == nil {
		return Guards{}, ErrNotLinked
	}
	return open(opts)
}
