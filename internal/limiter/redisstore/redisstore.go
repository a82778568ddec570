// Package redisstore is the limiter's Store shared by a fleet through
// Redis: every process with the same key admits against one pair of
// windows, one hourly budget and one pause.
//
// One Lua script (admit.lua) admits a query atomically against both
// windows, the budget (spend in the last hour plus live reservations) and
// the pause, or answers when it could be admitted. Time comes from Redis
// (TIME) unless Options.Now injects it, so the machines' clocks don't
// matter; times are whole microseconds and money whole micro-USD, exact in
// Lua's doubles. Keys carry the hash tag {key}, so a Redis Cluster keeps
// them in one slot. Scripts run with EVALSHA, falling back to EVAL
// (go-redis's Script).
//
// Reservations are leases: each lasts LeaseTTL from its admission and is
// renewed every LeaseTTL/3 while this process lives. A process that dies
// holding leases holds the budget for at most LeaseTTL: the next admission
// anywhere finds them expired and charges their reservation as spent (the
// dead process's queries may have spent it all); what it had settled stays
// charged. Settles, releases and unpauses are published on a channel, and
// the Limiter's waiters retry on it (Changes), not by polling.
//
// When Redis cannot be reached, Options.Policy decides: FailClosed refuses
// with an error matching limiter.ErrStoreUnavailable; FailOver admits from
// local guards, each process allowing itself the budget left at the
// fleet's last seen spend and the windows' last seen tokens, both divided
// by Options.FleetSize, refilling at the rate over FleetSize. The first
// call that reaches Redis again ends the outage: what the local guards
// admitted and charged is replayed into the shared state. Each transition
// is logged once.
package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

var (
	//go:embed admit.lua
	admitSrc string
	//go:embed settle.lua
	settleSrc string
	//go:embed misc.lua
	miscSrc string

	admitScript  = redis.NewScript(admitSrc)
	settleScript = redis.NewScript(settleSrc)
	miscScript   = redis.NewScript(miscSrc)
)

// Policy is what the store does while Redis cannot be reached.
type Policy int

const (
	// FailClosed refuses every admission with an error matching
	// limiter.ErrStoreUnavailable.
	FailClosed Policy = iota
	// FailOver admits from local guards: the fleet's last seen state
	// divided by FleetSize.
	FailOver
)

// String returns "fail-closed" or "fail-over".
func (p Policy) String() string {
	switch p {
	case FailClosed:
		return "fail-closed"
	case FailOver:
		return "fail-over"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// Defaults of Options.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultTimeout  = time.Second
)

// Options configure a Store.
type Options struct {
	Client    redis.UniversalClient // required; the caller closes it
	Key       string                // the quota's name: stores with the same key share it
	LeaseTTL  time.Duration         // 0: DefaultLeaseTTL
	Timeout   time.Duration         // of each round trip; 0: DefaultTimeout
	Policy    Policy
	FleetSize int // processes sharing the key, for FailOver; 0: 1
	// Now, when set, is the scripts' time instead of Redis TIME (tests).
	Now    func() time.Time
	Logger *slog.Logger // nil: discard
}

// Store is a limiter.Shared backed by Redis. It is safe for concurrent
// use, though a Limiter calls it from one goroutine. New starts two
// goroutines (lease renewal, change notifications); Close stops them and
// does not close the client. A Limiter given the store closes it.
type Store struct {
	client     redis.UniversalClient
	keys       []string
	channel    string
	owner      string // this process's prefix of lease names
	ttl        time.Duration
	timeout    time.Duration
	policy     Policy
	size       int
	now        func() time.Time
	log        *slog.Logger
	changes    chan struct{} // buffer 1: coalesced notifications
	stop       chan struct{}
	wg         sync.WaitGroup
	pubsub     *redis.PubSub
	closeErr   sync.Once
	recovering sync.Mutex // held by recover

	mu      sync.Mutex
	live    map[uint64]struct{}           // leases held in Redis, renewed
	down    bool                          // the latest call failed to reach Redis
	seen    limiter.State                 // the latest state Redis answered
	local   *localGuards                  // FailOver's guards during an outage; nil otherwise
	owed    []func(context.Context) error // settles and releases to retry when Redis returns
	replayN int                           // admissions by the local guards not yet replayed
	replayC []int64                       // charges (micro-USD) by the local guards not yet replayed
	limits  limiter.Limits                // of the latest Admit: the replay's windows
}

var _ limiter.Shared = (*Store)(nil)

// New returns the store for opts and subscribes to its key's channel.
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("redisstore: Options.Client is required")
	}
	if opts.Key == "" {
		return nil, errors.New("redisstore: Options.Key is required")
	}
	if opts.LeaseTTL < 0 || opts.Timeout < 0 || opts.FleetSize < 0 {
		return nil, errors.New("redisstore: LeaseTTL, Timeout and FleetSize must not be negative")
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	prefix := "limiter:{" + opts.Key + "}:"
	s := &Store{
		client:  opts.Client,
		keys:    []string{prefix + "state", prefix + "spend", prefix + "leases", prefix + "amounts"},
		channel: prefix + "changed",
		owner:   hex.EncodeToString(id),
		ttl:     cmpOr(opts.LeaseTTL, DefaultLeaseTTL),
		timeout: cmpOr(opts.Timeout, DefaultTimeout),
		policy:  opts.Policy,
		size:    max(1, opts.FleetSize),
		now:     opts.Now,
		log:     opts.Logger,
		changes: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		live:    make(map[uint64]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// The subscription's context is the store's life: its own root.
	s.pubsub = s.client.Subscribe(context.Background(), s.channel)
	s.wg.Add(2)
	go s.notify()
	go s.renew()
	return s, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Keys returns the Redis keys of the store's state (all in one hash slot).
func (s *Store) Keys() []string { return append([]string(nil), s.keys...) }

// Changes implements limiter.Shared.
func (s *Store) Changes() <-chan struct{} { return s.changes }

// Close stops the store's goroutines and its subscription. It does not
// close the client. It is idempotent.
func (s *Store) Close() error {
	var err error
	s.closeErr.Do(func() {
		close(s.stop)
		err = s.pubsub.Close()
		s.wg.Wait()
	})
	return err
}

// notify turns messages on the channel into Changes.
func (s *Store) notify() {
	defer s.wg.Done()
	ch := s.pubsub.Channel()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
			s.signal()
		case <-s.stop:
			return
		}
	}
}

func (s *Store) signal() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// renew extends this process's live leases every ttl/3.
func (s *Store) renew() {
	defer s.wg.Done()
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := s.ctx(context.Background())
			if s.recover(ctx, false) == nil {
				s.Renew()
			}
			cancel()
		case <-s.stop:
			return
		}
	}
}

// Renew extends this process's live leases to LeaseTTL from now; the
// store calls it every LeaseTTL/3.
func (s *Store) Renew() {
	s.mu.Lock()
	args := []any{s.nowArg(), "renew", s.ttl.Microseconds()}
	for id := range s.live {
		args = append(args, s.lease(id))
	}
	s.mu.Unlock()
	if len(args) == 3 {
		return
	}
	ctx, cancel := s.ctx(context.Background())
	defer cancel()
	if err := miscScript.Run(ctx, s.client, s.keys, args...).Err(); err != nil {
		s.log.Debug("redisstore: renewing leases", "err", err)
	}
}

// ctx bounds one round trip.
func (s *Store) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.timeout)
}

// nowArg is the scripts' now: the injected time in microseconds, or -1
// for Redis TIME.
func (s *Store) nowArg() int64 {
	if s.now == nil {
		return -1
	}
	return s.now().UnixMicro()
}

func (s *Store) lease(id uint64) string { return s.owner + ":" + strconv.FormatUint(id, 10) }

// microUSD converts USD to whole micro-USD, rounded up (charges, needs)
// or down (caps, the budget): every rounding is stricter.
func microUp(usd float64) int64   { return int64(math.Ceil(usd*1e6 - 1e-6)) }
func microDown(usd float64) int64 { return int64(math.Floor(usd*1e6 + 1e-6)) }

func budgetArg(b float64) int64 {
	if b < 0 {
		return -1
	}
	return microDown(b)
}

// interval is the refill time of one token in whole microseconds, rounded
// up, as the in-memory store's; 0 for an off window.
func interval(capacity int, period time.Duration) int64 {
	if capacity <= 0 {
		return 0
	}
	c := int64(capacity)
	return (period.Microseconds() + c - 1) / c
}

// Admit implements limiter.Store.
func (s *Store) Admit(ctx context.Context, q limiter.Query) (limiter.Decision, error) {
	if err := s.recover(ctx, false); err != nil {
		return s.outage(ctx, q, err)
	}
	lim := q.Limits
	probe := "0"
	if q.Probe {
		probe = "1"
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := admitScript.Run(cctx, s.client, s.keys,
		s.nowArg(),
		lim.PerMinute, interval(lim.PerMinute, time.Minute),
		lim.PerHour, interval(lim.PerHour, time.Hour),
		budgetArg(lim.Budget),
		microDown(q.Cap), microUp(q.Need),
		s.lease(q.ID), s.ttl.Microseconds(),
		probe, q.Ahead, microUp(q.AheadNeed),
		s.channel,
	).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return limiter.Decision{}, ctx.Err()
		}
		return s.outage(ctx, q, err)
	}
	d := decode(res, lim)
	s.mu.Lock()
	s.seen, s.limits = d.State, lim
	if d.Admitted {
		s.live[q.ID] = struct{}{}
	}
	s.mu.Unlock()
	return d, nil
}

// decode turns the admit script's reply into a Decision.
func decode(r []int64, lim limiter.Limits) limiter.Decision {
	now, tatm, tath, spent, reserved, pause := r[1], r[2], r[3], r[4], r[5], r[6]
	d := limiter.Decision{State: limiter.State{
		MinuteTokens: tokens(lim.PerMinute, time.Minute, tatm, now),
		HourTokens:   tokens(lim.PerHour, time.Hour, tath, now),
		SpentUSD:     float64(spent) / 1e6,
		ReservedUSD:  float64(reserved) / 1e6,
	}}
	if pause > now {
		d.State.PausedFor = time.Duration(pause-now) * time.Microsecond
	}
	if r[0] == 1 {
		d.Admitted, d.Reserved = true, float64(r[7])/1e6
		return d
	}
	d.Reason, d.Wait, d.Known = limiter.Reason(r[7]), time.Duration(r[8])*time.Microsecond, r[9] == 1
	d.SureReason, d.SureWait, d.SureKnown = limiter.Reason(r[10]), time.Duration(r[11])*time.Microsecond, r[12] == 1
	return d
}

// tokens is the tokens left in a window whose bucket is full at tat.
func tokens(capacity int, period time.Duration, tat, now int64) float64 {
	if capacity <= 0 {
		return -1
	}
	missing := float64(max(0, tat-now)) / float64(interval(capacity, period))
	return max(0, float64(capacity)-missing)
}

// Settle implements limiter.Store.
func (s *Store) Settle(ctx context.Context, id uint64, usd float64, at time.Time) error {
	return s.drop(ctx, id, microUp(usd), at)
}

// Release implements limiter.Store: the lease's reservation is freed, and
// its window tokens are given back if it was the fleet's latest admission.
func (s *Store) Release(ctx context.Context, id uint64) error {
	return s.drop(ctx, id, -1, time.Time{})
}

// drop runs settle.lua for lease id (cost -1: release), or, for a lease
// of the local guards, settles it there and replays its charge into
// Redis. A call that cannot reach Redis is kept and retried when it
// returns.
func (s *Store) drop(ctx context.Context, id uint64, cost int64, at time.Time) error {
	s.mu.Lock()
	if g := s.local; g != nil && g.owns(id) {
		g.drop(ctx, id, cost, at)
		if s.local.empty() && !s.down {
			s.local = nil
		}
		var charges []int64
		if cost > 0 {
			s.replayC = append(s.replayC, cost)
			charges = s.replayC
		}
		down := s.down
		s.mu.Unlock()
		if down || charges == nil {
			return nil
		}
		return s.recover(ctx, true)
	}
	delete(s.live, id)
	s.mu.Unlock()
	call := func(ctx context.Context) error {
		cctx, cancel := s.ctx(ctx)
		defer cancel()
		r, err := settleScript.Run(cctx, s.client, s.keys, s.nowArg(), s.lease(id), cost, s.channel).Int64Slice()
		if err == nil && len(r) == 3 {
			s.mu.Lock()
			s.seen.SpentUSD, s.seen.ReservedUSD = float64(r[1])/1e6, float64(r[2])/1e6
			s.mu.Unlock()
		}
		return err
	}
	if err := call(ctx); err != nil {
		s.fail(err, call)
		return err
	}
	return nil
}

// Pause implements limiter.Store: the fleet pauses for until-now.
func (s *Store) Pause(ctx context.Context, now, until time.Time) error {
	d := until.Sub(now)
	if d <= 0 {
		return nil
	}
	s.mu.Lock()
	if s.local != nil {
		_ = s.local.mem.Pause(ctx, now, until)
	}
	s.mu.Unlock()
	return s.misc(ctx, "pause", d.Microseconds())
}

// Unpause implements limiter.Store.
func (s *Store) Unpause(ctx context.Context) error {
	s.mu.Lock()
	if s.local != nil {
		_ = s.local.mem.Unpause(ctx)
	}
	s.mu.Unlock()
	return s.misc(ctx, "unpause", s.channel)
}

func (s *Store) misc(ctx context.Context, op string, arg any) error {
	call := func(ctx context.Context) error {
		cctx, cancel := s.ctx(ctx)
		defer cancel()
		return miscScript.Run(cctx, s.client, s.keys, s.nowArg(), op, arg).Err()
	}
	if err := call(ctx); err != nil {
		s.fail(err, call)
		return err
	}
	return nil
}

// State implements limiter.Store with a probe of the admit script.
func (s *Store) State(ctx context.Context, now time.Time, lim limiter.Limits) (limiter.State, error) {
	d, err := s.Admit(ctx, limiter.Query{Now: now, Limits: lim, Probe: true})
	return d.State, err
}
