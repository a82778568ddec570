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
