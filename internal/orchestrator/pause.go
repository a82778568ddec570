package orchestrator

import (
	"sync/atomic"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// DefaultMaxPause bounds a pause signalled by the API when Config.MaxPause
// is 0: long enough for any retry-after the API gives, short enough that a
// wrong or far-off reset time costs at most an hour; the first query after
// it hears from the API again, and pauses again if the limit still holds.
const DefaultMaxPause = time.Hour

// pauses turns the API's rate signals into limiter pauses, bounded by max.
// It is safe for concurrent use.
type pauses struct {
	max time.Duration
	// warned* make each kind of bad signal logged once per client.
	warnedLong, warnedMalformed atomic.Bool
}

// pauseSignal is a pause asked for by one stream line.
type pauseSignal struct {
	until time.Time
	why   string // the signal, for the log
	// cut: the signal asked for longer than the maximum and until is cut
	// to now + max; ignored: it was malformed (a delay not above zero, a
	// reset time not in the future) and nothing is paused.
	cut, ignored bool
}

// signal returns the pause msg asks for at now, if any: an api_retry for
// a 429 pauses for its retry delay, a rejected rate_limit_event until its
// reset time. The pause never reaches past now + p.max.
func (p *pauses) signal(msg protocol.Message, now time.Time) (pauseSignal, bool) {
	var s pauseSignal
	switch m := msg.(type) {
	case *protocol.SystemMessage:
		r := m.APIRetry
		if r == nil || r.ErrorStatus != 429 {
			return s, false
		}
		s.why = "api_retry 429"
		d := r.RetryDelay() // saturates: never overflows into the past
		if d <= 0 {
			s.ignored = true
			return s, true
		}
		s.until = now.Add(min(d, p.max))
		s.cut = d > p.max
	case *protocol.RateLimitEvent:
		if m.Status != protocol.RateLimitRejected {
			return s, false
		}
		s.why = "rate_limit_event rejected"
		if !m.ResetsAt.After(now) {
			s.ignored = true // missing, zero, absurd (decoded as zero) or past
			return s, true
		}
		s.until = m.ResetsAt
		if m.ResetsAt.Sub(now) > p.max {
			s.until, s.cut = now.Add(p.max), true
		}
	default:
		return s, false
	}
	return s, true
}

// apply pauses the limiter for msg, if it asks for a pause, and logs it;
// a cut or ignored signal is logged once per kind.
func (o *Orchestrator) applyPause(msg protocol.Message) {
	s, ok := o.pauses.signal(msg, o.clock.Now())
	switch {
	case !ok:
		return
	case s.ignored:
		if !o.pauses.warnedMalformed.Swap(true) {
			o.log.Warn("ignored a malformed rate-limit signal from the CLI (logged once)", "signal", s.why, "line", string(excerptLine(msg.Raw())))
		}
		return
	case s.cut && !o.pauses.warnedLong.Swap(true):
		o.log.Warn("rate-limit pause cut to Config.RateLimit.MaxPause (logged once)", "signal", s.why, "max_pause", o.pauses.max, "line", string(excerptLine(msg.Raw())))
	}
	o.pause(s.until, s.why)
}

// excerptLine is the start of a stream line, for a log.
func excerptLine(line []byte) []byte {
	const max = 300
	if len(line) > max {
		return line[:max]
	}
	return line
}

// ClearPause lifts a pause the API signalled (an api_retry 429 or a
// rejected rate_limit_event): queries held only by it are admitted at once.
func (o *Orchestrator) ClearPause() {
	o.limiter.Unpause()
	o.log.Info("rate limiter pause lifted by the caller")
}
