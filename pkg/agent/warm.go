package agent

import (
	"cmp"
	"context"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator"
)

// WarmConfig configures the warm processes: CLIs started ahead of the
// queries that claim them (spares), and, with Reuse, CLIs kept after a
// query for the next one. A cold query spends about 0.7 s and 0.8
// CPU-seconds starting its CLI; a query that claims a parked spare only
// writes its turn (about 0.1 s in all against a local API). Each parked
// process holds about 200 MB of memory.
//
// A spare is made for a key, everything fixed when the CLI starts: the
// working directory, the environment and the flags of a query's options
// (WithModel, WithSystemPrompt, WithAllowedTools...), but not its prompt,
// its budget cap, its hooks or WithCanUseTool callback, which attach when
// the query claims the process. Spares are made for the keys the client
// has seen (after their first query) and those declared with
// Client.Prewarm. A query whose key has no live spare starts cold, as
// without a pool; a spare that died or is older than MaxAge is never
// handed out (it is replaced, and a breaker sees nothing of it). Queries
// that resume or name a conversation (WithResume, WithContinue,
// WithSessionID, WithForkSession) and sessions always start their own CLI.
//
// The guards are unchanged: every query is admitted by the limiter as
// before (parking a spare is not a query: the CLI makes no billed API
// request until it gets a turn), and reports the same outcome to the
// breaker. A warm process starts without --max-budget-usd (its cap is
// not known when it starts): the client's watch of the answer stops a
// query that passes its cap, as it does for every query. Parked processes
// do not count toward MaxConcurrent, which caps running queries;
// MaxParked caps them. Close stops them all.
//
// With Reuse, a process that ended its query with its answer is reset
// with /clear and parked for the next query of the same key and hooks, up
// to MaxUses queries and MaxAge. /clear starts a new conversation: the
// next query's API request holds nothing of the previous one. What the
// process keeps is the state of the machine and of the CLI itself: files
// its tools wrote in the working directory, background shells a Bash
// tool started, MCP servers' connections and their state, and the CLI's
// caches. Reuse is off by default for that reason.
type WarmConfig struct {
	// Spares is how many processes are kept parked for each key (default
	// 1).
	Spares int
	// MaxParked caps the parked processes in all, over every key (default
	// 2: about 400 MB). When a new key needs room, the least recently
	// used key's spares are stopped.
	MaxParked int
	// MaxAge is the age at which a parked process is stopped and replaced
	// (only if its key was used since, or declared); an older one is never
	// handed out (default 10 minutes).
	MaxAge time.Duration
	// Reuse keeps a query's process for the next query of its key.
	Reuse bool
	// MaxUses is how many queries one reused process serves (default 100).
	MaxUses int
	// Disabled keeps no warm process: every query starts its own CLI.
	Disabled bool
}

// Defaults of WarmConfig.
const (
	DefaultSpares    = 1
	DefaultMaxParked = 2
	DefaultMaxAge    = 10 * time.Minute
	DefaultMaxUses   = 100
)

// poolConfig is the orchestrator's form of w, with its defaults.
func (w WarmConfig) poolConfig() orchestrator.PoolConfig {
	if w.Disabled {
		return orchestrator.PoolConfig{}
	}
	return orchestrator.PoolConfig{
		Spares:    cmp.Or(w.Spares, DefaultSpares),
		MaxParked: cmp.Or(w.MaxParked, DefaultMaxParked),
		MaxAge:    cmp.Or(w.MaxAge, DefaultMaxAge),
		Reuse:     w.Reuse,
		MaxUses:   cmp.Or(w.MaxUses, DefaultMaxUses),
	}
}

// Prewarm declares the key of queries with opts (see WarmConfig): their
// spares are started now, in the background, and kept (replaced at
// MaxAge) whether or not such queries come, within MaxParked. It reports
// whether the key can be served warm: false when the pool is disabled or
// keeps no spares, or opts start their own CLI (WithResume...). Invalid
// options are an error matching ErrInvalidRequest; a closed client gives
// ErrClosed. ctx is not used yet: starting a spare does not wait.
func (c *Client) Prewarm(ctx context.Context, opts ...Option) (bool, error) {
	ok, err := c.orch.Prewarm(c.request("", opts))
	return ok, exportError(err)
}

// WarmStats counts what the warm processes did.
type WarmStats struct {
	// Parked is how many processes are parked now, ready; Starting how
	// many spares are being started; InUse how many warm processes serve
	// a query now.
	Parked, Starting, InUse int
	// Hits counts queries that claimed a parked process, Misses those of
	// a key that could be served warm but found none alive.
	Hits, Misses int64
	// Started counts spares started, Reused processes parked again after
	// a query.
	Started, Reused int64
	// Expired counts parked processes stopped at MaxAge, Died those that
	// exited by themselves while parked, Evicted those stopped to make
	// room for another key's.
	Expired, Died, Evicted int64
}

func exportWarmStats(s orchestrator.PoolStats) WarmStats {
	return WarmStats{
		Parked: s.Parked, Starting: s.Starting, InUse: s.InUse, Hits: s.Hits, Misses: s.Misses,
		Started: s.Started, Reused: s.Reused, Expired: s.Expired, Died: s.Died, Evicted: s.Evicted,
	}
}
