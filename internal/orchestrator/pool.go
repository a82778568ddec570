package orchestrator

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
)

// PoolConfig configures the warm processes: spares started ahead of the
// queries that claim them, and (Reuse) processes kept after a query for
// the next one of the same key. The zero value keeps none.
type PoolConfig struct {
	// Spares is how many processes are kept parked for each key seen
	// (cli.Request.WarmKey) or declared (Prewarm); 0: none.
	Spares int
	// MaxParked caps the parked processes in all, spares being started
	// and reused processes included; 0: none. They do not count toward
	// the limiter's MaxConcurrent, which caps running queries.
	MaxParked int
	// MaxAge: a process older than this is never handed out; a parked one
	// is stopped at that age (and replaced when its key was used since it
	// started, or was declared). 0: no limit.
	MaxAge time.Duration
	// Reuse keeps the process of a query that ended with its answer: it is
	// reset with /clear and parked for the next query of the same key and
	// initialize, up to MaxUses queries and MaxAge.
	Reuse   bool
	MaxUses int
}

// PoolStats counts what the pool did.
type PoolStats struct {
	Parked   int // parked processes ready now
	Starting int // spares being started
	InUse    int // warm processes serving a query now
	Hits     int64
	Misses   int64 // queries of a poolable key that found no live process
	Started  int64 // spares started
	Reused   int64 // processes parked again after a query
	Expired  int64 // parked processes stopped at MaxAge
	Died     int64 // parked processes that exited by themselves
	Evicted  int64 // parked processes stopped to make room for another key's
}

// pool keeps the warm processes. It is safe for concurrent use; close
// stops every process it holds and waits for its goroutines.
type pool struct {
	cfg   PoolConfig
	opt   cli.Options
	clock clock.Clock
	log   *slog.Logger

	mu       sync.Mutex
	closed   bool
	keys     map[string]*poolKey
	parked   int                    // in all, starting ones included
	starting int                    // spares being started
	inUse    map[*cli.Warm]struct{} // claimed: stopped by close
	uses     uint64                 // queries seen, to order the keys by their last use
	stats    PoolStats
	wg       sync.WaitGroup // starts, watches, stops
}

// poolKey is what the pool knows of one key.
type poolKey struct {
	key      string
	spec     cli.Request         // starts a spare
	parked   map[string][]*spare // by reuse key (the key itself for spares), oldest first
	starting int
	started  chan struct{} // closed (and replaced) when a start of the key's ends
	inUse    int
	used     uint64 // the pool's count of queries at the key's last one
	declared bool
}

// spare is one parked process.
type spare struct {
	w     *cli.Warm
	pk    *poolKey
	reuse string
	born  time.Time // the process's start
	// usedAtBirth is its key's last use when it was parked: a later one
	// makes it worth replacing at its max age.
	usedAtBirth uint64
	timer       *clock.Timer
	gone        chan struct{} // closed when it leaves the parked list
}

func newPool(cfg PoolConfig, opt cli.Options, c clock.Clock, log *slog.Logger) *pool {
	return &pool{cfg: cfg, opt: opt, clock: c, log: log, keys: make(map[string]*poolKey), inUse: make(map[*cli.Warm]struct{})}
}

// claimed tells the pool how a query it served goes: ended once its
// stream has returned (a spare can start then: the query's CLI is done
// with its turn), settled once it has settled (its Reaped).
type claimed struct{ ended, settled func() }

var unclaimed = claimed{ended: func() {}, settled: func() {}}

// claim finds a parked process for req (an admitted query) and sets
// req.Warm (and req.Reuse when the process may serve again); with Reuse
// and none parked, it starts one for req. A request no warm process may
// serve is left as it is.
func (p *pool) claim(ctx context.Context, req *cli.Request) claimed {
	if p.cfg.MaxParked <= 0 {
		return unclaimed
	}
	key, reuse, ok := req.WarmKey()
	if !ok {
		return unclaimed
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return unclaimed
	}
	pk := p.keyLocked(key, req)
	p.touchLocked(pk)
	s, stale := pk.take(p.clock.Now(), p.cfg.MaxAge, reuse)
	if s == nil && pk.starting > 0 {
		// A spare of the key is being started (a refill after the query
		// before): wait for it rather than start a second CLI beside it.
		started := pk.started
		p.mu.Unlock()
		p.stopAll(stale)
		awaitStart(ctx, started)
		p.mu.Lock()
		s, stale = pk.take(p.clock.Now(), p.cfg.MaxAge, reuse)
	}
	p.parked -= len(stale)
	var born time.Time
	if s != nil {
		p.parked--
		p.stats.Hits++
		born = s.born
	} else {
		p.stats.Misses++
	}
	p.mu.Unlock()
	p.stopAll(stale)

	var w *cli.Warm
	switch {
	case s != nil:
		w = s.w
	case p.cfg.Reuse:
		// Started now for this query, so that it can be kept after it.
		started, err := cli.StartWarm(*req, p.opt)
		if err != nil {
			return unclaimed // the stream starts it cold and reports why
		}
		w, born = started, p.clock.Now()
	default:
		refill := func() { p.refill(pk) }
		return claimed{ended: refill, settled: refill}
	}
	p.mu.Lock()
	pk.inUse++
	p.inUse[w] = struct{}{}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		w.Stop() // close ran meanwhile: the stream ends at once
	}
	req.Warm = w
	comesBack := p.cfg.Reuse && w.Uses()+1 < p.cfg.MaxUses
	if comesBack {
		// park refills, once the process is back or refused.
		req.Reuse = func(w *cli.Warm) { p.park(w, pk, reuse, born) }
	}
	return claimed{
		ended: func() {
			if !comesBack {
				p.refill(pk) // a refill counts neither this process nor a second start
			}
		},
		settled: func() {
			p.mu.Lock()
			pk.inUse--
			delete(p.inUse, w)
			p.mu.Unlock()
			// A process coming back is alive here (Reaped precedes Reuse);
			// one that does not was ended before Reaped.
			if !comesBack || !w.Alive() {
				p.refill(pk)
			}
		},
	}
}

// touchLocked records a use of pk.
func (p *pool) touchLocked(pk *poolKey) {
	p.uses++
	pk.used = p.uses
}

// awaitStart waits until started is closed (a start of the key's ended),
// bounded by ctx and by maxStartWait: starting is a fork and exec.
func awaitStart(ctx context.Context, started <-chan struct{}) {
	t := time.NewTimer(maxStartWait)
	defer t.Stop()
	select {
	case <-started:
	case <-ctx.Done():
	case <-t.C:
	}
}

// maxStartWait bounds a query's wait for a spare being started.
const maxStartWait = 2 * time.Second

// keyLocked returns the pool's record of key, made from req if new.
func (p *pool) keyLocked(key string, req *cli.Request) *poolKey {
	pk := p.keys[key]
	if pk == nil {
		pk = &poolKey{key: key, spec: *req, parked: make(map[string][]*spare), started: make(chan struct{})}
		pk.spec.Prompt, pk.spec.Initialize, pk.spec.Handlers = "", nil, nil
		pk.spec.Drain, pk.spec.Reaped, pk.spec.Warm, pk.spec.Reuse, pk.spec.TraceEnv = nil, nil, nil, nil, nil
		p.keys[key] = pk
	}
	return pk
}

// take removes and returns the oldest live parked process of reuse (or,
// failing that, a fresh spare of the key), with the dead and too old
// ones it passed, which are removed too.
func (pk *poolKey) take(now time.Time, maxAge time.Duration, reuse string) (got *spare, stale []*spare) {
	for _, k := range []string{reuse, pk.key} {
		list := pk.parked[k]
		for len(list) > 0 && got == nil {
			s := list[0]
			list = list[1:]
			s.leave()
			if s.w.Alive() && (maxAge <= 0 || now.Sub(s.born) < maxAge) {
				got = s
			} else {
				stale = append(stale, s)
			}
		}
		pk.parked[k] = list
		if got != nil {
			break
		}
	}
	return got, stale
}

// leave marks s as no longer parked: its timer and watch end.
func (s *spare) leave() {
	if s.timer != nil {
		s.timer.Stop()
	}
	close(s.gone)
}

// count is how many processes the key has parked.
func (pk *poolKey) count() int {
	n := pk.starting
	for _, list := range pk.parked {
		n += len(list)
	}
	return n
}

// refill starts the spares pk lacks, within MaxParked (stopping the
// least recently used other key's parked processes to make room).
func (p *pool) refill(pk *poolKey) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	want := p.cfg.Spares - pk.count()
	if p.cfg.Reuse {
		want -= pk.inUse // they come back
	}
	var evicted []*spare
	for ; want > 0; want-- {
		if p.parked >= p.cfg.MaxParked {
			s := p.victimLocked(pk)
			if s == nil {
				break
			}
			evicted = append(evicted, s)
		}
		p.parked++
		p.starting++
		pk.starting++
		p.wg.Add(1)
		go p.start(pk)
	}
	p.mu.Unlock()
	p.stopAll(evicted)
}

// victimLocked removes and returns the oldest parked process of the least
// recently used key other than pk that was used before it, if any.
func (p *pool) victimLocked(pk *poolKey) *spare {
	var victim *poolKey
	for _, k := range p.keys {
		if k == pk || k.declared || k.used >= pk.used || k.count() == k.starting {
			continue
		}
		if victim == nil || k.used < victim.used {
			victim = k
		}
	}
	if victim == nil {
		return nil
	}
	for rk, list := range victim.parked {
		if len(list) > 0 {
			s := list[0]
			victim.parked[rk] = list[1:]
			s.leave()
			p.parked--
			p.stats.Evicted++
			return s
		}
	}
	return nil
}

// start starts one spare of pk and parks it.
func (p *pool) start(pk *poolKey) {
	defer p.wg.Done()
	w, err := cli.StartWarm(pk.spec, p.opt)
	p.mu.Lock()
	pk.starting--
	p.starting--
	close(pk.started)
	pk.started = make(chan struct{})
	if err != nil || p.closed {
		p.parked--
		p.mu.Unlock()
		if err != nil {
			p.log.Warn("warm pool: spare not started", "error", err.Error())
			return
		}
		w.Close()
		return
	}
	p.stats.Started++
	p.addLocked(w, pk, pk.key, p.clock.Now())
	p.mu.Unlock()
}

// park takes back the process of a query that ended with its answer (the
// Reuse of its request), unless it is too old, the pool is full or closed.
func (p *pool) park(w *cli.Warm, pk *poolKey, reuse string, born time.Time) {
	now := p.clock.Now()
	p.mu.Lock()
	if p.closed || p.parked >= p.cfg.MaxParked || !w.Alive() || (p.cfg.MaxAge > 0 && now.Sub(born) >= p.cfg.MaxAge) {
		p.mu.Unlock()
		p.closeLater(w)
		p.refill(pk)
		return
	}
	p.parked++
	p.stats.Reused++
	p.addLocked(w, pk, reuse, born)
	p.mu.Unlock()
}

// addLocked parks w under reuse, with a timer for its age and a watch for
// its death; p.parked already counts it.
func (p *pool) addLocked(w *cli.Warm, pk *poolKey, reuse string, born time.Time) {
	s := &spare{w: w, pk: pk, reuse: reuse, born: born, usedAtBirth: pk.used, gone: make(chan struct{})}
	if p.cfg.MaxAge > 0 {
		s.timer = p.clock.AfterFunc(p.cfg.MaxAge-p.clock.Now().Sub(born), func() { p.expire(s) })
	}
	pk.parked[reuse] = append(pk.parked[reuse], s)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-w.Exited():
			p.died(s)
		case <-s.gone:
		}
	}()
}

// removeLocked takes s off its key's parked list; false if it had left.
func (p *pool) removeLocked(s *spare) bool {
	list := s.pk.parked[s.reuse]
	i := slices.Index(list, s)
	if i < 0 {
		return false
	}
	s.pk.parked[s.reuse] = slices.Delete(list, i, i+1)
	s.leave()
	p.parked--
	return true
}

// expire stops a parked process at MaxAge, and replaces it if its key was
// used since it started, or was declared.
func (p *pool) expire(s *spare) {
	p.mu.Lock()
	if p.closed || !p.removeLocked(s) {
		p.mu.Unlock()
		return
	}
	p.stats.Expired++
	replace := s.pk.declared || s.pk.used > s.usedAtBirth
	p.mu.Unlock()
	p.stopAll([]*spare{s})
	if replace {
		p.refill(s.pk)
	}
}

// died drops a parked process that exited by itself. It is not replaced
// until its key's next query: a CLI that cannot start must not be
// restarted in a loop.
func (p *pool) died(s *spare) {
	p.mu.Lock()
	if !p.removeLocked(s) {
		p.mu.Unlock()
		return
	}
	p.stats.Died++
	p.mu.Unlock()
	err := s.w.ExitError()
	s.w.Close()
	p.log.Warn("warm pool: a parked claude CLI exited", "error", err.Error())
}

// stopAll closes parked processes that have left their list (see
// closeLater).
func (p *pool) stopAll(list []*spare) {
	for _, s := range list {
		p.closeLater(s.w)
	}
}

// closeLater closes w in the background, on a goroutine close waits for;
// once close has begun, here and now.
func (p *pool) closeLater(w *cli.Warm) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.Close()
		return
	}
	p.goClose(w)
	p.mu.Unlock()
}

// goClose closes w on a goroutine close waits for.
func (p *pool) goClose(w *cli.Warm) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		w.Close()
	}()
}

// prewarm declares req's key: its spares are started now and kept.
func (p *pool) prewarm(req *cli.Request) bool {
	if p.cfg.MaxParked <= 0 || p.cfg.Spares <= 0 {
		return false
	}
	key, _, ok := req.WarmKey()
	if !ok {
		return false
	}
	p.mu.Lock()
	pk := p.keyLocked(key, req)
	pk.declared = true
	p.touchLocked(pk)
	p.mu.Unlock()
	p.refill(pk)
	return true
}

// Stats returns the pool's counts.
func (p *pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Parked, st.Starting, st.InUse = p.parked-p.starting, p.starting, len(p.inUse)
	return st
}

// close stops every parked process and asks the claimed ones to stop
// (their queries end), then waits for the pool's goroutines; the pool
// parks nothing after.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var parked []*spare
	for _, pk := range p.keys {
		for rk, list := range pk.parked {
			for _, s := range list {
				s.leave()
			}
			parked = append(parked, list...)
			delete(pk.parked, rk)
		}
	}
	p.parked -= len(parked)
	inUse := make([]*cli.Warm, 0, len(p.inUse))
	for w := range p.inUse {
		inUse = append(inUse, w)
	}
	p.mu.Unlock()
	for _, w := range inUse {
		w.Stop()
	}
	for _, s := range parked {
		p.goClose(s.w) // before Wait, in Wait's goroutine
	}
	p.wg.Wait()
}
