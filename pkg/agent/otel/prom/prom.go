// Package prom serves the metrics of pkg/agent/otel for Prometheus to
// scrape, through OpenTelemetry's Prometheus exporter: the instruments are
// the same ones an OTLP pipeline gets, and the exporter names them as
// Prometheus expects (dots to underscores, the unit as a suffix,
// _total on counters): gen_ai_client_operation_duration_seconds,
// claude_agent_queries_total, claude_agent_refusals_total{claude_agent_limit="budget"},
// claude_agent_breaker_state{claude_agent_breaker_state="open"}...
//
//	exp, err := prom.New()
//	obs, err := otel.NewObserver(otel.WithMeterProvider(exp.MeterProvider()))
//	cfg.Observer = obs
//	client, err := agent.New(cfg)
//	reg, err := otel.ObserveClient(client, otel.WithMeterProvider(exp.MeterProvider()))
//	http.Handle("/metrics", exp)
//
// No label carries a prompt, a session or query id, or an error's text.
package prom

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Exporter is a meter provider whose metrics are served, in the Prometheus
// text format, by its ServeHTTP. It is safe for concurrent use. Call
// Shutdown when done with it.
type Exporter struct {
	mp      *sdkmetric.MeterProvider
	handler http.Handler
}

// New returns an Exporter with a registry of its own (no Go runtime or
// process metrics). opts go to the meter provider (a resource, views...).
func New(opts ...sdkmetric.Option) (*Exporter, error) {
	registry := prometheus.NewRegistry()
	reader, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(append(opts[:len(opts):len(opts)], sdkmetric.WithReader(reader))...)
	return &Exporter{mp: mp, handler: promhttp.HandlerFor(registry, promhttp.HandlerOpts{})}, nil
}

// MeterProvider is where the metrics to serve are recorded: pass it to
// otel.WithMeterProvider.
func (e *Exporter) MeterProvider() *sdkmetric.MeterProvider { return e.mp }

// ServeHTTP answers a scrape.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// Shutdown stops the meter provider; a scrape after it serves nothing.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.mp.Shutdown(ctx) }
