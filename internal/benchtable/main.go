// Command benchtable reads `go test -bench -benchmem` output on stdin and
// prints one Markdown table that sets each of our benchmarks beside its
// peer, from the medians over the -count runs. Lines logged by the scale
// tests ("scale: ...") are printed after the table.
//
// Sub-benchmarks pair by name: Benchmark<Name>/ours (or ours-<variant>,
// or typed) is ours, every other sub-benchmark of Benchmark<Name> is a peer.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./... | go run ./internal/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

func main() {
	res, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(res.benches) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark lines on stdin")
		os.Exit(1)
	}
	write(os.Stdout, res)
}

// sample is the runs of one sub-benchmark.
type sample struct {
	nsPerOp, allocsPerOp []float64
}

// results is what parse read.
type results struct {
	benches map[string]*sample // by "pkg/BenchmarkName/sub"
	order   []string           // first-seen order of the keys
	scale   []string           // "scale: ..." lines, without the prefix
}

// parse reads go test output: "pkg:" lines set the package of the
// benchmark lines that follow.
func parse(r io.Reader) (*results, error) {
	res := &results{benches: map[string]*sample{}}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		if _, s, ok := strings.Cut(line, "scale: "); ok {
			res.scale = append(res.scale, s)
			continue
		}
		name, ns, allocs, ok := benchLine(line)
		if !ok {
			continue
		}
		key := pkg + "/" + name
		s := res.benches[key]
		if s == nil {
			s = &sample{}
			res.benches[key] = s
			res.order = append(res.order, key)
		}
		s.nsPerOp = append(s.nsPerOp, ns)
		if allocs >= 0 {
			s.allocsPerOp = append(s.allocsPerOp, allocs)
		}
	}
	return res, sc.Err()
}

// benchLine parses "BenchmarkX/sub-2  N  123 ns/op  0 B/op  0 allocs/op"
// and returns the name without its -GOMAXPROCS suffix; allocs is -1 when
// the line has none.
func benchLine(line string) (name string, ns, allocs float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", 0, 0, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", 0, 0, false
	}
	name = f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	ns, allocs = -1, -1
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", 0, 0, false
		}
		switch f[i+1] {
		case "ns/op":
			ns = v
		case "allocs/op":
			allocs = v
		}
	}
	return name, ns, allocs, ns >= 0
}

// row is one line of the table: ours beside one peer.
type row struct {
	bench, ours, peer string // bench is "pkg/BenchmarkName"
}

// isOurs reports whether a sub-benchmark name is one of ours.
func isOurs(sub string) bool {
	return sub == "ours" || strings.HasPrefix(sub, "ours-") || sub == "typed"
}

// rows pairs every sub-benchmark of ours with every peer of the same
// benchmark, in first-seen order.
func (r *results) rows() []row {
	var rows []row
	var benches []string
	subs := map[string][]string{}
	for _, key := range r.order {
		i := strings.LastIndexByte(key, '/')
		if i < 0 || strings.Count(key, "/") < 2 {
			continue // no sub-benchmark: nothing to pair
		}
		bench, sub := key[:i], key[i+1:]
		if _, seen := subs[bench]; !seen {
			benches = append(benches, bench)
		}
		subs[bench] = append(subs[bench], sub)
	}
	for _, bench := range benches {
		for _, o := range subs[bench] {
			if !isOurs(o) {
				continue
			}
			for _, p := range subs[bench] {
				if !isOurs(p) {
					rows = append(rows, row{bench: bench, ours: o, peer: p})
				}
			}
		}
	}
	return rows
}

// what describes the known benchmarks; others show their name only.
var what = map[string]string{
	"limiter/BenchmarkAcquire":         "limiter admission, uncontended: Acquire+Settle vs Wait",
	"limiter/BenchmarkAcquireParallel": "limiter admission, RunParallel: Acquire+Settle vs Wait",
	"breaker/BenchmarkClosed":          "breaker closed: Allow+Report vs Execute",
	"breaker/BenchmarkOpenRefusal":     "breaker open: refusal vs Execute refused",
	"protocol/BenchmarkDecode":         "decode 4 stream-json lines: typed vs map[string]any",
	"agent/BenchmarkQuery":             "end-to-end query on the fake CLI: Client.Run vs exec.Command",
	"redisstore/BenchmarkAdmit":        "fleet admission in Redis (2 windows, budget, pause, lease) vs redis_rate Allow (1 window)",
	"redisstore/BenchmarkAdmitFleet":   "the same, 8 stores with 8 clients on one key at once",
}

// target is the ratio ours/peer each benchmark should stay within.
var target = map[string]float64{
	"limiter/BenchmarkAcquire":         3,
	"limiter/BenchmarkAcquireParallel": 3,
	"breaker/BenchmarkClosed":          5,
	"breaker/BenchmarkOpenRefusal":     5,
	"protocol/BenchmarkDecode":         1,
	"agent/BenchmarkQuery":             1.05,
	"redisstore/BenchmarkAdmit":        1.5,
	"redisstore/BenchmarkAdmitFleet":   1.5,
}

// write prints the table and the scale lines.
func write(w io.Writer, r *results) {
	fmt.Fprintln(w, "| benchmark | what | ours ns/op | peer | peer ns/op | ours/peer | target | ours allocs/op | runs |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---:|---:|")
	for _, row := range r.rows() {
		o, p := r.benches[row.bench+"/"+row.ours], r.benches[row.bench+"/"+row.peer]
		on, pn := median(o.nsPerOp), median(p.nsPerOp)
		tgt, verdict := "", ""
		if t, ok := target[row.bench]; ok {
			tgt = fmt.Sprintf("≤ %.2fx", t)
			verdict = " ✓"
			if on/pn > t {
				verdict = " ✗"
			}
		}
		allocs := "?"
		if len(o.allocsPerOp) > 0 {
			allocs = strconv.FormatFloat(median(o.allocsPerOp), 'f', -1, 64)
		}
		desc := what[row.bench]
		fmt.Fprintf(w, "| %s/%s | %s | %s | %s | %s | %.3fx%s | %s | %s | %d |\n",
			strings.TrimPrefix(path.Base(row.bench), "Benchmark"), row.ours, desc,
			formatNs(on), row.peer, formatNs(pn), on/pn, verdict, tgt, allocs, len(o.nsPerOp))
	}
	if len(r.scale) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Scale figures:")
		for _, s := range r.scale {
			fmt.Fprintln(w, "  "+s)
		}
	}
}

// median of xs, which is not empty.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// formatNs prints ns/op with a unit that keeps it short.
func formatNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}
