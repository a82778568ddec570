package breaker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroSource is a rand.Source without jitter.
type zeroSource struct{}

func (zeroSource) Uint64() uint64 { return 0 }

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// rig drives a core on a fake time line.
type rig struct {
	t   *testing.T
	m   *core
	now time.Time
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	require.NoError(t, cfg.Validate())
	if cfg.Rand == nil {
		cfg.Rand = zeroSource{}
	}
	return &rig{t: t, m: newCore(cfg.withDefaults()), now: t0}
}

func (r *rig) wait(d time.Duration) { r.now = r.now.Add(d) }

func (r *rig) allow() Permit {
	r.t.Helper()
	p, err := r.m.allow(r.now)
	require.NoError(r.t, err, "allow in %v", r.m.state)
	return p
}

func (r *rig) refused() *OpenError {
	r.t.Helper()
	_, err := r.m.allow(r.now)
	require.ErrorIs(r.t, err, ErrCircuitOpen)
	oe, ok := err.(*OpenError)
	require.True(r.t, ok, "%T", err)
	return oe
}

func (r *rig) call(o Outcome) { r.m.report(r.allow(), o, r.now) }

func (r *rig) calls(n int, o Outcome) {
	for range n {
		r.call(o)
	}
}

// trip opens a closed circuit with consecutive failures.
func (r *rig) trip() {
	r.t.Helper()
	for i := 0; r.m.state == StateClosed; i++ {
		require.Less(r.t, i, r.m.cfg.FailureThreshold)
		r.call(Failure)
	}
	require.Equal(r.t, StateOpen, r.m.state)
}

// halfOpen trips the circuit and waits out its open time.
func (r *rig) halfOpen() {
	r.t.Helper()
	if r.m.state != StateOpen {
		r.trip()
	}
	r.wait(r.m.openUntil.Sub(r.now))
	r.m.advance(r.now)
	require.Equal(r.t, StateHalfOpen, r.m.state)
}

func TestCoreClosedTripRules(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		outcomes []Outcome
		want     State
	}{
		{"four failures stay closed", Config{}, repeat(4, Failure), StateClosed},
		{"five consecutive failures open", Config{}, repeat(5, Failure), StateOpen},
		{"a success resets the run", Config{}, concat(repeat(4, Failure), []Outcome{Success}, repeat(4, Failure)), StateClosed},
		{"ignored does not reset the run", Config{}, concat(repeat(4, Failure), []Outcome{Ignored}, repeat(1, Failure)), StateOpen},
		{"ignored does not count as failure", Config{}, repeat(20, Ignored), StateClosed},
		{"threshold is configurable", Config{FailureThreshold: 2}, repeat(2, Failure), StateOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.cfg)
			for _, o := range tt.outcomes {
				r.call(o)
			}
			assert.Equal(t, tt.want, r.m.state)
		})
	}
}

func repeat(n int, o Outcome) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func concat(parts ...[]Outcome) []Outcome {
	var out []Outcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCoreOpenRefusesUntilTimeout(t *testing.T) {
	r := newRig(t, Config{})
	r.trip()
	oe := r.refused()
	assert.Equal(t, StateOpen, oe.State)
	assert.Equal(t, 60*time.Second, oe.RetryAfter)

	r.wait(59*time.Second + 500*time.Millisecond)
	assert.Equal(t, 500*time.Millisecond, r.refused().RetryAfter)
	r.wait(400*time.Millisecond + 1)
	assert.Equal(t, 100*time.Millisecond, r.refused().RetryAfter, "rounded up to a millisecond")

	r.wait(100 * time.Millisecond)
	r.allow()
	assert.Equal(t, StateHalfOpen, r.m.state, "allow after the open time moves to half-open")
	assert.Equal(t, uint64(3), r.m.stats().Refused)
}

func TestCoreHalfOpen(t *testing.T) {
	t.Run("successes in a row close", func(t *testing.T) {
		r := newRig(t, Config{})
		r.halfOpen()
		r.call(Success)
		assert.Equal(t, StateHalfOpen, r.m.state)
		r.call(Success)
		assert.Equal(t, StateClosed, r.m.state)
	})
	t.Run("probe cap", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 2, SuccessThreshold: 3})
		r.halfOpen()
		p1, p2 := r.allow(), r.allow()
		oe := r.refused()
		assert.Equal(t, StateHalfOpen, oe.State)
		assert.Zero(t, oe.RetryAfter)
		assert.ErrorIs(t, r.m.check(r.now), ErrCircuitOpen)
		r.m.report(p1, Success, r.now)
		p3 := r.allow()
		r.refused()
		r.m.report(p2, Success, r.now)
		r.m.report(p3, Success, r.now)
		assert.Equal(t, StateClosed, r.m.state)
	})
	t.Run("check takes no slot", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 1})
		r.halfOpen()
		for range 3 {
			require.NoError(t, r.m.check(r.now))
		}
		r.allow()
		assert.ErrorIs(t, r.m.check(r.now), ErrCircuitOpen)
	})
	t.Run("ignored frees a slot and counts neither way", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 1})
		r.halfOpen()
		r.call(Success)
		p := r.allow()
		r.refused()
		r.m.report(p, Ignored, r.now)
		assert.Equal(t, StateHalfOpen, r.m.state)
		assert.Equal(t, 1, r.m.counts.ConsecutiveSuccesses, "ignored breaks no run")
		r.call(Success)
		assert.Equal(t, StateClosed, r.m.state)
	})
	t.Run("unknown outcome is ignored", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 1})
		r.halfOpen()
		r.call(Outcome(42))
		assert.Equal(t, StateHalfOpen, r.m.state)
		assert.Equal(t, uint64(1), r.m.counts.Ignored)
		r.allow()
	})
	t.Run("a probe reported twice counts once", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 2})
		r.halfOpen()
		p1, p2 := r.allow(), r.allow()
		r.m.report(p1, Success, r.now)
		r.m.report(p1, Success, r.now)
		assert.Equal(t, StateHalfOpen, r.m.state)
		assert.Equal(t, 1, r.m.counts.ConsecutiveSuccesses)
		r.allow()
		r.refused() // p2 and the new probe hold both slots
		r.m.report(p2, Success, r.now)
		assert.Equal(t, StateClosed, r.m.state)
	})
	t.Run("a failure re-opens", func(t *testing.T) {
		r := newRig(t, Config{})
		r.halfOpen()
		r.call(Success)
		r.call(Failure)
		assert.Equal(t, StateOpen, r.m.state)
	})
}

func TestCoreBackoff(t *testing.T) {
	r := newRig(t, Config{Timeout: 10 * time.Second, MaxTimeout: 100 * time.Second})
	r.trip()
	assert.Equal(t, 10*time.Second, r.m.openFor)
	for _, want := range []time.Duration{20, 40, 80, 100, 100} {
		r.halfOpen()
		r.call(Failure)
		require.Equal(t, StateOpen, r.m.state)
		assert.Equal(t, want*time.Second, r.m.openFor)
		assert.Equal(t, r.now.Add(want*time.Second), r.m.openUntil)
	}
	r.halfOpen()
	r.calls(2, Success)
	require.Equal(t, StateClosed, r.m.state)
	r.trip()
	assert.Equal(t, 10*time.Second, r.m.openFor, "closing resets the backoff")
}

func TestCoreJitterBounds(t *testing.T) {
	const timeout, maxTimeout = 10 * time.Second, 100 * time.Second
	for seed := range uint64(200) {
		cfg := Config{Timeout: timeout, MaxTimeout: maxTimeout, Rand: rand.NewPCG(seed, seed)}
		r := newRig(t, cfg)
		r.trip()
		require.Equal(t, timeout, r.m.openFor, "no jitter on a trip from closed")
		base := timeout
		for range 5 {
			r.halfOpen()
			r.call(Failure)
			base = min(2*base, maxTimeout)
			got := r.m.openFor
			if got < base || got > min(base+base/10, maxTimeout) {
				t.Fatalf("seed %d: open time %v outside [%v, %v]", seed, got, base, min(base+base/10, maxTimeout))
			}
		}
	}
	// The jitter is there: the same re-open differs between sources.
	openFor := func(src rand.Source) time.Duration {
		r := newRig(t, Config{Timeout: timeout, MaxTimeout: maxTimeout, Rand: src})
		r.halfOpen()
		r.call(Failure)
		return r.m.openFor
	}
	assert.Equal(t, 20*time.Second, openFor(zeroSource{}))
	assert.Greater(t, openFor(rand.NewPCG(1, 2)), 20*time.Second)
}

func TestCoreGenerations(t *testing.T) {
	t.Run("closed permit reported after trip changes nothing", func(t *testing.T) {
		r := newRig(t, Config{})
		old := r.allow()
		r.trip()
		r.halfOpen()
		r.m.report(old, Failure, r.now)
		assert.Equal(t, StateHalfOpen, r.m.state, "a stale failure does not re-open")
		assert.Equal(t, 0, r.m.counts.ConsecutiveFailures)
		assert.Equal(t, uint64(6), r.m.totals.Failures, "but it counts in the totals")
	})
	t.Run("stale success does not close", func(t *testing.T) {
		r := newRig(t, Config{SuccessThreshold: 1})
		old := r.allow()
		r.halfOpen()
		r.m.report(old, Success, r.now)
		assert.Equal(t, StateHalfOpen, r.m.state)
	})
	t.Run("probe of an older half-open frees no slot of the new one", func(t *testing.T) {
		r := newRig(t, Config{HalfOpenRequests: 2})
		r.halfOpen()
		old, failing := r.allow(), r.allow()
		r.m.report(failing, Failure, r.now)
		r.halfOpen()
		r.allow()
		r.allow()
		r.m.report(old, Success, r.now)
		assert.Len(t, r.m.probes, 2)
		r.refused()
	})
	t.Run("stale failure in closed does not count towards a trip", func(t *testing.T) {
		r := newRig(t, Config{})
		var old []Permit
		for range 5 {
			old = append(old, r.allow())
		}
		r.halfOpen()
		r.calls(2, Success)
		require.Equal(t, StateClosed, r.m.state)
		for _, p := range old {
			r.m.report(p, Failure, r.now)
		}
		assert.Equal(t, StateClosed, r.m.state)
	})
	t.Run("zero permit is ignored", func(t *testing.T) {
		r := newRig(t, Config{})
		r.m.report(Permit{}, Failure, r.now)
		assert.Equal(t, uint64(0), r.m.totals.Failures)
	})
}

func TestCoreEvents(t *testing.T) {
	r := newRig(t, Config{})
	r.calls(2, Success)
	r.trip()
	r.halfOpen()
	r.call(Success)
	r.call(Failure)
	ev := r.m.takeEvents()
	require.Len(t, ev, 3)
	assert.Equal(t, Event{From: StateClosed, To: StateOpen, At: t0, Counts: Counts{
		Requests: 7, Successes: 2, Failures: 5, ConsecutiveFailures: 5,
	}}, ev[0])
	assert.Equal(t, Event{From: StateOpen, To: StateHalfOpen, At: t0.Add(60 * time.Second)}, ev[1])
	assert.Equal(t, Event{From: StateHalfOpen, To: StateOpen, At: t0.Add(60 * time.Second), Counts: Counts{
		Requests: 2, Successes: 1, Failures: 1, ConsecutiveFailures: 1,
	}}, ev[2])
	assert.Empty(t, r.m.takeEvents())
}

func TestCoreStats(t *testing.T) {
	r := newRig(t, Config{})
	r.call(Success)
	r.call(Ignored)
	r.calls(2, Failure)
	s := r.m.stats()
	assert.Equal(t, Stats{
		State: StateClosed, ConsecutiveFailures: 2,
		Counts:      Counts{Requests: 4, Successes: 1, Failures: 2, Ignored: 1, ConsecutiveFailures: 2},
		OpenTimeout: 60 * time.Second,
	}, s)
	r.trip()
	r.refused()
	s = r.m.stats()
	assert.Equal(t, StateOpen, s.State)
	assert.Equal(t, uint64(1), s.Refused)
	assert.Equal(t, r.now.Add(60*time.Second), s.NextHalfOpen)
	r.halfOpen()
	r.allow()
	s = r.m.stats()
	assert.Equal(t, 1, s.Probes)
	assert.True(t, s.NextHalfOpen.IsZero())
	assert.Equal(t, 120*time.Second, s.OpenTimeout, "what a failing probe would cause")
}

func TestCoreRecoverSafe(t *testing.T) {
	r := newRig(t, Config{HalfOpenRequests: 1})
	r.halfOpen()
	p := r.allow()
	r.m.recoverSafe(r.now)
	assert.Equal(t, StateClosed, r.m.state)
	assert.Empty(t, r.m.probes)
	r.m.report(p, Failure, r.now)
	assert.Equal(t, 0, r.m.counts.ConsecutiveFailures, "outstanding permits are stale")
}

// The fleet's answer to this process's own trip can come late, after the
// local open time is over: it does not re-open the half-open circuit.
func TestLateAnswerToOwnTripDoesNotReopen(t *testing.T) {
	r := newRig(t, Config{})
	r.trip()
	pub, seen := r.m.takePublish()
	require.Equal(t, publishTrip, pub)
	r.halfOpen()
	r.m.adopt(Fleet{Gen: seen + 1, Open: 60 * time.Second}, r.now) // stored late, counted from then
	assert.Equal(t, StateHalfOpen, r.m.state)
	// Another process's later trip still opens it.
	r.m.adopt(Fleet{Gen: seen + 2, Open: 30 * time.Second}, r.now)
	assert.Equal(t, StateOpen, r.m.state)
}
