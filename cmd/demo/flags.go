package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the demo's flags, validated.
type options struct {
	queries          int // queries in the burst (0: rpm+4, or 3 with --real)
	concurrency      int
	rpm, rph         int
	budget           float64
	failureThreshold int
	openTimeout      time.Duration
	scenario         string
	json             bool
	real             bool
	prompt           string
	scale            float64 // multiplies every simulated wait; hidden, for tests
	metrics          string  // address to serve Prometheus metrics on; "" off
}

// scenarioNames are the values --scenario accepts, in the order of "all".
var scenarioNames = []string{"all", "burst", "outage", "pause", "budget", "warm", "reuse"}

// hiddenFlags are left out of --help.
var hiddenFlags = map[string]bool{"scale": true}

const usageHead = `Usage: go run ./cmd/demo [flags]

Watch the rate limiter, the circuit breaker and the cost budget of
pkg/agent at work. By default the demo needs no API key and no Claude CLI:
its own binary plays the claude CLI (real subprocesses printing genuine
stream-json lines, with scripted latency, cost and failures), and limits are
scaled down so the whole run takes about 17 seconds.

Scenarios (--scenario), each on a fresh client with the limits below:
  burst   more queries than the per-minute rate allows: the rest queue and
          are admitted in FIFO order as tokens refill
  outage  the API answers 529: the breaker opens and refuses without
          starting a process; a failed half-open probe re-opens it for twice
          as long; once the API is back, probes succeed and it closes
  pause   one query meets a 429 api_retry: the limiter pauses everyone
  budget  expensive queries spend the hourly budget; the next are refused
          with a retry time instead of waiting an hour
  warm    queries one after the other on a CLI slow to start: the first
          starts its CLI (cold), the next claim a spare the pool started
          meanwhile (Config.Warm)
  reuse   the same with Warm.Reuse: the first query's CLI, reset with
          /clear, serves the next ones
  all     the six, in this order (default)

Flags:
`

// parseFlags parses args. A --help request returns flag.ErrHelp after
// writing the usage to out; other errors are the caller's to print.
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.IntVar(&o.queries, "queries", 0, "queries sent at once in the burst (default rpm+4, so 4 must wait; 3 with --real)")
	fs.IntVar(&o.concurrency, "concurrency", 8, "CLI processes at once (Config.MaxConcurrent)")
	fs.IntVar(&o.rpm, "rpm", 60, "queries per minute (RateLimit.QueriesPerMinute): a token bucket of that size refilling continuously")
	fs.IntVar(&o.rph, "rph", 1000, "queries per hour (RateLimit.QueriesPerHour)")
	fs.Float64Var(&o.budget, "budget", 1.00, "USD per rolling hour (RateLimit.CostBudgetHourly); the budget scenario's queries cost a quarter of it each")
	fs.IntVar(&o.failureThreshold, "failure-threshold", 3, "consecutive failures that open the breaker (CircuitBreaker.FailureThreshold)")
	fs.DurationVar(&o.openTimeout, "open-timeout", time.Second, "how long the breaker stays open before probing; doubles on each re-open (CircuitBreaker.Timeout)")
	fs.StringVar(&o.scenario, "scenario", "all", "what to show: "+strings.Join(scenarioNames, ", "))
	fs.BoolVar(&o.json, "json", false, "print events as JSON lines and the summary as a final JSON object, for scripts")
	fs.BoolVar(&o.real, "real", false, "send --queries copies of --prompt to the real claude CLI under the same limits, then 2 more one after the other to show a cold start and a warm spare (found on $CLAUDE_CLI_PATH, PATH or the usual install places; needs ANTHROPIC_API_KEY or a login; costs real money)")
	fs.StringVar(&o.prompt, "prompt", "Say hello in five words.", "the prompt sent with --real")
	fs.StringVar(&o.metrics, "metrics", "", "serve the clients' metrics for Prometheus at http://ADDR/metrics while the demo runs, e.g. :9464 (pkg/agent/otel/prom)")
	fs.Float64Var(&o.scale, "scale", 1, "multiply every simulated latency, pause and open timeout by this (for tests)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, out)
		}
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.real && set["scenario"] {
		return options{}, errors.New("--scenario does not apply to --real, which sends --queries copies of --prompt")
	}
	if o.queries == 0 {
		o.queries = o.rpm + 4
		if o.real {
			o.queries = 3
		}
	}
	return o, o.validate()
}

// validate reports the first flag out of range.
func (o options) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"queries", o.queries},
		{"concurrency", o.concurrency},
		{"rpm", o.rpm},
		{"rph", o.rph},
		{"failure-threshold", o.failureThreshold},
	} {
		if f.v < 1 {
			return fmt.Errorf("--%s must be at least 1, got %d", f.name, f.v)
		}
	}
	switch {
	case !(o.budget > 0) || o.budget > 1e9:
		return fmt.Errorf("--budget must be a positive USD amount, got %v", o.budget)
	case o.openTimeout <= 0:
		return fmt.Errorf("--open-timeout must be positive, got %v", o.openTimeout)
	case !(o.scale > 0) || o.scale > 100:
		return fmt.Errorf("--scale must be in (0, 100], got %v", o.scale)
	case !slices.Contains(scenarioNames, o.scenario):
		return fmt.Errorf("--scenario must be one of %s, got %q", strings.Join(scenarioNames, ", "), o.scenario)
	case o.metrics != "" && !validAddr(o.metrics):
		return fmt.Errorf("--metrics must be an address to listen on, as host:port or :port, got %q", o.metrics)
	case o.real && strings.TrimSpace(o.prompt) == "":
		return errors.New("--prompt must not be empty")
	}
	return nil
}

// validAddr reports whether addr is host:port with a numeric port.
func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// scaled is d multiplied by --scale.
func (o options) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.scale)
}

// wrap breaks text into lines of at most width columns, each indented.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

func printUsage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprint(out, usageHead)
	fs.VisitAll(func(f *flag.Flag) {
		if hiddenFlags[f.Name] {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
			if name == " string" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
		}
		fmt.Fprintf(out, "  --%s%s\n%s", f.Name, name, wrap(usage+def, "      ", 78))
	})
	fmt.Fprint(out, `
Exit status: 0 when the run completed, 1 on an error, 2 for bad flags or
when --real finds no CLI or no credentials, 130 when interrupted.
`)
}
