package callback

import (
	"context"
	"log/slog"
)

// Handler wraps the user's slog handler so that a panic in it is recovered
// and counted (Stats.Panics), never logged (it would go through the same
// handler), and the record is dropped. A handler that blocks is not made
// asynchronous: it runs in the goroutine that logs, as slog handlers do,
// and blocks it (the limiter's and breaker's actors among them). Making
// every record asynchronous would cost a copy and a queue per record; a
// handler that does slow I/O should buffer on its own.
func Handler(h slog.Handler, g *Guard) slog.Handler {
	if _, ok := h.(*handler); ok {
		return h
	}
	return &handler{h: h, g: g}
}

type handler struct {
	h slog.Handler
	g *Guard
}

func (w *handler) Enabled(ctx context.Context, l slog.Level) (ok bool) {
	w.g.Quiet("Logger", func() { ok = w.h.Enabled(ctx, l) }) //nolint:errcheck // counted
	return ok
}

func (w *handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if perr := w.g.Quiet("Logger", func() { err = w.h.Handle(ctx, r) }); perr != nil {
		return perr
	}
	return err
}

func (w *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h := slog.Handler(w)
	w.g.Quiet("Logger", func() { h = &handler{h: w.h.WithAttrs(attrs), g: w.g} }) //nolint:errcheck // counted
	return h
}

func (w *handler) WithGroup(name string) slog.Handler {
	h := slog.Handler(w)
	w.g.Quiet("Logger", func() { h = &handler{h: w.h.WithGroup(name), g: w.g} }) //nolint:errcheck // counted
	return h
}
