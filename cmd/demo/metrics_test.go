package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// --metrics serves the clients' metrics for Prometheus while the demo
// runs: a scrape during the burst finds its queries.
func TestMetricsAreServedWhileTheDemoRuns(t *testing.T) {
	var stdout, stderr lockedBuffer
	addr := regexp.MustCompile(`metrics at (http://\S+/metrics)`)
	var url, scraped string
	stderr.onWrite = func(p []byte) {
		if m := addr.FindSubmatch(p); m != nil {
			url = string(m[1])
		}
	}
	// The console writes from the demo's goroutines, under stdout's lock:
	// scrape there until the queries show.
	stdout.onWrite = func([]byte) {
		if url == "" || strings.Contains(scraped, `claude_agent_queries_total{claude_agent_outcome="success"`) {
			return
		}
		resp, err := http.Get(url)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		scraped = string(b)
	}
	code := run(t.Context(), append([]string{"--scenario", "burst", "--metrics", "127.0.0.1:0"}, fast...), &stdout, &stderr)
	assert.Equal(t, exitOK, code, stderr.String())
	assert.NotEmpty(t, url, "the address on stderr")
	assert.Contains(t, scraped, `claude_agent_queries_total{claude_agent_outcome="success"`)
	assert.Contains(t, scraped, "gen_ai_client_operation_duration_seconds_bucket")
	assert.Contains(t, scraped, "claude_agent_queue_length")
	_, err := http.Get(url)
	assert.Error(t, err, "the endpoint outlives the demo")
}

// A --metrics address that cannot be listened on is a usage error.
func TestMetricsBadAddress(t *testing.T) {
	code, _, stderr := runDemo(t, t.Context(), "--metrics", "256.0.0.1:x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--metrics")
}
