package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// The fleet tests re-execute the test binary as the fleet's processes
// (as internal/fakecli does for the fake CLI): with childEnv set to a
// scenario, TestMain runs runChild instead of the tests. A child reads
// its parameters from the environment and prints one line per event on
// stdout:
//
//	grant <unix µs> <cap USD>
//	err <unix µs> <µs the call took> <error>
//	held
const childEnv = "REDISSTORE_CHILD"

func envInt(k string) int {
	n, _ := strconv.Atoi(os.Getenv(k))
	return n
}

func envFloat(k string) float64 {
	f, _ := strconv.ParseFloat(os.Getenv(k), 64)
	return f
}

func runChild() int {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond})
	defer c.Close()
	opts := Options{Client: c, Key: os.Getenv("FLEET_KEY"), Timeout: 500 * time.Millisecond}
	if us := envInt("FAKE_NOW_US"); us != 0 {
		opts.Now = func() time.Time { return time.UnixMicro(int64(us)) }
	}
	st, err := New(opts)
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	cfg := limiter.Config{
		QueriesPerMinute: envInt("PER_MINUTE"),
		QueriesPerHour:   envInt("PER_HOUR"),
		CostBudgetHourly: envFloat("BUDGET"),
		QueryBudget:      envFloat("QUERY_BUDGET"),
		MinQueryBudget:   envFloat("QUERY_BUDGET"),
		MaxConcurrent:    limiter.Unlimited,
		MaxWait:          time.Duration(envInt("MAX_WAIT_MS")) * time.Millisecond,
		Store:            st,
	}
	lim, err := limiter.New(cfg)
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	defer lim.Close()
	switch os.Getenv(childEnv) {
	case "run": // acquire until RUN_MS is over, holding each permit HOLD_MS at most, settling its cap
		end := time.Now().Add(time.Duration(envInt("RUN_MS")) * time.Millisecond)
		ctx, cancel := context.WithDeadline(context.Background(), end)
		defer cancel()
		for ctx.Err() == nil {
			start := time.Now()
			p, err := lim.Acquire(ctx, 0)
			if err != nil {
				if ctx.Err() == nil {
					fmt.Println("err", time.Now().UnixMicro(), time.Since(start).Microseconds(), err)
				}
				if errors.Is(err, limiter.ErrStoreUnavailable) {
					time.Sleep(20 * time.Millisecond) // a caller's back-off, not a wait for a timer
				}
				continue
			}
			fmt.Println("grant", time.Now().UnixMicro(), p.CapUSD)
			if h := envInt("HOLD_MS"); h > 0 {
				time.Sleep(time.Duration(rand.IntN(h)) * time.Millisecond) // the query's run time
			}
			lim.Settle(p, p.CapUSD) // the fake CLI spends its whole cap
		}
	case "pause": // pause the fleet for PAUSE_MS
		lim.Pause(time.Now().Add(time.Duration(envInt("PAUSE_MS")) * time.Millisecond))
		lim.Stats() // the pause was handled by the actor; Close sends it
	case "probe": // one Acquire under MaxWait
		_, err := lim.Acquire(context.Background(), 0)
		var we *limiter.WaitError
		if errors.As(err, &we) {
			fmt.Println("refused", we.Reason)
		} else {
			fmt.Println("err", err)
		}
	case "hold": // take HOLD_N permits, say so, and wait to be killed
		for range envInt("HOLD_N") {
			if _, err := lim.Acquire(context.Background(), 0); err != nil {
				fmt.Println("err", err)
				return 1
			}
		}
		fmt.Println("held")
		time.Sleep(time.Hour) // until killed
	}
	return 0
}
