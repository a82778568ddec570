// Package fleet is the Redis engine of agent.Config.Fleet: importing it
// lets agent.New share the rate limit, the budget and the circuit breaker
// of every process with the same Config.Fleet.Key. It holds the go-redis
// dependency, so that programs without a fleet don't link it:
//
//	import _ "github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/fleet"
//
//	cfg := agent.DefaultConfig()
//	cfg.Fleet = agent.FleetConfig{RedisURL: "redis://redis:6379/0", Key: "team-a"}
//	client, err := agent.New(cfg)
//
// To reuse a go-redis client of your own, set Config.Fleet.Client to it
// (any redis.UniversalClient: a plain, cluster or failover client).
//
// What is stored: the limiter's windows, spend, leases and pause under the
// keys limiter:{Key}:*, the breaker's last trip and half-open probe slots
// under {breaker:Key}:*; each group carries a hash tag, so a Redis Cluster
// keeps it in one slot. Every admission is one Lua script (EVALSHA, with
// an EVAL fallback), timed by Redis TIME.
package fleet

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker/redisstate"
	ifleet "github.com/c0c8c5bf/claude-agent-sdk-go/internal/fleet"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter/redisstore"
)

func init() { ifleet.Register(open) }

// open opens the Redis guards of opts.
func open(opts ifleet.Options) (ifleet.Guards, error) {
	client, owned, err := clientOf(opts)
	if err != nil {
		return ifleet.Guards{}, err
	}
	policy := redisstore.FailClosed
	if opts.Policy == ifleet.FailOver {
		policy = redisstore.FailOver
	}
	store, err := redisstore.New(redisstore.Options{
		Client:    client,
		Key:       opts.Key,
		LeaseTTL:  opts.LeaseTTL,
		Timeout:   opts.Timeout,
		Policy:    policy,
		FleetSize: opts.Size,
		Logger:    opts.Logger,
	})
	if err != nil {
		closeOwned(client, owned)
		return ifleet.Guards{}, fmt.Errorf("Config.Fleet: %w", err)
	}
	state, err := redisstate.New(client, redisstate.Options{Key: opts.Key})
	if err != nil {
		_ = store.Close()
		closeOwned(client, owned)
		return ifleet.Guards{}, fmt.Errorf("Config.Fleet: %w", err)
	}
	return ifleet.Guards{
		Store:   store,
		Breaker: state,
		Close: func() error {
			err := state.Close()
			if owned {
				err = errors.Join(err, client.Close())
			}
			return err
		},
	}, nil
}

// clientOf returns opts.Client, or a new client of opts.RedisURL (owned:
// the guards close it).
func clientOf(opts ifleet.Options) (client redis.UniversalClient, owned bool, err error) {
	if opts.Client != nil {
		c, ok := opts.Client.(redis.UniversalClient)
		if !ok {
			return nil, false, fmt.Errorf("Config.Fleet.Client must be a go-redis v9 redis.UniversalClient, got %T", opts.Client)
		}
		return c, false, nil
	}
	o, err := redis.ParseURL(opts.RedisURL)
	if err != nil {
		return nil, false, fmt.Errorf("Config.Fleet.RedisURL: %w", err)
	}
	return redis.NewClient(o), true, nil
}

func closeOwned(c redis.UniversalClient, owned bool) {
	if owned {
		_ = c.Close()
	}
}
