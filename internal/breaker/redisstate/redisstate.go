// Package redisstate keeps a breaker.SharedState in Redis, so that the
// breakers of many processes share one circuit: a trip in one process
// opens the others (they learn it by pub/sub, and by reading the state on
// their next call to it), and the half-open probes are limited
// fleet-wide.
//
// Each call is one Lua script (go-redis runs it with EVALSHA, falling back
// to EVAL), atomic on the server: no lock is held while a query runs. A
// probe slot is a lease in a sorted set, scored by its expiry on the
// server's clock (TIME), so a process that dies holding one frees it after
// Options.ProbeLease. The keys share the hash tag {breaker:<key>}, so a
// Redis Cluster keeps them on one slot.
package redisstate

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/breaker"
	"github.com/redis/go-redis/v9"
)

// DefaultProbeLease is how long a probe slot is held when its holder
// never gives it back (it died): longer than a query may run.
const DefaultProbeLease = 10 * time.Minute

// Options configures a State.
type Options struct {
	// Key names the circuit: processes with the same Key share it.
	// Required.
	Key string
	// ProbeLease is how long a probe slot is held at most. 0:
	// DefaultProbeLease.
	ProbeLease time.Duration
	// Now, when set, is the scripts' time instead of Redis TIME (tests
	// on fake time).
	Now func() time.Time
}

// State is a breaker.SharedState in Redis. Create it with New; the zero
// value is not usable. It is safe for concurrent use. It runs one
// goroutine, which listens for the fleet's announcements, from New until
// Close; whoever calls New must call Close (after the breakers that use
// it).
type State struct {
	client   redis.UniversalClient
	keys     []string // state hash, probe sorted set
	channel  string
	instance string // this State's prefix of probe ids
	lease    time.Duration

	subs breaker.Notifiers

	now       func() time.Time // nil: Redis TIME
	pubsub    *redis.PubSub
	quit      chan struct{} // closed by Close
	done      chan struct{} // closed when the listener has ended
	closeOnce sync.Once

	subscribed     chan struct{} // closed when the subscription is first confirmed
	subscribedOnce sync.Once
}

var _ breaker.SharedState = (*State)(nil)

// New returns the State of the circuit opts.Key in the Redis of client,
// which the caller keeps owning (Close does not close it).
func New(client redis.UniversalClient, opts Options) (*State, error) {
	if opts.Key == "" {
		return nil, errors.New("redisstate: Options.Key is required")
	}
	if opts.ProbeLease < 0 {
		return nil, fmt.Errorf("redisstate: Options.ProbeLease must be >= 0, got %v", opts.ProbeLease)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	tag := "{breaker:" + opts.Key + "}"
	s := &State{
		client:     client,
		keys:       []string{tag + ":state", tag + ":probes"},
		channel:    tag + ":changed",
		instance:   hex.EncodeToString(id[:]),
		lease:      cmp.Or(opts.ProbeLease, DefaultProbeLease),
		now:        opts.Now,
		quit:       make(chan struct{}),
		subscribed: make(chan struct{}),
		done:       make(chan struct{}),
	}
	// The subscription lives as long as the State, from New to Close: its
	// own root context.
	s.pubsub = client.Subscribe(context.Background(), s.channel)
	go s.listen()
	return s, nil
}

// Subscribed is closed once Redis has confirmed this State's subscription
// to the fleet's announcements: from then on no trip or close published
// by another process is missed while the connection holds (after a
// reconnection the breakers reload the state).
func (s *State) Subscribed() <-chan struct{} { return s.subscribed }

// Close stops the listener, ends the subscription and waits for the
// listener. It is idempotent.
func (s *State) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.quit)
		err = s.pubsub.Close()
		<-s.done
	})
	return err
}

// listen calls the subscribers' notify on every announcement, and on
// every (re)subscription, since announcements may have been missed while
// the connection was down (go-redis reconnects and resubscribes by
// itself, and delivers a *redis.Subscription each time).
func (s *State) listen() {
	defer close(s.done)
	ch := s.pubsub.ChannelWithSubscriptions()
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return
			}
			if _, sub := m.(*redis.Subscription); sub {
				s.subscribedOnce.Do(func() { close(s.subscribed) })
			}
			s.subs.Announce()
		case <-s.quit:
			return
		}
	}
}

// Subscribe implements breaker.SharedState.
func (s *State) Subscribe(notify func()) (cancel func()) {
	return s.subs.Subscribe(notify)
}

// fleetLua reads the scripts' now (ARGV[1], microseconds; -1: Redis
// TIME) and computes the fleet's state at it as {gen, closed, open_us}.
const fleetLua = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fleet()
  local v = redis.call('HMGET', KEYS[1], 'gen', 'closed', 'until')
  local gen, closed, untl = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  local open = 0
  if closed == 0 and gen > 0 and untl > now then open = untl - now end
  return {gen, closed, open}
end
`

// tripScript: ARGV now, seen, open_us, channel.
var tripScript = redis.NewScript(fleetLua + `
local f = fleet()
if f[1] == tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'gen', f[1] + 1, 'closed', 0, 'until', now + tonumber(ARGV[3]))
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[4], f[1] + 1)
  f = fleet()
end
return f
`)

// closeScript: ARGV now, gen, channel.
var closeScript = redis.NewScript(fleetLua + `
local f = fleet()
if f[1] == tonumber(ARGV[2]) and f[2] == 0 then
  redis.call('HSET', KEYS[1], 'closed', 1)
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[3], f[1])
  f = fleet()
end
return f
`)

// loadScript: ARGV now.
var loadScript = redis.NewScript(fleetLua + `
return fleet()
`)

// takeScript: ARGV now, gen, id, limit, lease_us. Returns {ok, gen,
// closed, open_us}.
var takeScript = redis.NewScript(fleetLua + `
local f = fleet()
if f[1] ~= tonumber(ARGV[2]) or f[2] == 1 or f[3] > 0 then
  return {0, f[1], f[2], f[3]}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {0, f[1], f[2], f[3]}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[5]) / 1000))
return {1, f[1], f[2], f[3]}
`)

// returnScript: ARGV now, gen, id.
var returnScript = redis.NewScript(fleetLua + `
local f = fleet()
if f[1] == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[3]) end
return 1
`)

// nowArg is the scripts' now: Options.Now in microseconds, or -1 for
// Redis TIME.
func (s *State) nowArg() int64 {
	if s.now == nil {
		return -1
	}
	return s.now().UnixMicro()
}

// Trip implements breaker.SharedState.
func (s *State) Trip(ctx context.Context, seen uint64, openFor time.Duration) (breaker.Fleet, error) {
	return s.fleet(tripScript.Run(ctx, s.client, s.keys, s.nowArg(), seen, openFor.Microseconds(), s.channel))
}

// CloseCircuit implements breaker.SharedState.
func (s *State) CloseCircuit(ctx context.Context, gen uint64) (breaker.Fleet, error) {
	return s.fleet(closeScript.Run(ctx, s.client, s.keys, s.nowArg(), gen, s.channel))
}

// Load implements breaker.SharedState.
func (s *State) Load(ctx context.Context) (breaker.Fleet, error) {
	return s.fleet(loadScript.Run(ctx, s.client, s.keys, s.nowArg()))
}

// TakeProbe implements breaker.SharedState.
func (s *State) TakeProbe(ctx context.Context, gen, id uint64, limit int) (bool, breaker.Fleet, error) {
	v, err := takeScript.Run(ctx, s.client, s.keys, s.nowArg(), gen, s.probeID(id), limit, s.lease.Microseconds()).Int64Slice()
	if err != nil {
		return false, breaker.Fleet{}, fmt.Errorf("redisstate: take probe: %w", err)
	}
	if len(v) != 4 {
		return false, breaker.Fleet{}, fmt.Errorf("redisstate: take probe: unexpected reply %v", v)
	}
	return v[0] == 1, toFleet(v[1:]), nil
}

// ReturnProbe implements breaker.SharedState.
func (s *State) ReturnProbe(ctx context.Context, gen, id uint64) error {
	if err := returnScript.Run(ctx, s.client, s.keys, s.nowArg(), gen, s.probeID(id)).Err(); err != nil {
		return fmt.Errorf("redisstate: return probe: %w", err)
	}
	return nil
}

func (s *State) probeID(id uint64) string { return fmt.Sprintf("%s:%d", s.instance, id) }

// fleet decodes the {gen, closed, open_us} reply of a script.
func (s *State) fleet(cmd *redis.Cmd) (breaker.Fleet, error) {
	v, err := cmd.Int64Slice()
	if err != nil {
		return breaker.Fleet{}, fmt.Errorf("redisstate: %w", err)
	}
	if len(v) != 3 {
		return breaker.Fleet{}, fmt.Errorf("redisstate: unexpected reply %v", v)
	}
	return toFleet(v), nil
}

func toFleet(v []int64) breaker.Fleet {
	return breaker.Fleet{Gen: uint64(v[0]), Closed: v[1] == 1, Open: time.Duration(v[2]) * time.Microsecond}
}
