package callback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDoRecoversAPanic(t *testing.T) {
	var logged bytes.Buffer
	g := New(slog.New(slog.NewTextHandler(&logged, nil)), nil)
	err := g.Do("Config.Stderr", func() { panic("user bug") })
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "Config.Stderr", pe.Name)
	assert.Equal(t, "user bug", pe.Value)
	assert.Contains(t, err.Error(), "agent: ")
	assert.EqualValues(t, 1, g.Stats().Panics)
	assert.Contains(t, logged.String(), "Config.Stderr")
	assert.NoError(t, g.Do("ok", func() {}))
}

// Call returns f's answer; a panic is an error; a call that does not
// return in time gives ErrTimeout while it goes on, tracked.
func TestCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(nil, nil)
		v, err := Call(g, "quick", time.Second, func() int { return 7 })
		assert.NoError(t, err)
		assert.Equal(t, 7, v)

		_, err = Call(g, "panicky", time.Second, func() int { panic("bug") })
		var pe *PanicError
		assert.ErrorAs(t, err, &pe)

		release := make(chan struct{})
		start := time.Now()
		v, err = Call(g, "stuck", time.Second, func() int { <-release; return 1 })
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Zero(t, v)
		assert.Equal(t, time.Second, time.Since(start), "the caller waited its bound, no more")
		assert.Equal(t, Stats{Panics: 1, TimedOut: 1, Running: 1}, g.Stats())

		close(release)
		synctest.Wait()
		assert.Zero(t, g.Stats().Running)
	})
}

// Wait waits for calls still running, at most its bound; then they are
// abandoned and counted.
func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged bytes.Buffer
		g := New(slog.New(slog.NewTextHandler(&logged, nil)), nil)
		assert.Zero(t, g.Wait(time.Second), "nothing running: at once")

		g.Go("slow", func() { time.Sleep(300 * time.Millisecond) })
		start := time.Now()
		assert.Zero(t, g.Wait(time.Second))
		assert.Equal(t, 300*time.Millisecond, time.Since(start), "returns when the last call does")

		release := make(chan struct{})
		g.Go("stuck", func() { <-release })
		g.Go("panicky", func() { panic("bug") })
		start = time.Now()
		assert.Equal(t, 1, g.Wait(time.Second))
		assert.Equal(t, time.Second, time.Since(start))
		st := g.Stats()
		assert.EqualValues(t, 1, st.Abandoned)
		assert.EqualValues(t, 1, st.Panics)
		assert.Contains(t, logged.String(), "abandoned")
		close(release)
	})
}

type panickyHandler struct{ slog.Handler }

func (panickyHandler) Handle(context.Context, slog.Record) error { panic("handler bug") }
func (h panickyHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickyHandler) WithGroup(string) slog.Handler           { return h }

// A panicking slog handler is recovered and counted; its record is lost.
func TestHandlerRecoversAPanic(t *testing.T) {
	g := New(nil, nil)
	log := slog.New(Handler(panickyHandler{slog.NewTextHandler(io.Discard, nil)}, g))
	assert.NotPanics(t, func() { log.Info("hello", "k", "v") })
	assert.NotPanics(t, func() { log.With("a", 1).WithGroup("g").Error("again") })
	assert.EqualValues(t, 2, g.Stats().Panics)

	var out bytes.Buffer
	log = slog.New(Handler(slog.NewTextHandler(&out, nil), g))
	log.With("a", 1).Info("fine")
	assert.Contains(t, out.String(), "fine")
	assert.Contains(t, out.String(), "a=1")
}

// The guard's own report of a panic goes through a logger that panics too:
// still recovered.
func TestPanicReportThroughAPanickingLogger(t *testing.T) {
	g := New(nil, nil)
	g.log = slog.New(Handler(panickyHandler{slog.NewTextHandler(io.Discard, nil)}, g))
	err := g.Do("Config.Classify", func() { panic("bug") })
	assert.True(t, errors.As(err, new(*PanicError)))
	assert.EqualValues(t, 2, g.Stats().Panics, "the callback's and the logger's")
}

// The guard's reports of a time-out and of abandoned calls go through the
// user's raw logger, which may panic: neither the caller of Call nor the
// one of Wait sees that panic.
func TestReportsThroughARawPanickingLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(slog.New(panickyHandler{slog.NewTextHandler(io.Discard, nil)}), nil)
		release := make(chan struct{})
		_, err := Call(g, "Config.Classify", time.Second, func() int { <-release; return 1 })
		require.ErrorIs(t, err, ErrTimeout)
		assert.NotPanics(t, func() { assert.Equal(t, 1, g.Wait(time.Second)) })
		close(release)
		synctest.Wait()
	})
}
