package limiter

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The property tests drive a limiter with random arrivals, costs,
// cancellations and pauses, and check every admission against an oracle
// written independently of the core: the window invariant (admissions in
// any interval of length T never exceed capacity + rate×T), the hourly
// budget, the concurrency cap, the pauses, and, for the pure core, that no
// waiter waits past its first admissible moment plus one tick.

// tick is the slack allowed between the oracle's first admissible moment
// and the core's admission (float seconds against integer nanoseconds).
const tick = time.Millisecond

// windowOracle checks the invariant of one window over a sequence of
// admission times. With f(k) = k - rate×a(k) for the k-th admission at
// a(k) seconds, admissions k..j fit in the interval [a(k), a(j)] iff
// f(j) - f(k) <= capacity-1, so tracking min f suffices.
type windowOracle struct {
	capacity float64
	rate     float64 // tokens per second
	n        int     // admissions so far
	minF     float64
}

// newWindowOracle returns the oracle of capacity tokens per period, nil
// for an Unlimited window.
func newWindowOracle(capacity int, period time.Duration) *windowOracle {
	if capacity <= 0 {
		return nil
	}
	return &windowOracle{capacity: float64(capacity), rate: float64(capacity) / period.Seconds()}
}

// admit records an admission at s seconds and reports whether the
// invariant still holds.
func (w *windowOracle) admit(s float64) bool {
	f := float64(w.n) - w.rate*s
	ok := w.n == 0 || f-w.minF <= w.capacity-1+1e-6
	if w.n == 0 || f < w.minF {
		w.minF = f
	}
	w.n++
	return ok
}

// earliest returns the first time in seconds at which one more admission
// keeps the invariant.
func (w *windowOracle) earliest() float64 {
	if w.n == 0 {
		return math.Inf(-1)
	}
	return (float64(w.n) - w.minF - w.capacity + 1) / w.rate
}

// oracle is the independent model of all limits for the core simulation.
type oracle struct {
	start        time.Time
	minute, hour *windowOracle
	budget       float64        // < 0: off
	queryBudget  float64        // the default cap
	minBudget    float64        // the least cap that admits a query
	charges      []oracleCharge // the last hour's
	sum          float64        // of charges
	reserved     map[uint64]float64
	maxInFlight  int
	pausedUntil  time.Time
}

func newOracle(cfg Config, start time.Time) *oracle {
	cfg = cfg.withDefaults()
	return &oracle{
		start:       start,
		minute:      newWindowOracle(cfg.QueriesPerMinute, time.Minute),
		hour:        newWindowOracle(cfg.QueriesPerHour, time.Hour),
		budget:      cfg.CostBudgetHourly,
		queryBudget: cfg.QueryBudget,
		minBudget:   cfg.MinQueryBudget,
		reserved:    make(map[uint64]float64),
		maxInFlight: cfg.MaxConcurrent,
	}
}

// secs returns t in seconds since the start.
func (o *oracle) secs(t time.Time) float64 { return t.Sub(o.start).Seconds() }

// spent returns the charges in (now-1h, now]. Time only moves forward,
// so older charges are dropped.
func (o *oracle) spent(now time.Time) float64 {
	for len(o.charges) > 0 && !o.charges[0].at.After(now.Add(-time.Hour)) {
		o.sum -= o.charges[0].usd
		o.charges = o.charges[1:]
	}
	if len(o.charges) == 0 {
		o.sum = 0
	}
	return o.sum
}

func (o *oracle) reservedSum() float64 {
	s := 0.0
	for _, r := range o.reserved {
		s += r
	}
	return s
}

// capOf returns the cap a query asking for want (0: the default) asks,
// and the least unreserved budget that admits it.
func (o *oracle) capOf(want float64) (capUSD, need float64) {
	if want == 0 {
		want = o.queryBudget
	}
	return want, min(want, o.minBudget)
}

// firstAdmissible returns the earliest time, not before now, at which the
// head of the queue may be admitted if nothing else happens; ok is false
// when that waits for a settle. It errs late (a budget margin), never
// early.
func (o *oracle) firstAdmissible(now time.Time, want float64) (time.Time, bool) {
	if o.maxInFlight >= 0 && len(o.reserved) >= o.maxInFlight {
		return time.Time{}, false
	}
	e := o.secs(now)
	for _, w := range []*windowOracle{o.minute, o.hour} {
		if w != nil {
			e = max(e, w.earliest())
		}
	}
	e = max(e, o.secs(o.pausedUntil))
	if o.budget >= 0 {
		_, need := o.capOf(want)
		margin := 1e-9 // errs late
		reserved := o.reservedSum()
		if reserved > o.budget-need-margin {
			return time.Time{}, false
		}
		s := o.spent(now)
		for _, c := range o.charges {
			if s+reserved <= o.budget-need-margin {
				break
			}
			s -= c.usd
			e = max(e, o.secs(c.at.Add(time.Hour)))
		}
	}
	return o.start.Add(time.Duration(e * 1e9)), true
}

// admit checks an admission against every limit and records it.
func (o *oracle) admit(t *testing.T, now time.Time, p Permit, want float64) {
	t.Helper()
	s := o.secs(now)
	if o.minute != nil {
		require.True(t, o.minute.admit(s), "minute window invariant broken at %v", now)
	}
	if o.hour != nil {
		require.True(t, o.hour.admit(s), "hour window invariant broken at %v", now)
	}
	if o.maxInFlight >= 0 {
		require.Less(t, len(o.reserved), o.maxInFlight, "concurrency cap broken at %v", now)
	}
	require.False(t, now.Before(o.pausedUntil), "admitted at %v while paused until %v", now, o.pausedUntil)
	if o.budget < 0 {
		require.Equal(t, want, p.CapUSD, "with the budget off the cap is what was asked")
		o.reserved[p.id] = 0
		return
	}
	// The invariant: a query's cap is at most the unreserved budget at
	// its admission, and at least its need.
	unreserved := o.budget - o.spent(now) - o.reservedSum()
	capUSD, need := o.capOf(want)
	require.GreaterOrEqual(t, unreserved, need-1e-9, "admitted at %v with less than its need unreserved", now)
	require.LessOrEqual(t, p.CapUSD, unreserved+1e-9, "a cap above the unreserved budget at %v", now)
	require.InDelta(t, min(capUSD, unreserved), p.CapUSD, 1e-9)
	require.GreaterOrEqual(t, p.CapUSD, MinCapUSD)
	o.reserved[p.id] = p.CapUSD
}

// settle records a settle and checks the budget over the last hour: the
// spend is at most the budget plus what the queries charged in that hour
// spent past their caps (the in-answer bound of the orchestrator).
func (o *oracle) settle(t *testing.T, now time.Time, id uint64, usd float64) {
	t.Helper()
	over := max(0, usd-o.reserved[id])
	delete(o.reserved, id)
	if usd > 0 {
		o.charges = append(o.charges, oracleCharge{at: now, usd: usd, over: over})
		o.sum += usd
	}
	if o.budget >= 0 {
		o.spent(now)
		overs := 0.0
		for _, c := range o.charges {
			overs += c.over
		}
		require.LessOrEqual(t, o.sum, o.budget+overs+1e-9, "more than the budget (+%v past caps) charged in the hour before %v", overs, now)
	}
}

// oracleCharge is one settled cost, with what it spent past its cap.
type oracleCharge struct {
	at        time.Time
	usd, over float64
}

// simScenario is one random workload.
type simScenario struct {
	name     string
	cfg      Config
	busy     time.Duration // mean time between arrivals in even hours
	quiet    time.Duration // mean time between arrivals in odd hours
	patience time.Duration // mean time a waiter waits before cancelling
	runFor   time.Duration // maximum query duration (uniform from 1 s)
	pauses   time.Duration // mean time between pauses
	// want draws the cap a query asks for (0: the default); nil: 0.
	want func(rng *rand.Rand) float64
	// cost returns the actual cost of a query from a uniform draw u and
	// its cap. It may pass the cap by what the orchestrator's in-answer
	// watch lets through.
	cost func(u, capUSD float64) float64
	// binds lists the limits the workload is meant to hit; the test
	// fails if one never held a waiter back, since it would prove little.
	binds []Reason
}

// arrivalGap draws the time to the next arrival after at.
func (sc simScenario) arrivalGap(rng *rand.Rand, at time.Time) time.Duration {
	if int(at.Sub(t0)/time.Hour)%2 == 0 {
		return expDuration(rng, sc.busy)
	}
	return expDuration(rng, sc.quiet)
}

var simScenarios = []simScenario{
	{
		name:     "default caps, six at once",
		cfg:      Config{QueriesPerMinute: 20, QueriesPerHour: 300, CostBudgetHourly: 20, MaxConcurrent: 6, MaxQueued: Unlimited},
		busy:     2 * time.Second,
		quiet:    40 * time.Second,
		patience: 2 * time.Minute,
		runFor:   20 * time.Second,
		pauses:   2 * time.Hour,
		cost: func(u, capUSD float64) float64 {
			if u < 0.02 {
				return capUSD // a crash with no usage seen: the whole reservation
			}
			return u * u * capUSD * 0.05
		},
		binds: []Reason{ReasonMinute, ReasonHour, ReasonBudget, ReasonConcurrency, ReasonPaused},
	},
	{
		name:     "caps asked for, one at a time, some spent past",
		cfg:      Config{QueriesPerMinute: 3, QueriesPerHour: 200, CostBudgetHourly: 12, MaxConcurrent: 1, MaxQueued: Unlimited},
		busy:     5 * time.Second,
		quiet:    time.Minute,
		patience: 10 * time.Minute,
		runFor:   30 * time.Second,
		pauses:   3 * time.Hour,
		want: func(rng *rand.Rand) float64 {
			if rng.IntN(3) == 0 {
				return 0
			}
			return MinCapUSD + rng.Float64()*2
		},
		cost: func(u, capUSD float64) float64 {
			if u > 0.9 {
				return capUSD + 0.004 // stopped a stream event past its cap
			}
			return min(capUSD, 0.2*u)
		},
		binds: []Reason{ReasonMinute, ReasonBudget, ReasonConcurrency, ReasonPaused},
	},
}

// simEvent is one scheduled event of the core simulation.
type simEvent struct {
	at   time.Time
	kind int // evArrive, evCancel, evSettle, evPause
	w    *simWaiter
	p    Permit
	cost float64
}

const (
	evSettle = iota
	evCancel
	evPause
	evArrive
)

type simWaiter struct {
	arrival  time.Time
	patience time.Duration
	runFor   time.Duration
	u        float64 // cost draw
	want     float64 // the cap asked for
	first    time.Time
	bounded  bool // first is set
	admitted bool
	gone     bool // cancelled
}

type eventHeap []simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].kind < h[j].kind
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// expDuration draws an exponential duration of the given mean.
func expDuration(rng *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(mean))
}

// TestPropertyCore simulates 24 hours per scenario and seed on the pure
// core, playing the actor's part (FIFO queue, one wake-up time).
func TestPropertyCore(t *testing.T) {
	for _, sc := range simScenarios {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", sc.name, seed), func(t *testing.T) {
				t.Parallel()
				runCoreSim(t, sc, seed, 24*time.Hour)
			})
		}
	}
}

func runCoreSim(t *testing.T, sc simScenario, seed uint64, length time.Duration) {
	rng := rand.New(rand.NewPCG(seed, 42))
	now := t0
	end := t0.Add(length)
	c := testCore(t, sc.cfg)
	o := newOracle(sc.cfg, t0)

	events := &eventHeap{}
	for at := t0.Add(sc.arrivalGap(rng, t0)); at.Before(end); at = at.Add(sc.arrivalGap(rng, at)) {
		w := &simWaiter{
			arrival:  at,
			patience: expDuration(rng, sc.patience),
			runFor:   time.Second + time.Duration(rng.Int64N(int64(sc.runFor))),
			u:        rng.Float64(),
		}
		if sc.want != nil {
			w.want = sc.want(rng)
		}
		heap.Push(events, simEvent{at: at, kind: evArrive, w: w})
	}
	for at := t0.Add(expDuration(rng, sc.pauses)); at.Before(end); at = at.Add(expDuration(rng, sc.pauses)) {
		heap.Push(events, simEvent{at: at, kind: evPause, cost: float64(10*time.Second + time.Duration(rng.Int64N(int64(5*time.Minute))))})
	}

	var queue []*simWaiter
	front := func() *simWaiter {
		for len(queue) > 0 && queue[0].gone {
			queue = queue[1:]
		}
		if len(queue) == 0 {
			return nil
		}
		return queue[0]
	}
	var admitted, cancelled int
	blockedBy := map[Reason]int{}
	admit := func(w *simWaiter, p Permit) {
		if w.bounded {
			require.False(t, now.After(w.first.Add(tick)), "admitted at %v, first admissible at %v", now, w.first)
		}
		o.admit(t, now, p, w.want)
		w.admitted = true
		admitted++
		cost := sc.cost(w.u, p.CapUSD)
		heap.Push(events, simEvent{at: now.Add(w.runFor), kind: evSettle, p: p, cost: cost})
	}

	for {
		var wake time.Time
		head := front()
		if head != nil {
			at, reason, known := c.readyAt(now, 0, 0, c.askFor(KindQuery, head.want))
			blockedBy[reason]++
			if known {
				require.True(t, at.After(now), "the core says ready at %v but did not admit", at)
				wake = at
			}
		}
		next := wake
		if events.Len() > 0 && (next.IsZero() || (*events)[0].at.Before(next)) {
			next = (*events)[0].at
		}
		if next.IsZero() || next.After(end) {
			break
		}
		if head != nil && head.bounded {
			require.False(t, next.After(head.first.Add(tick)), "the head, admissible at %v, still waits at %v", head.first, next)
		}
		now = next

		for events.Len() > 0 && !(*events)[0].at.After(now) {
			e := heap.Pop(events).(simEvent)
			switch e.kind {
			case evArrive:
				if front() == nil {
					if p, ok := c.admit(now, c.askFor(KindQuery, e.w.want)); ok {
						admit(e.w, p)
						continue
					}
				}
				queue = append(queue, e.w)
				heap.Push(events, simEvent{at: now.Add(e.w.patience), kind: evCancel, w: e.w})
			case evCancel:
				if !e.w.admitted && !e.w.gone {
					e.w.gone = true
					cancelled++
				}
			case evSettle:
				c.settle(e.p.id, e.cost, now)
				o.settle(t, now, e.p.id, e.cost)
			case evPause:
				until := now.Add(time.Duration(e.cost))
				c.pause(until)
				o.pausedUntil = maxTime(o.pausedUntil, until)
			}
		}
		for w := front(); w != nil; w = front() {
			p, ok := c.admit(now, c.askFor(KindQuery, w.want))
			if !ok {
				break
			}
			queue = queue[1:]
			admit(w, p)
		}
		if w := front(); w != nil {
			w.first, w.bounded = o.firstAdmissible(now, w.want)
		}
	}
	t.Logf("seed %d: %d admitted, %d cancelled, head blocked by %v", seed, admitted, cancelled, blockedBy)
	for _, r := range sc.binds {
		assert.Positive(t, blockedBy[r], "no waiter was ever held by the %s limit", r)
	}
	assert.Positive(t, cancelled)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestPropertyActor runs a shorter random workload through the actor on
// fake time, one goroutine per query, and checks the admissions it saw.
func TestPropertyActor(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		synctest.Test(t, func(t *testing.T) {
			runActorSim(t, seed, 3*time.Hour)
		})
	}
}

func runActorSim(t *testing.T, seed uint64, length time.Duration) {
	cfg := Config{QueriesPerMinute: 12, QueriesPerHour: 240, CostBudgetHourly: 4, QueryBudget: 0.1, MaxConcurrent: 2, MaxQueued: 50}
	rng := rand.New(rand.NewPCG(seed, 7))
	l := newTestLimiter(t, cfg)
	start := time.Now()

	type admission struct {
		arrival time.Time
		at      time.Time
		id      uint64
	}
	var (
		mu         sync.Mutex
		admissions []admission
		charges    []charge
		inFlight   int
		pauses     [][2]time.Time
		errs       = map[string]int{}
	)
	var wg sync.WaitGroup
	for now := start; now.Before(start.Add(length)); now = time.Now() {
		time.Sleep(expDuration(rng, 4*time.Second))
		if rng.IntN(500) == 0 {
			until := time.Now().Add(time.Duration(rng.Int64N(int64(3 * time.Minute))))
			mu.Lock()
			pauses = append(pauses, [2]time.Time{time.Now(), until})
			mu.Unlock()
			l.Pause(until)
			continue
		}
		patience := expDuration(rng, 3*time.Minute)
		runFor := time.Second + time.Duration(rng.Int64N(int64(time.Minute)))
		u := rng.Float64()
		wg.Go(func() {
			arrival := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), patience)
			defer cancel()
			p, err := l.Acquire(ctx, 0)
			if err != nil {
				mu.Lock()
				errs[err.Error()]++
				mu.Unlock()
				return
			}
			mu.Lock()
			admissions = append(admissions, admission{arrival: arrival, at: time.Now(), id: p.id})
			inFlight++
			assert.LessOrEqual(t, inFlight, cfg.MaxConcurrent)
			mu.Unlock()
			time.Sleep(runFor)
			assert.LessOrEqual(t, p.CapUSD, cfg.QueryBudget)
			cost := u * p.CapUSD
			mu.Lock()
			inFlight--
			charges = append(charges, charge{at: time.Now(), usd: cost})
			mu.Unlock()
			l.Settle(p, cost)
		})
	}
	wg.Wait()
	t.Logf("seed %d: %d admitted, outcomes %v, stats %+v", seed, len(admissions), errs, l.Stats())
	require.NotEmpty(t, errs, "some waiters must give up or be refused")

	sort.Slice(admissions, func(i, j int) bool { return admissions[i].id < admissions[j].id })
	minute := newWindowOracle(cfg.QueriesPerMinute, time.Minute)
	hour := newWindowOracle(cfg.QueriesPerHour, time.Hour)
	for i, a := range admissions {
		s := a.at.Sub(start).Seconds()
		require.True(t, minute.admit(s), "minute invariant broken at %v", a.at)
		require.True(t, hour.admit(s), "hour invariant broken at %v", a.at)
		if i > 0 {
			assert.False(t, a.arrival.Before(admissions[i-1].arrival), "FIFO: admission %d arrived before the one admitted ahead of it", i)
		}
		for _, p := range pauses {
			assert.False(t, !a.at.Before(p[0]) && a.at.Before(p[1]), "admitted at %v during a pause until %v", a.at, p[1])
		}
	}
	for _, c := range charges {
		s := 0.0
		for _, d := range charges {
			if !d.at.After(c.at) && d.at.After(c.at.Add(-time.Hour)) {
				s += d.usd
			}
		}
		require.LessOrEqual(t, s, cfg.CostBudgetHourly+1e-9, "more than the budget charged in the hour before %v", c.at)
	}
}
