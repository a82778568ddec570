package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two breakers sharing one MemoryState stand for two processes of a fleet.

func TestFleetTripOpensTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := NewMemoryState(nil)
		a := newTestBreaker(t, Config{Shared: shared})
		b := newTestBreaker(t, Config{Shared: shared})
		time.Sleep(10 * time.Second)
		for range 5 {
			call(t, a, Failure)
		}
		synctest.Wait() // a publishes, b is notified and loads
		assert.Equal(t, StateOpen, stateOf(b), "a's trip opened b")
		_, err := b.Allow(t.Context())
		assert.Equal(t, 60*time.Second, refusal(t, err).RetryAfter, "for what is left of a's open time")
		assert.Zero(t, b.Stats().Counts.Failures, "b counts only its own outcomes")

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, StateHalfOpen, stateOf(b))
		call(t, b, Success)
		call(t, b, Success)
		synctest.Wait()
		assert.Equal(t, StateClosed, stateOf(b))
		assert.Equal(t, StateClosed, stateOf(a), "b's probes closed a too")
	})
}

func TestFleetJoinsAnOpenFleet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := NewMemoryState(nil)
		_, err := shared.Trip(t.Context(), 0, 30*time.Second)
		require.NoError(t, err)
		b := newTestBreaker(t, Config{Shared: shared})
		synctest.Wait() // the first Load
		_, err = b.Allow(t.Context())
		assert.Equal(t, 30*time.Second, refusal(t, err).RetryAfter)
	})
}

func TestFleetProbesLimitedFleetWide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := NewMemoryState(nil)
		cfg := Config{Shared: shared, HalfOpenRequests: 2, SuccessThreshold: 5}
		a, b := newTestBreaker(t, cfg), newTestBreaker(t, cfg)
		for range 5 {
			call(t, a, Failure)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		pa, err := a.Allow(t.Context())
		require.NoError(t, err)
		pb, err := b.Allow(t.Context())
		require.NoError(t, err)
		_, err = a.Allow(t.Context())
		assert.Equal(t, StateHalfOpen, refusal(t, err).State, "a has a local slot left, the fleet has none")
		_, err = b.Allow(t.Context())
		refusal(t, err)
		assert.Equal(t, 1, a.Stats().Probes, "the refused probe gave its local slot back")
		assert.Equal(t, uint64(1), a.Stats().Counts.Requests-5, "and is not counted as granted")

		b.Report(pb, Success) // b's worker gives the fleet slot back after Report returns
		synctest.Wait()       // two breakers' calls are not ordered: let b's finish
		_, err = a.Allow(t.Context())
		assert.NoError(t, err, "b's slot is free again")
		a.Report(pa, Success)
	})
}

// failingState is a SharedState whose calls fail, or hang until their
// context ends.
type failingState struct {
	hang  bool
	calls atomic.Int32
}

var errDown = errors.New("shared state down")

func (s *failingState) fail(ctx context.Context) error {
	s.calls.Add(1)
	if s.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return errDown
}
func (s *failingState) Trip(ctx context.Context, _ uint64, _ time.Duration) (Fleet, error) {
	return Fleet{}, s.fail(ctx)
}
func (s *failingState) CloseCircuit(ctx context.Context, _ uint64) (Fleet, error) {
	return Fleet{}, s.fail(ctx)
}
func (s *failingState) Load(ctx context.Context) (Fleet, error) { return Fleet{}, s.fail(ctx) }
func (s *failingState) TakeProbe(ctx context.Context, _, _ uint64, _ int) (bool, Fleet, error) {
	return false, Fleet{}, s.fail(ctx)
}
func (s *failingState) ReturnProbe(ctx context.Context, _, _ uint64) error { return s.fail(ctx) }
func (s *failingState) Subscribe(func()) func()                            { return func() {} }

func TestSharedDownFallsBackToLocal(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(map[bool]string{false: "failing", true: "hanging"}[hang], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuffer
				shared := &failingState{hang: hang}
				b := newTestBreaker(t, Config{Shared: shared, HalfOpenRequests: 1, SharedTimeout: time.Second, Logger: logs.logger()})
				for range 5 {
					call(t, b, Failure)
				}
				require.Equal(t, StateOpen, stateOf(b), "the local trip stands")
				time.Sleep(time.Minute)
				start := time.Now()
				p, err := b.Allow(t.Context())
				require.NoError(t, err, "the local probe cap decides")
				assert.LessOrEqual(t, time.Since(start), 3*time.Second, "bounded by the shared timeouts of the calls queued before")
				_, err = b.Allow(t.Context())
				refusal(t, err)
				b.Report(p, Success)
				call(t, b, Success)
				assert.Equal(t, StateClosed, stateOf(b))
				assert.Equal(t, 1, logs.count("unreachable"), "the change is logged once")
			})
		})
	}
}

// A caller whose context ends while its probe waits for the fleet gets out
// at once and holds nothing.
func TestProbeWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{Shared: &failingState{hang: true}, HalfOpenRequests: 1, SharedTimeout: time.Hour})
		for range 5 {
			call(t, b, Failure)
		}
		time.Sleep(time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := b.Allow(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		s := b.Stats()
		assert.Equal(t, 5, int(s.Counts.Requests), "the cancelled probe is not counted")
		assert.Zero(t, s.Probes, "and holds no local slot")
	})
}

// The answers from the view count in Stats, which the actor owns.
func TestAnswersFromTheViewAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBreaker(t, Config{Clock: clock.New()})
		var permits []Permit
		for range 3 {
			p, err := b.Allow(t.Context())
			require.NoError(t, err)
			permits = append(permits, p)
		}
		for _, p := range permits {
			b.Report(p, Success)
		}
		for range 5 {
			call(t, b, Failure)
		}
		for range 100 { // more than the note buffer
			refusal(t, b.Check(t.Context()))
		}
		s := b.Stats()
		assert.Equal(t, uint64(8), s.Counts.Requests)
		assert.Equal(t, uint64(100), s.Refused)
	})
}
