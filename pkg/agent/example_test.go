package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/mcptool"
)

// These examples need the claude CLI (and credentials), so they have no
// Output comment: go test compiles them but does not run them.
// TestExamples runs them against a fake Messages API and checks what they
// print.

// Query streams a run's messages as they arrive.
func ExampleClient_Query() {
	c, err := agent.New(agent.DefaultConfig()) // finds claude in $CLAUDE_CLI_PATH, PATH or the usual places
	if err != nil {
		fmt.Println(err) // e.g. agent.ErrCLINotFound, with the npm command to install it
		return
	}
	defer c.Close()

	for msg, err := range c.Query(context.Background(), "Say hello") {
		var rejected *agent.RejectedError
		switch {
		case errors.As(err, &rejected):
			fmt.Printf("refused (%s), retry after %v\n", rejected.Limit, rejected.RetryAfter)
			return
		case err != nil:
			fmt.Println("error:", err)
			return
		}
		switch m := msg.(type) {
		case *agent.SystemMessage:
			if m.Init != nil {
				fmt.Println("session started")
			}
		case *agent.AssistantMessage:
			for _, block := range m.Content {
				if text, ok := block.(*agent.TextBlock); ok {
					fmt.Println("assistant:", text.Text)
				}
			}
		case *agent.ResultMessage:
			fmt.Printf("result: %s (%d turn)\n", m.Result, m.NumTurns)
		}
	}
}

// Run drains a query and returns its result.
func ExampleClient_Run() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	res, err := c.Run(context.Background(), "Say hello", agent.WithMaxTurns(1))
	var apiErr *agent.APIError
	switch {
	case errors.As(err, &apiErr):
		fmt.Println("the API failed with status", apiErr.Status)
		return
	case err != nil:
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Result)
	fmt.Println("cost known:", res.CostKnown)
}

// RunBatch runs many prompts under the client's limits, results in input
// order.
func ExampleClient_RunBatch() {
	cfg := agent.DefaultConfig()
	cfg.MaxConcurrent = 2 // two CLI processes at once
	c, err := agent.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	prompts := []string{"Say hello", "Say hello again", "Say goodbye"}
	for i, r := range c.RunBatch(context.Background(), prompts) {
		if r.Err != nil {
			fmt.Printf("%d: error: %v\n", i, r.Err)
			continue
		}
		fmt.Printf("%d: %s\n", i, r.Result.Result)
	}
	fmt.Println("admitted:", c.Stats().Limiter.Admitted)
}

// Serve runs the client as a supervised service (github.com/thejerf/suture's
// Service contract): it closes the client when its context ends.
func ExampleClient_Serve() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx) }() // or supervisor.Add(c)

	res, err := c.Run(ctx, "Say hello")
	if err != nil {
		fmt.Println("error:", err)
	} else {
		fmt.Println(res.Result)
	}

	stop()
	fmt.Println("serve:", <-served)
	_, err = c.Run(context.Background(), "Say hello")
	fmt.Println("after:", errors.Is(err, agent.ErrClosed))
}

// Session keeps one CLI process for a conversation: each turn sees the
// earlier ones, and each passes the client's guards.
func ExampleClient_Session() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx := context.Background()
	s, err := c.Session(ctx, agent.WithMaxTurns(3))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	for _, prompt := range []string{"My name is Ada.", "What is my name?"} {
		res, err := s.Run(ctx, prompt)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%s (this turn: %.5f USD)\n", res.Result, res.TurnCostUSD)
	}
}

// A PreToolUse hook sees each Bash command before it runs and can block
// it; the model is told why.
func ExampleWithHook() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	noRm := agent.WithHook(agent.PreToolUse, "Bash", func(_ context.Context, in agent.HookInput) (agent.HookOutput, error) {
		cmd, _ := in.ToolInput["command"].(string)
		if strings.HasPrefix(cmd, "rm ") {
			fmt.Println("blocked:", cmd)
			return agent.BlockTool("deleting files is not allowed here"), nil
		}
		return agent.HookOutput{}, nil // let it run
	})
	res, err := c.Run(context.Background(), "Clean up the build directory",
		agent.WithAllowedTools("Bash"), noRm)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Result)
}

// A permission callback decides each tool use the CLI asks about: allow,
// allow with a changed input, or deny with a message the model sees.
func ExampleWithCanUseTool() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	decide := agent.WithCanUseTool(func(_ context.Context, r agent.PermissionRequest) (agent.PermissionResult, error) {
		fmt.Println("asked for", r.ToolName, r.Input["command"])
		if r.ToolName == "Bash" {
			return agent.AllowWithInput(map[string]any{"command": "touch notes.txt"}), nil
		}
		return agent.Deny("only Bash is allowed"), nil
	})
	res, err := c.Run(context.Background(), "Make a notes file", decide)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Result)
	_, err = os.Stat("notes.txt")
	fmt.Println("notes.txt made:", err == nil)
}

// WithMCPServers gives Claude a Go function as a tool: an in-process MCP
// server of package mcptool, whose tool the model calls as
// mcp__calc__add.
func ExampleWithMCPServers() {
	c, err := agent.New(agent.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	type addArgs struct {
		A int `json:"a" jsonschema:"the first addend"`
		B int `json:"b" jsonschema:"the second addend"`
	}
	calc := mcptool.NewServer("calc")
	mcptool.AddTool(calc, "add", "Adds two integers", func(_ context.Context, in addArgs) (string, error) {
		fmt.Printf("add(%d, %d)\n", in.A, in.B)
		return strconv.Itoa(in.A + in.B), nil
	})
	res, err := c.Run(context.Background(), "What is 2+3? Use the add tool.",
		agent.WithMCPServers(calc), agent.WithAllowedTools("mcp__calc__add"))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Result)
}
