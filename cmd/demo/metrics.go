package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent/otel/prom"
)

// metrics serves the metrics of every phase's client for Prometheus
// (--metrics): one OpenTelemetry pipeline (pkg/agent/otel) for the whole
// run, exported by pkg/agent/otel/prom, so the counters add up across the
// phases and each phase's gauges are there while its client runs.
type metrics struct {
	exp  *prom.Exporter
	obs  *agent.Observer // for each phase's Config.Observer, beside the listener's
	srv  *http.Server
	url  string
	done chan error // the server's end
}

// metricsShutdown bounds how long the end of the demo waits for a scrape
// in progress.
const metricsShutdown = 2 * time.Second

// startMetrics listens on addr and serves /metrics until close.
func startMetrics(addr string) (*metrics, error) {
	exp, err := prom.New()
	if err != nil {
		return nil, err
	}
	obs, err := otel.NewObserver(otel.WithMeterProvider(exp.MeterProvider()))
	if err != nil {
		exp.Shutdown(context.Background()) //nolint:errcheck // nothing was recorded
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		exp.Shutdown(context.Background()) //nolint:errcheck // nothing was recorded
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", exp)
	m := &metrics{
		exp: exp, obs: obs, url: "http://" + ln.Addr().String() + "/metrics",
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		done: make(chan error, 1),
	}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

// observe registers client's gauges (queue length, processes, breaker
// state, spend); the returned func unregisters them.
func (m *metrics) observe(client *agent.Client) (unregister func(), err error) {
	reg, err := otel.ObserveClient(client, otel.WithMeterProvider(m.exp.MeterProvider()))
	if err != nil {
		return nil, err
	}
	return func() { reg.Unregister() }, nil //nolint:errcheck // only fails on a shut down provider
}

// close stops the server, waiting for a scrape in progress, then the
// meter provider.
func (m *metrics) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdown)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serveErr := <-m.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, m.exp.Shutdown(ctx))
}
