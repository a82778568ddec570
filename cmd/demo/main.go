// Command demo shows what pkg/agent's rate limiter, circuit breaker and
// cost budget do, on real subprocesses, with no API key and no Claude CLI:
// the demo binary doubles as a simulated claude CLI.
//
//	go run ./cmd/demo            # the whole scenario, about 17 seconds
//	go run ./cmd/demo --help     # the flags
//
// The files follow the ideas: scenario.go (the phases), simulated.go (the
// simulated CLI's scripts), query.go (one query and its outcome),
// events.go (the event lines, from the client's Observer), status.go
// (the status line, a Client.Stats snapshot), metrics.go (--metrics),
// console.go (text, terminal or JSON output), summary.go (the final
// table), warm.go (the warm phases: cold starts against spares and
// reuse), real.go (--real, the real CLI).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2 // bad flags, or --real without a CLI or credentials
	exitInterrupted = 130
)

func main() {
	// When started as the simulated CLI (a script in the environment), play
	// the script and exit; nothing below runs.
	fakecli.RunIfRequested()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole demo: it parses args, runs the scenario (or --real),
// prints the summary and returns the exit code. Everything it starts has
// stopped when it returns.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "demo: %v\nRun with --help to see the flags.\n", err)
		return exitUsage
	}

	d := &demo{opts: opts, out: newConsole(stdout, opts.json), tally: newTally(), start: time.Now()}
	if opts.metrics != "" {
		if d.metrics, err = startMetrics(opts.metrics); err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return exitError
		}
		defer func() {
			if err := d.metrics.close(); err != nil {
				fmt.Fprintf(stderr, "demo: metrics: %v\n", err)
			}
		}()
		d.out.event(event{T: d.since(time.Now()), Phase: "demo", Kind: "metrics", URL: d.metrics.url,
			Message: "Prometheus metrics at " + d.metrics.url + " while the demo runs"})
	}
	if opts.real {
		if code, ok := checkReal(stderr); !ok {
			return code
		}
		err = d.runReal(ctx)
	} else {
		fakecli.AnswerVersion(agent.TestedCLIVersion) // for agent.New's check of the CLI
		if d.cliPath, err = os.Executable(); err != nil {
			fmt.Fprintf(stderr, "demo: cannot find my own executable to play the CLI: %v\n", err)
			return exitError
		}
		err = d.runScenario(ctx)
	}

	sum := d.tally.summary(opts, time.Since(d.start))
	d.out.text(sum.text())
	d.out.value(sum)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "demo: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitError
	}
	return exitOK
}
