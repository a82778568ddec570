package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// localGuards admit while Redis is away, under FailOver: an in-memory
// store with this process's share of the fleet's limits.
type localGuards struct {
	mem    limiter.Store
	leases map[uint64]struct{}
}

// newLocalGuards returns the guards of one process out of size, from the
// fleet's last seen state: the windows' capacities over size (at least
// one token each), and the budget left (budget - spent - reserved) over
// size.
func newLocalGuards(lim limiter.Limits, seen limiter.State, size int) *localGuards {
	share := func(n int) int {
		if n <= 0 {
			return n
		}
		return max(1, n/size)
	}
	local := limiter.Limits{PerMinute: share(lim.PerMinute), PerHour: share(lim.PerHour), Budget: lim.Budget}
	if lim.Budget >= 0 {
		local.Budget = max(0, lim.Budget-seen.SpentUSD-seen.ReservedUSD) / float64(size)
	}
	return &localGuards{mem: limiter.NewMemoryStore(local), leases: make(map[uint64]struct{})}
}

func (g *localGuards) owns(id uint64) bool {
	_, ok := g.leases[id]
	return ok
}

func (g *localGuards) empty() bool { return len(g.leases) == 0 }

// drop settles (cost >= 0, micro-USD) or releases (cost < 0) a local lease.
func (g *localGuards) drop(ctx context.Context, id uint64, cost int64, at time.Time) {
	delete(g.leases, id)
	if cost < 0 {
		_ = g.mem.Release(ctx, id)
		return
	}
	_ = g.mem.Settle(ctx, id, float64(cost)/1e6, at)
}

// fail records that a call could not reach Redis: the first failure of an
// outage logs the policy once and, under FailOver, starts the local
// guards. call, if not nil, is retried when Redis returns.
func (s *Store) fail(err error, call func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if call != nil {
		s.owed = append(s.owed, call)
	}
	if s.down {
		return
	}
	s.down = true
	switch s.policy {
	case FailOver:
		s.local = newLocalGuards(s.limits, s.seen, s.size)
		s.log.Warn("redisstore: redis unreachable: failing over to local guards", "key", s.keys[0], "fleet_size", s.size, "err", err)
	default:
		s.log.Warn("redisstore: redis unreachable: failing closed", "key", s.keys[0], "err", err)
	}
}

// outage answers an Admit that could not reach Redis, by the policy.
func (s *Store) outage(ctx context.Context, q limiter.Query, err error) (limiter.Decision, error) {
	s.fail(err, nil)
	if s.policy != FailOver {
		return limiter.Decision{}, fmt.Errorf("%w: redis: %v", limiter.ErrStoreUnavailable, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local == nil {
		s.local = newLocalGuards(s.limits, s.seen, s.size)
	}
	g := s.local
	d, _ := g.mem.Admit(ctx, q)
	if d.Admitted {
		g.leases[q.ID] = struct{}{}
		s.replayN++
	}
	d.State, _ = g.mem.State(ctx, q.Now, q.Limits)
	d.FromLocalGuards = true
	return d, nil
}

// recover, during an outage (or with force, after one, for a late charge
// of the local guards), replays into Redis what the local guards admitted
// and charged, then the settles and releases that failed, in order. The
// first success ends the outage, logged once; an error means Redis is
// still away.
func (s *Store) recover(ctx context.Context, force bool) error {
	s.recovering.Lock() // one replay at a time: the renewer calls this too
	defer s.recovering.Unlock()
	s.mu.Lock()
	if !s.down && !force {
		s.mu.Unlock()
		return nil
	}
	n, charges, owed, lim := s.replayN, s.replayC, s.owed, s.limits
	s.mu.Unlock()

	args := []any{s.nowArg(), "replay",
		lim.PerMinute, interval(lim.PerMinute, time.Minute),
		lim.PerHour, interval(lim.PerHour, time.Hour), n}
	for _, c := range charges {
		args = append(args, c)
	}
	cctx, cancel := s.ctx(ctx)
	err := miscScript.Run(cctx, s.client, s.keys, args...).Err()
	cancel()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.replayN -= n
	s.replayC = s.replayC[len(charges):]
	s.mu.Unlock()
	for i, call := range owed {
		if err := call(ctx); err != nil {
			s.mu.Lock()
			s.owed = append(owed[i:len(owed):len(owed)], s.owed[len(owed):]...)
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Lock()
	s.owed = s.owed[len(owed):]
	wasDown := s.down
	s.down = false
	if s.local != nil && s.local.empty() {
		s.local = nil
	}
	s.mu.Unlock()
	if wasDown {
		s.log.Info("redisstore: redis reachable again: shared state resumed", "key", s.keys[0], "replayed_admissions", n, "replayed_charges", len(charges))
		s.signal()
	}
	return nil
}
