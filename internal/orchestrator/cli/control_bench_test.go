package cli

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// BenchmarkControlRoundTrip measures one control round trip started by
// the (fake) CLI: its request read from stdout, routed, answered by a
// handler on a goroutine of its own, the answer written to stdin and read
// by the CLI, which then sends the next. One op is a CLI run of 200 round
// trips minus a run of none, so start-up is not counted: the
// ns/roundtrip metric is the figure.
func BenchmarkControlRoundTrip(b *testing.B) {
	const trips = 200
	run := func(n int) time.Duration {
		sum := filepath.Join(b.TempDir(), "sum.json")
		steps := fakecli.Script{fakecli.Record(filepath.Join(b.TempDir(), "rec.json")), fakecli.Line(fakecli.InitLine())}
		if n > 0 {
			steps = append(steps, fakecli.Control(n, protocol.ControlHookCallback, sum))
		}
		steps = append(steps, fakecli.Line(fakecli.ResultLine("done", 0)), fakecli.AwaitStdinEOF())
		req := request(steps)
		req.Handlers = map[string]ControlHandler{
			protocol.ControlHookCallback: func(context.Context, *protocol.ControlRequest) (any, error) { return nil, nil },
		}
		exe := fakeOptions(b)
		start := time.Now()
		for _, err := range Stream(context.Background(), req, exe) {
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var with, without time.Duration
	for b.Loop() {
		with += run(trips)
		without += run(0)
	}
	b.ReportMetric(float64(with-without)/float64(b.N*trips), "ns/roundtrip")
}
