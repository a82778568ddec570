package main

import (
	"strings"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The simulated claude CLI is this very binary: main calls
// fakecli.RunIfRequested first thing, so a process started with a script in
// its environment plays it (genuine stream-json lines on stdout, an exit
// code) instead of running the demo. Each query carries its own script.

// latency is how long a simulated API call takes, before --scale.
const latency = 100 * time.Millisecond

// simulate makes the query's CLI process play script.
func simulate(script fakecli.Script) agent.Option {
	key, value, _ := strings.Cut(fakecli.Env(script), "=")
	return agent.WithEnv(key, value)
}

// answer is a successful run: the init line, a wait of d, an assistant
// message with text, a result costing costUSD, exit 0.
func (d *demo) answer(text string, costUSD float64, wait time.Duration) fakecli.Script {
	return fakecli.Script{
		fakecli.Line(fakecli.InitLine()),
		fakecli.Sleep(d.opts.scaled(wait)),
		fakecli.Line(fakecli.AssistantLine(text)),
		fakecli.Line(fakecli.ResultLine(text, costUSD)),
		fakecli.Exit(0),
	}
}

// overloaded is a run the API answers with 529 Overloaded, as the CLI
// reports it once its own retries are spent: an is_error result, exit 1.
func (d *demo) overloaded(wait time.Duration) fakecli.Script {
	failed := fakecli.APIErrorResult(529)
	return append(fakecli.Script{failed[0], fakecli.Sleep(d.opts.scaled(wait))}, failed[1:]...)
}

// throttled is a run whose first API call gets 429 with a retry delay: the
// CLI prints an api_retry line, waits the delay, retries and succeeds.
func (d *demo) throttled(delay time.Duration, text string, costUSD float64) fakecli.Script {
	delay = d.opts.scaled(delay)
	ok := d.answer(text, costUSD, latency)
	return append(fakecli.Script{ok[0], fakecli.Retry429(int(delay.Milliseconds())), fakecli.Sleep(delay)}, ok[1:]...)
}
