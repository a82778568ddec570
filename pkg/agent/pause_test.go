package agent_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// withLines is a successful run that prints lines after init.
func withLines(lines ...string) fakecli.Script {
	s := fakecli.Script{fakecli.Line(fakecli.InitLine())}
	for _, l := range lines {
		s = append(s, fakecli.Line(l))
	}
	return append(s, fakecli.Success("ok", 0)[1:]...)
}

func retryLine(delayMS string) string {
	return fmt.Sprintf(`{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":%s,"error_status":429,"error":"rate_limit"}`, delayMS)
}

func rejectedLine(resetsAt string) string {
	return fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":%s,"rateLimitType":"five_hour"}}`, resetsAt)
}

// One stream line cannot pause the client for years: a pause is cut to
// RateLimit.MaxPause (without overflowing into the past), and a malformed
// one is ignored; each kind is logged once.
func TestPauseIsBounded(t *testing.T) {
	const maxPause = 10 * time.Minute
	for _, tc := range []struct {
		name, line string
		want       time.Duration // the pause from now; 0: none
		log        string
	}{
		{"429 of 7 s", retryLine("7000"), 7 * time.Second, ""},
		{"429 of 1e12 ms (31 years)", retryLine("1e12"), maxPause, "cut to Config.RateLimit.MaxPause"},
		{"429 of 1e17 ms (overflows a Duration)", retryLine("1e17"), maxPause, "cut to Config.RateLimit.MaxPause"},
		{"429 of 1e300 ms (beyond int64)", retryLine("1e300"), maxPause, "cut to Config.RateLimit.MaxPause"},
		{"429 of 0 ms", retryLine("0"), 0, "ignored a malformed rate-limit signal"},
		{"429 of -5 ms", retryLine("-5"), 0, "ignored a malformed rate-limit signal"},
		{"reset in 31 years", rejectedLine("FAR"), maxPause, "cut to Config.RateLimit.MaxPause"},
		{"reset in 5 minutes", rejectedLine("SOON"), 5 * time.Minute, ""},
		{"reset in the past", rejectedLine("PAST"), 0, "ignored a malformed rate-limit signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			c, mock := newClient(t, func(cfg *agent.Config) {
				cfg.RateLimit.MaxPause = maxPause
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			mock.Add(1000 * time.Hour) // a mock clock starts at the Unix epoch
			now := mock.Now()
			line := strings.NewReplacer(
				"FAR", fmt.Sprint(now.AddDate(31, 0, 0).Unix()),
				"SOON", fmt.Sprint(now.Add(5*time.Minute).Unix()),
				"PAST", fmt.Sprint(now.Add(-time.Minute).Unix()),
			).Replace(tc.line)
			_, err := c.Run(t.Context(), "prompt", play(withLines(line, line))) // twice: logged once
			require.NoError(t, err)
			paused := c.Stats().Limiter.PausedUntil
			if tc.want == 0 {
				assert.True(t, paused.IsZero(), "paused until %v", paused)
			} else {
				assert.Equal(t, now.Add(tc.want), paused)
			}
			if tc.log != "" {
				assert.Equal(t, 1, strings.Count(logs.String(), tc.log), "logged once: %s", logs.String())
			}
		})
	}
}

// ClearPause lifts a pause: a query waiting for it is admitted at once.
func TestClearPauseAdmitsWaiters(t *testing.T) {
	c, mock := newClient(t, nil)
	_, err := c.Run(t.Context(), "prompt", play(withLines(retryLine("60000"))))
	require.NoError(t, err)
	require.Equal(t, mock.Now().Add(time.Minute), c.Stats().Limiter.PausedUntil)

	done := start(t.Context(), c, play(fakecli.Success("ok", 0)))
	require.Eventually(t, queued(c, 1), 5*time.Second, time.Millisecond)
	c.ClearPause()
	require.NoError(t, <-done, "admitted with no time passing")
	assert.True(t, c.Stats().Limiter.PausedUntil.IsZero())
}
