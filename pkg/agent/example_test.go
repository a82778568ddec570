package agent_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// A client streams a query's messages as they arrive. Here this test binary
// stands in for the claude CLI; in a program, leave CLIPath empty to find
// the installed one.
func Example() {
	cfg := agent.DefaultConfig()
	cfg.CLIPath = fakeCLIPath()
	c, err := agent.New(cfg)
	if err != nil {
		log.Fatal(err) // e.g. agent.ErrCLINotFound, with the npm command to install it
	}
	defer c.Close()

	for msg, err := range c.Query(context.TODO(), "Say hello", play(fakecli.Success("Hello!", 0.0002))) {
		var rejected *agent.RejectedError
		switch {
		case errors.As(err, &rejected):
			fmt.Println("refused, retry after", rejected.RetryAfter)
			return
		case err != nil:
			fmt.Println("error:", err)
			return
		}
		switch m := msg.(type) {
		case *agent.SystemMessage:
			fmt.Println("system:", m.Subtype)
		case *agent.AssistantMessage:
			for _, block := range m.Content {
				if text, ok := block.(*agent.TextBlock); ok {
					fmt.Println("assistant:", text.Text)
				}
			}
		case *agent.ResultMessage:
			fmt.Printf("result: %s (%.4f USD)\n", m.Result, m.TotalCostUSD)
		}
	}
	fmt.Printf("spent this hour: %.4f USD\n", c.Stats().Limiter.SpentUSD)
	// Output:
	// system: init
	// assistant: Hello!
	// result: Hello! (0.0002 USD)
	// spent this hour: 0.0002 USD
}
