package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleOutput = `goos: linux
pkg: github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter
BenchmarkAcquire/ours-2         	 1000000	       900.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkAcquire/ours-2         	 1000000	       700.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkAcquire/ours-2         	 1000000	       800.0 ns/op	       0 B/op	       1 allocs/op
BenchmarkAcquire/xrate-2        	 1000000	       100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkAcquire/xrate-2        	 1000000	       300.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkAcquire/xrate-2        	 1000000	       200.0 ns/op	       0 B/op	       0 allocs/op
PASS
pkg: github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol
BenchmarkDecode/typed-2 	  100000	     10000 ns/op	 120.50 MB/s	    2000 B/op	      30 allocs/op
BenchmarkDecode/map-2   	  100000	     20000 ns/op	  60.25 MB/s	    4000 B/op	      80 allocs/op
BenchmarkAlone-2        	  100000	     20000 ns/op
=== RUN   TestScaleWaiters
    scale_test.go:10: scale: waiters=10000 heap/waiter=120 B
`

func TestParseMediansAndPairs(t *testing.T) {
	res, err := parse(strings.NewReader(sampleOutput))
	require.NoError(t, err)

	ours := res.benches["limiter/BenchmarkAcquire/ours"]
	require.NotNil(t, ours)
	assert.Equal(t, 800.0, median(ours.nsPerOp))
	assert.Equal(t, 0.0, median(ours.allocsPerOp))
	assert.Equal(t, 200.0, median(res.benches["limiter/BenchmarkAcquire/xrate"].nsPerOp))
	assert.Equal(t, 30.0, median(res.benches["protocol/BenchmarkDecode/typed"].allocsPerOp), "the MB/s column is skipped")

	assert.Equal(t, []row{
		{bench: "limiter/BenchmarkAcquire", ours: "ours", peer: "xrate"},
		{bench: "protocol/BenchmarkDecode", ours: "typed", peer: "map"},
	}, res.rows(), "a benchmark without sub-benchmarks pairs with nothing")
	assert.Equal(t, []string{"waiters=10000 heap/waiter=120 B"}, res.scale)
}

func TestWriteShowsRatioAndTarget(t *testing.T) {
	res, err := parse(strings.NewReader(sampleOutput))
	require.NoError(t, err)
	var b strings.Builder
	write(&b, res)
	out := b.String()
	assert.Contains(t, out, "| Acquire/ours |")
	assert.Contains(t, out, "| 4.000x ✗ | ≤ 3.00x | 0 | 3 |", "800/200, over the 3x target")
	assert.Contains(t, out, "| 0.500x ✓ | ≤ 1.00x |", "typed/map, at least as fast")
	assert.Contains(t, out, "Scale figures:\n  waiters=10000 heap/waiter=120 B\n")
}

func TestMedianEven(t *testing.T) {
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

// The warm-start benchmarks report metrics of their own and drop ns/op
// (b.ReportMetric(0, "ns/op")).
const metricOutput = `pkg: github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent
BenchmarkQuery/ours-2    	     100	   6000000 ns/op	   12000 B/op	     434 allocs/op
BenchmarkQuery/exec-2    	     100	   5000000 ns/op	    9000 B/op	     300 allocs/op
BenchmarkWarmSequential/ours-cold-2         	       1	         0.8000 cpu-s/query	       700.0 p50-ms	      1000 p95-ms
BenchmarkWarmSequential/ours-spare-2        	       1	         0.9000 cpu-s/query	       100.0 p50-ms	       700 p95-ms
--- BENCH: BenchmarkWarmSequential/ours-spare-2
    warm_bench_test.go:111: latencies (ms, in order): 700 100
BenchmarkWarmSequential/tssdk-2             	       1	         0.7736 cpu-s/query	       854.8 p50-ms	      1586 p95-ms
BenchmarkWarmBatch/ours-cold-2              	       1	         0.9000 cpu-s/query	        40.00 wall-s
`

func TestMetricsTable(t *testing.T) {
	res, err := parse(strings.NewReader(metricOutput))
	require.NoError(t, err)

	cold := res.benches["agent/BenchmarkWarmSequential/ours-cold"]
	require.NotNil(t, cold)
	assert.Empty(t, cold.nsPerOp, "ns/op was dropped")
	assert.Equal(t, []string{"cpu-s/query", "p50-ms", "p95-ms"}, cold.units)
	assert.Equal(t, []float64{700}, cold.metrics["p50-ms"])

	assert.Equal(t, []row{{bench: "agent/BenchmarkQuery", ours: "ours", peer: "exec"}}, res.rows(),
		"benchmarks with metrics of their own stay out of the ns/op table")
	assert.Equal(t, []row{
		{bench: "agent/BenchmarkWarmSequential", ours: "ours-spare", peer: "ours-cold"},
		{bench: "agent/BenchmarkWarmSequential", ours: "ours-cold", peer: "tssdk"},
		{bench: "agent/BenchmarkWarmSequential", ours: "ours-spare", peer: "tssdk"},
		{bench: "agent/BenchmarkWarmBatch", ours: "ours-cold"},
	}, res.metricRows(), "the first of ours is the baseline; a lone variant pairs with nothing")

	var b strings.Builder
	write(&b, res)
	out := b.String()
	assert.Contains(t, out, "| WarmSequential | 20 sequential one-line queries 1 s apart, real CLI, fake API | p50-ms | ours-spare | 100 | ours-cold | 700 | 0.143x ✓ | ≤ 0.15x | 1 |")
	assert.Contains(t, out, "| p50-ms | ours-cold | 700 | tssdk | 855 | 0.819x |  | 1 |")
	assert.Contains(t, out, "| p95-ms | ours-spare | 700 | tssdk | 1586 | 0.441x |  | 1 |")
	assert.Contains(t, out, "| cpu-s/query | ours-cold | 0.800 | tssdk | 0.774 | 1.034x |  | 1 |")
	assert.Contains(t, out, "| wall-s | ours-cold | 40.0 | — |  |  |  | 1 |")
	assert.Contains(t, out, "| Query/ours |", "the ns/op table is still there")
}
