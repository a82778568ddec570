package limiter_test

import (
	"context"
	"fmt"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

func Example() {
	l, err := limiter.New(limiter.Config{QueriesPerMinute: 30, CostBudgetHourly: 5})
	if err != nil {
		panic(err)
	}
	defer l.Close()

	p, err := l.Acquire(context.Background(), 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("admitted, may spend up to %.2f USD\n", p.CapUSD)
	l.Settle(p, 0.42) // the query's actual cost

	s := l.Stats()
	fmt.Printf("spent %.2f USD, %d in flight\n", s.SpentUSD, s.InFlight)
	// Output:
	// admitted, may spend up to 1.25 USD
	// spent 0.42 USD, 0 in flight
}
