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

// metrics serves --metrics: the OpenTelemetry metrics of every phase's
// client (pkg/agent/otel), as Prometheus text on /metrics, while the demo
// runs. A nil *metrics does nothing.
type metrics struct {
	exp  *prom.Exporter
	srv  *http.Server
	addr string     // where it listens, once started
	done chan error // Serve's return, buffered
}

// startMetrics listens on addr and serves the scrape endpoint until stop.
func startMetrics(addr string) (*metrics, error) {
	exp, err := prom.New()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		exp.Shutdown(context.Background())
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", exp)
	m := &metrics{exp: exp, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

// observe sets cfg's Observer to the adapter's.
func (m *metrics) observe(cfg *agent.Config) error {
	if m == nil {
		return nil
	}
	obs, err := otel.NewObserver(otel.WithMeterProvider(m.exp.MeterProvider()))
	cfg.Observer = obs
	return err
}

// watch registers c's gauges; the function returned unregisters them.
func (m *metrics) watch(c *agent.Client) (func(), error) {
	if m == nil {
		return func() {}, nil
	}
	reg, err := otel.ObserveClient(c, otel.WithMeterProvider(m.exp.MeterProvider()))
	if err != nil {
		return nil, err
	}
	return func() { reg.Unregister() }, nil
}

// stop shuts the server down and waits for it.
func (m *metrics) stop() error {
	if m == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serveErr := <-m.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, m.exp.Shutdown(ctx))
}
