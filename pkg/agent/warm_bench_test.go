//go:build linux

package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// The warm-start benchmarks of issue 15, on the real CLI against the fake
// Messages API: a variant per row, ours (a tweak of the client's config)
// or a peer. Each run is 20 queries one second apart or a batch of 50,
// tens of seconds, so they run only with BENCH_WARM=1, once
// (-benchtime 1x), as `make bench` does:
//
//	BENCH_WARM=1 go test -run '^$' -bench '^BenchmarkWarm' -benchtime 1x -count 1 ./pkg/agent
//
// CPU is that of every child process (syscall.Getrusage(RUSAGE_CHILDREN)),
// measured from before the client starts to after it is closed, so the
// processes it parked, refilled or stopped are counted; node reaps the
// CLIs the TypeScript SDK starts, so the peer's figure is node's and its
// CLIs'. Linux only, for that measure.

// warmBenchEnv turns the warm-start benchmarks on.
const warmBenchEnv = "BENCH_WARM"

const (
	warmQueries     = 20          // sequential queries per run
	warmThink       = time.Second // between one query's end and the next call
	warmPrompt      = "say hello"
	batchPrompts    = 50
	batchConcurrent = 2 // MaxConcurrent of the batch
	warmRunTimeout  = 10 * time.Minute
)

// warmVariant is one row of a warm-start benchmark: ours, with config
// adjusting the client's Config (CLIPath and, for the batch,
// MaxConcurrent are set before), or a peer run instead of our client.
// Sub-benchmark names follow internal/benchtable: "ours-<variant>" is
// ours, anything else a peer; the first of ours is the baseline the
// others are compared with.
type warmVariant struct {
	name   string
	config func(*agent.Config)
	peer   func(b *testing.B, srv *fakeapi.Server, cliPath string) ([]time.Duration, error)
}

// coldConfig is a client that starts a CLI for each query. Config.Warm is
// on by default (a spare per key after its first query), so cold must
// turn it off.
func coldConfig(cfg *agent.Config) { cfg.Warm = agent.WarmConfig{Disabled: true} }

// spareConfig parks one spare per key (two in all), the default.
func spareConfig(cfg *agent.Config) { cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2} }

// reuseConfig adds reuse: a query's CLI, reset with /clear, serves the
// next.
func reuseConfig(cfg *agent.Config) {
	cfg.Warm = agent.WarmConfig{Spares: 1, MaxParked: 2, Reuse: true}
}

// warmSequentialVariants are the rows of BenchmarkWarmSequential.
var warmSequentialVariants = []warmVariant{
	{name: "ours-cold", config: coldConfig},
	{name: "ours-spare", config: spareConfig},
	{name: "ours-reuse", config: reuseConfig},
	{name: "tssdk", peer: tssdkSequential},
}

// warmBatchVariants are the rows of BenchmarkWarmBatch.
var warmBatchVariants = []warmVariant{
	{name: "ours-cold", config: coldConfig},
	{name: "ours-spare", config: spareConfig},
	{name: "ours-reuse", config: reuseConfig},
}

// BenchmarkWarmSequential runs 20 one-line queries one after another, a
// second of think time apart (time for spares to refill), against one fake
// API server per variant, and reports the p50 and p95 latency from the
// call to the result message, in ms, and the CPU-seconds of child
// processes per query. ns/op is suppressed: it would count the think time.
func BenchmarkWarmSequential(b *testing.B) {
	skipUnlessWarm(b)
	cliPath := fakeapi.CLIPath(b)
	for _, v := range warmSequentialVariants {
		b.Run(v.name, func(b *testing.B) {
			var lat []time.Duration
			var cpu time.Duration
			for b.Loop() {
				srv := fakeapi.New(b)
				cpu0 := childrenCPU(b)
				var l []time.Duration
				var err error
				if v.peer != nil {
					l, err = v.peer(b, srv, cliPath)
				} else {
					l, err = oursSequential(b, srv, cliPath, v.config)
				}
				cpu += childrenCPU(b) - cpu0
				srv.Close()
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, l...)
			}
			b.Logf("latencies (ms, in order): %s", formatMs(lat))
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 0.95)), "p95-ms")
			b.ReportMetric(cpu.Seconds()/float64(len(lat)), "cpu-s/query")
		})
	}
}

// BenchmarkWarmBatch runs 50 one-line prompts through RunBatch with
// MaxConcurrent 2 and reports the batch's wall time (RunBatch's call to
// its return) and the CPU-seconds of child processes per prompt.
func BenchmarkWarmBatch(b *testing.B) {
	skipUnlessWarm(b)
	cliPath := fakeapi.CLIPath(b)
	prompts := make([]string, batchPrompts)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("%s %d", warmPrompt, i+1)
	}
	for _, v := range warmBatchVariants {
		b.Run(v.name, func(b *testing.B) {
			var wall, cpu time.Duration
			runs := 0
			for b.Loop() {
				srv := fakeapi.New(b)
				cpu0 := childrenCPU(b)
				w, err := oursBatch(b, srv, cliPath, v.config, prompts)
				cpu += childrenCPU(b) - cpu0
				srv.Close()
				if err != nil {
					b.Fatal(err)
				}
				wall += w
				runs++
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(wall.Seconds()/float64(runs), "wall-s")
			b.ReportMetric(cpu.Seconds()/float64(runs*len(prompts)), "cpu-s/query")
		})
	}
}

// oursSequential runs the sequential queries through a client made with
// config, and closes it before returning.
func oursSequential(b *testing.B, srv *fakeapi.Server, cliPath string, config func(*agent.Config)) ([]time.Duration, error) {
	c, err := newWarmClient(cliPath, config)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(b.Context(), warmRunTimeout)
	defer cancel()
	opts := warmOpts(b, srv)
	var lat []time.Duration
	for i := range warmQueries {
		if i > 0 {
			time.Sleep(warmThink) // the think time, the thing measured
		}
		start := time.Now()
		var res *agent.ResultMessage
		var took time.Duration
		for msg, err := range c.Query(ctx, warmPrompt, opts...) {
			if err != nil {
				return nil, fmt.Errorf("query %d: %w", i, err)
			}
			if r, ok := msg.(*agent.ResultMessage); ok && res == nil {
				took, res = time.Since(start), r
			}
		}
		if res == nil || res.IsError {
			return nil, fmt.Errorf("query %d: no successful result: %+v", i, res)
		}
		lat = append(lat, took)
	}
	return lat, c.Close()
}

// oursBatch runs prompts through RunBatch on a client made with config
// (MaxConcurrent batchConcurrent), and closes it before returning.
func oursBatch(b *testing.B, srv *fakeapi.Server, cliPath string, config func(*agent.Config), prompts []string) (time.Duration, error) {
	c, err := newWarmClient(cliPath, func(cfg *agent.Config) {
		cfg.MaxConcurrent = batchConcurrent
		config(cfg)
	})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(b.Context(), warmRunTimeout)
	defer cancel()
	opts := warmOpts(b, srv)
	start := time.Now()
	results := c.RunBatch(ctx, prompts, opts...)
	wall := time.Since(start)
	var errs []error
	for i, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("prompt %d: %w", i, r.Err))
		}
	}
	return wall, errors.Join(append(errs, c.Close())...)
}

// newWarmClient is a client on the real CLI at cliPath, its config
// adjusted by config.
func newWarmClient(cliPath string, config func(*agent.Config)) (*agent.Client, error) {
	cfg := agent.Config{CLIPath: cliPath}
	config(&cfg)
	return agent.New(cfg)
}

// warmOpts points queries at srv (no retries, a fresh HOME) and runs them
// in a fresh directory.
func warmOpts(b *testing.B, srv *fakeapi.Server) []agent.Option {
	var opts []agent.Option
	for _, kv := range srv.Env(b, 0) {
		key, value, _ := strings.Cut(kv, "=")
		opts = append(opts, agent.WithEnv(key, value))
	}
	return append(opts, agent.WithWorkingDir(b.TempDir()))
}

// tssdkSequential runs bench/tsdk/sequential.mjs: the same queries through
// the official TypeScript SDK's query() on the same CLI, in the same
// environment, and returns the latencies it measured.
func tssdkSequential(b *testing.B, srv *fakeapi.Server, cliPath string) ([]time.Duration, error) {
	node, sdk, script := tssdkPaths(b)
	ctx, cancel := context.WithTimeout(b.Context(), warmRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script,
		"--sdk", sdk, "--cli", cliPath,
		"--n", strconv.Itoa(warmQueries),
		"--think-ms", strconv.FormatInt(warmThink.Milliseconds(), 10),
		"--prompt", warmPrompt,
		"--cwd", b.TempDir())
	cmd.Env = append(os.Environ(), srv.Env(b, 0)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tssdk: %w; stderr: %s", err, stderr.String())
	}
	var rep struct {
		SDK       string    `json:"sdk"`
		Latencies []float64 `json:"latencies_ms"`
		NodeCPUMs float64   `json:"node_cpu_ms"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("tssdk: %w; stdout: %s", err, out)
	}
	if len(rep.Latencies) != warmQueries {
		return nil, fmt.Errorf("tssdk: %d latencies, want %d", len(rep.Latencies), warmQueries)
	}
	b.Logf("tssdk: @anthropic-ai/claude-agent-sdk %s; node's own CPU %.3f s per query (in cpu-s/query)",
		rep.SDK, rep.NodeCPUMs/1000/float64(warmQueries))
	lat := make([]time.Duration, len(rep.Latencies))
	for i, l := range rep.Latencies {
		lat[i] = time.Duration(l * float64(time.Millisecond))
	}
	return lat, nil
}

// tssdkPaths finds node, the SDK that scripts/install-tsdk.sh installs
// ($TSDK_DIR, or .tools/tsdk in the module root) and the peer's script,
// and skips the benchmark when one is missing.
func tssdkPaths(b *testing.B) (node, sdk, script string) {
	b.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		b.Skip("tssdk: node not found; install Node.js to run the TypeScript SDK peer")
	}
	root := moduleRoot(b)
	sdk = os.Getenv("TSDK_DIR")
	if sdk == "" {
		sdk = filepath.Join(root, ".tools", "tsdk")
	}
	if _, err := os.Stat(filepath.Join(sdk, "node_modules", "@anthropic-ai", "claude-agent-sdk", "package.json")); err != nil {
		b.Skipf("tssdk: TypeScript SDK not installed in %s (run `make tsdk`)", sdk)
	}
	return node, sdk, filepath.Join(root, "bench", "tsdk", "sequential.mjs")
}

// moduleRoot is the directory of go.mod, up from the working directory.
func moduleRoot(b *testing.B) string {
	b.Helper()
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			b.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func skipUnlessWarm(b *testing.B) {
	b.Helper()
	if os.Getenv(warmBenchEnv) == "" {
		b.Skip("set " + warmBenchEnv + "=1 to run the warm-start benchmarks (make bench does; tens of seconds each, real CLI)")
	}
}

// childrenCPU is the user and system CPU time of this process's waited-for
// children and their waited-for descendants so far.
func childrenCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile is the nearest-rank p-th percentile of ds, which is not
// empty: the smallest sample with at least p of them at or below it (of
// 20, p50 is the 10th, p95 the 19th).
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(float64(len(s))*p - 1e-9))
	return s[min(max(rank, 1), len(s))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func formatMs(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.FormatFloat(ms(d), 'f', 0, 64)
	}
	return strings.Join(parts, " ")
}
