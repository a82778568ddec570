package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// credentialEnv are the variables the claude CLI authenticates with.
var credentialEnv = []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"}

// checkReal makes sure --real can work: a claude CLI is found the usual
// way and there is an API key or a login. Otherwise it says what is
// missing and returns the exit code.
func checkReal(stderr io.Writer) (code int, ok bool) {
	c, err := agent.New(agent.Config{})
	if err != nil {
		if errors.Is(err, agent.ErrCLINotFound) {
			fmt.Fprintf(stderr, "demo: --real needs the claude CLI, and none was found ($CLAUDE_CLI_PATH, PATH, the usual install places).\n%v\nWithout --real the demo simulates the CLI and needs nothing.\n", err)
			return exitUsage, false
		}
		fmt.Fprintf(stderr, "demo: --real: %v\n", err)
		return exitError, false
	}
	c.Close()
	if !haveCredentials() {
		fmt.Fprintln(stderr, "demo: --real needs ANTHROPIC_API_KEY in the environment, or a login (run `claude` once and log in).\nWithout --real the demo simulates the CLI and needs nothing.")
		return exitUsage, false
	}
	return exitOK, true
}

// haveCredentials reports whether the CLI has something to log in with: a
// key or token in the environment, or the credentials file of a login.
// On macOS a login lives in the keychain, which is not looked at: it is
// given the benefit of the doubt.
func haveCredentials() bool {
	for _, name := range credentialEnv {
		if os.Getenv(name) != "" {
			return true
		}
	}
	if runtime.GOOS == "darwin" {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	dir := os.Getenv("CLAUDE_CONFIG_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".claude")
	}
	_, err = os.Stat(filepath.Join(dir, ".credentials.json"))
	return err == nil
}

// runReal sends --queries copies of --prompt to the real CLI at once,
// under the same limits as the simulation, then two more one after the
// other on a client with a warm pool: the first cold, the second on the
// spare the pool started meanwhile.
func (d *demo) runReal(ctx context.Context) error {
	err := d.runPhase(ctx, phase{
		name:    "real",
		verbose: true,
		intro: func(d *demo) string {
			return fmt.Sprintf("%d queries of %q to the real claude CLI, %d at a time (this costs real money)",
				d.opts.queries, d.opts.prompt, d.opts.concurrency)
		},
		run: func(ctx context.Context, s *stage) error {
			var wg sync.WaitGroup
			for range s.d.opts.queries {
				wg.Go(func() { s.query(ctx, s.d.opts.prompt) })
			}
			wg.Wait()
			return ctx.Err()
		},
	})
	if err != nil {
		return err
	}
	return d.runPhase(ctx, phase{
		name:    "warm",
		verbose: true,
		edit:    warmPool(false),
		intro: func(d *demo) string {
			return fmt.Sprintf("2 more queries of %q, %v apart, with a warm pool (Config.Warm): the first starts its CLI, the second claims a spare",
				d.opts.prompt, realThink)
		},
		run: func(ctx context.Context, s *stage) error {
			next := fmt.Sprintf("the pool starts a spare CLI for the next query, which comes %v later", realThink)
			return s.warmQueries(ctx, 2, realThink, next, s.d.opts.prompt)
		},
	})
}
