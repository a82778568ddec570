package orchestrator

import (
	"log/slog"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/callback"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/limiter"
)

// sink keeps the benchmark's request from being optimised away.
var sink limiter.Request

// BenchmarkObserverPath is the observer path of one query on its own: its
// limiter request (with an observer, the callback that tells of a wait),
// the events it emits (admitted, started, finished) and the tracking of
// its end. "off" has no observer: it must cost no allocation.
func BenchmarkObserverPath(b *testing.B) {
	for _, tc := range []struct {
		name    string
		observe func(Event)
	}{{"off", nil}, {"on", func(Event) {}}} {
		b.Run(tc.name, func(b *testing.B) {
			g := callback.New(nil, nil)
			o := &Orchestrator{events: newEvents(tc.observe, g), log: slog.New(slog.DiscardHandler), clock: clock.New()}
			w := &watch{o: o}
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				sink = o.request(1, "", limiter.KindQuery, 0)
				now = o.admitted(1, "", now, limiter.Permit{})
				if o.events.on() {
					o.events.emit(QueryStarted{ID: 1, At: now})
				}
				f := w.fin.init(o, 1, "", now)
				f.ended(0, true, w)
				f.settled(0.01, false, false)
			}
			o.events.close()
			g.Wait(time.Second)
		})
	}
}
