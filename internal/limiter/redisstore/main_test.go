package redisstore

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

// fakeNow is an injected now in whole microseconds, safe for concurrent use.
type fakeNow struct{ us atomic.Int64 }

func newFakeNow() *fakeNow {
	f := new(fakeNow)
	f.us.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixMicro())
	return f
}

func (f *fakeNow) Now() time.Time          { return time.UnixMicro(f.us.Load()) }
func (f *fakeNow) Advance(d time.Duration) { f.us.Add(d.Microseconds()) }

// client returns a client of srv closed at the test's end.
func client(t testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a store of key on srv, closed at the test's end.
func newStore(t testing.TB, c redis.UniversalClient, key string, opts Options) *Store {
	opts.Client, opts.Key = c, key
	s, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}
