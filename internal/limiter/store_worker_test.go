package limiter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedStore is a Shared store over a memStore whose Admit waits for gate:
// a round trip as slow as the test wants. Calls come from the worker only.
type gatedStore struct {
	*memStore
	mu      sync.Mutex
	gate    chan struct{} // Admit waits for a value (or close)
	entered chan struct{} // Admit sends one on entry
	changes chan struct{}
	closed  bool
}

func newGatedStore(lim Limits) *gatedStore {
	return &gatedStore{memStore: newMemStore(lim), gate: make(chan struct{}), entered: make(chan struct{}, 16), changes: make(chan struct{}, 1)}
}

func (g *gatedStore) Admit(ctx context.Context, q Query) (Decision, error) {
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return Decision{}, ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.memStore.Admit(ctx, q)
}

func (g *gatedStore) leases() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.memStore.leases)
}

func (g *gatedStore) Changes() <-chan struct{} { return g.changes }
func (g *gatedStore) Close() error             { g.closed = true; return nil }

// A slow round trip to a shared store delays only the admission waiting
// for it: Stats and a cancellation are answered meanwhile, and a grant
// that arrives for a caller who gave up is released in the store.
func TestSharedStoreSlowRoundTripStallsNothingElse(t *testing.T) {
	gs := newGatedStore(Limits{PerMinute: 100, PerHour: 1000, Budget: 10})
	l, err := New(Config{QueriesPerMinute: 100, QueriesPerHour: 1000, CostBudgetHourly: 10, Store: gs})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, 0)
		errc <- err
	}()
	<-gs.entered // the admission is with the store, which does not answer

	s := l.Stats()
	assert.Equal(t, 1, s.Queued, "Stats waited for the store")
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)

	gs.gate <- struct{}{} // the store admits the caller who left
	second := make(chan Permit, 1)
	go func() {
		p, err := l.Acquire(t.Context(), 0)
		assert.NoError(t, err)
		second <- p
	}()
	<-gs.entered
	gs.gate <- struct{}{}
	p := <-second
	assert.Equal(t, 1, gs.leases(), "the lease of the caller who gave up was not released")
	assert.Equal(t, uint64(1), l.Stats().Admitted)
	l.Settle(p, 0.5)
	require.NoError(t, l.Close())
	assert.InDelta(t, 0.5, gs.memStore.spend.spent(time.Now()), 1e-9, "Close did not send the settle to the store")
	assert.Equal(t, 0, gs.leases())
	assert.True(t, gs.closed, "the limiter owns its store")
}

// failingStore refuses every Admit with ErrStoreUnavailable.
type failingStore struct{ *gatedStore }

func (f failingStore) Admit(context.Context, Query) (Decision, error) {
	return Decision{}, ErrStoreUnavailable
}

// A store that fails closed refuses every waiter at once with its error.
func TestSharedStoreErrorRefusesWaiters(t *testing.T) {
	fs := failingStore{newGatedStore(Limits{PerMinute: 10, PerHour: 10, Budget: 10})}
	l, err := New(Config{Store: fs})
	require.NoError(t, err)
	defer l.Close()
	_, err = l.Acquire(t.Context(), 0)
	var se *StoreError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.ErrorIs(t, err, ErrStoreUnavailable)
	assert.Equal(t, uint64(1), l.Stats().Refused)
}
