package otel_test

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel/prom"
)

// TestMain lets the test binary double as the fake claude CLI.
func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	fakecli.AnswerVersion(agent.TestedCLIVersion)
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(m)
}

// rig is an OpenTelemetry pipeline to read back: spans in a recorder,
// metrics in a manual reader and in a Prometheus exporter, both on one
// meter provider.
type rig struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	prom   *prom.Exporter
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	var err error
	r.prom, err = prom.New(sdkmetric.WithReader(r.reader))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, r.prom.Shutdown(context.Background()))
		require.NoError(t, r.tp.Shutdown(context.Background()))
	})
	return r
}

func (r *rig) options() []otel.Option {
	return []otel.Option{otel.WithTracerProvider(r.tp), otel.WithMeterProvider(r.prom.MeterProvider())}
}

// newClient starts a client on the fake CLI and a mock clock whose
// Observer is the adapter's on r; edit adjusts the config first. The
// client is closed when the test ends.
func (r *rig) newClient(t *testing.T, edit func(*agent.Config)) (*agent.Client, *clock.Mock) {
	t.Helper()
	obs, err := otel.NewObserver(r.options()...)
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	mock := clock.NewMock()
	cfg := agent.Config{CLIPath: exe, Clock: mock, MaxConcurrent: 8, Warm: agent.WarmConfig{Disabled: true}, Observer: obs}
	if edit != nil {
		edit(&cfg)
	}
	c, err := agent.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, mock
}

func play(s fakecli.Script) agent.Option {
	key, value, _ := strings.Cut(fakecli.Env(s), "=")
	return agent.WithEnv(key, value)
}

// collect reads the manual reader.
func (r *rig) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(t.Context(), &rm))
	return rm
}

// point is one data point, flattened: a sum's or a gauge's value, a
// histogram's count and sum.
type point struct {
	attrs      attribute.Set
	value      float64
	count      uint64
	sum        float64
	histogram  bool
	monotonic  bool
	bounds     []float64
	metricUnit string
}

// points are the data points of the metric name, in any scope.
func points(rm metricdata.ResourceMetrics, name string) []point {
	var out []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: float64(p.Value), monotonic: d.IsMonotonic, metricUnit: m.Unit})
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: p.Value, monotonic: d.IsMonotonic, metricUnit: m.Unit})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: float64(p.Value), metricUnit: m.Unit})
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: p.Value, metricUnit: m.Unit})
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, count: p.Count, sum: p.Sum, histogram: true, bounds: p.Bounds, metricUnit: m.Unit})
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, count: p.Count, sum: float64(p.Sum), histogram: true, bounds: p.Bounds, metricUnit: m.Unit})
				}
			}
		}
	}
	return out
}

// find is the point of name whose attributes are want ("key=value"), and
// whether there is one.
func find(rm metricdata.ResourceMetrics, name string, want ...string) (point, bool) {
	for _, p := range points(rm, name) {
		if p.attrs.Len() == len(want) && hasAttrs(p.attrs, want) {
			return p, true
		}
	}
	return point{}, false
}

func hasAttrs(set attribute.Set, want []string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		got, ok := set.Value(attribute.Key(k))
		if !ok || got.String() != v {
			return false
		}
	}
	return true
}

// scrape is the exporter's answer to a scrape: each sample line's value by
// its name and labels, as Prometheus would read them.
func (r *rig) scrape(t *testing.T) []sample {
	t.Helper()
	rec := httptest.NewRecorder()
	r.prom.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	var out []sample
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		name, labels, _ := strings.Cut(line[:i], "{")
		out = append(out, sample{name: name, labels: strings.TrimSuffix(labels, "}"), value: v})
	}
	return out
}

type sample struct {
	name, labels string
	value        float64
}

// value is the sample of name whose labels include want (`key="value"`),
// and whether there is one.
func value(samples []sample, name string, want ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for _, w := range want {
			if !strings.Contains(s.labels, w) {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func attrOf(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}
