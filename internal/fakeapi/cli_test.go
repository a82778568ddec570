package fakeapi_test

// These tests run the real claude CLI (see fakeapi.CLIPath) against the fake
// API and check what it printed and what it asked. They are the evidence for
// the facts listed in doc.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
)

// messageText joins the text blocks of an assistant line.
func messageText(t *testing.T, line map[string]any) string {
	t.Helper()
	msg, ok := line["message"].(map[string]any)
	require.True(t, ok, "no message in %v", line["type"])
	content, _ := msg["content"].([]any)
	var b strings.Builder
	for _, c := range content {
		block, _ := c.(map[string]any)
		if block["type"] == "text" {
			b.WriteString(block["text"].(string))
		}
	}
	return b.String()
}

func TestCLIText(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("hello from the fake"))
	r := runCLI(t, srv, 0, "say hi")

	assert.Equal(t, 0, r.exit)
	require.GreaterOrEqual(t, len(r.lines), 3)
	assert.Equal(t, "system", r.lines[0]["type"])
	assert.Equal(t, "init", r.lines[0]["subtype"])
	assert.Equal(t, "claude-opus-4-8[1m]", r.lines[0]["model"], "default model")
	require.Len(t, r.byType("assistant"), 1)
	assert.Equal(t, "hello from the fake", messageText(t, r.byType("assistant")[0]))
	res := r.result(t)
	assert.Equal(t, "success", res["subtype"])
	assert.Equal(t, false, res["is_error"])
	assert.Equal(t, "hello from the fake", res["result"])
	assert.EqualValues(t, 1, res["num_turns"])
	// 12 input tokens at 5 USD/Mtok + 6 output tokens at 25 USD/Mtok.
	assert.InDelta(t, 0.00021, res["total_cost_usd"], 1e-9)

	reqs := srv.Requests()
	require.Len(t, reqs, 2, "HEAD / then one POST")
	assert.Equal(t, "HEAD", reqs[0].Method)
	assert.Equal(t, "/", reqs[0].Path)
	assert.True(t, reqs[1].IsMessages())
	assert.Equal(t, "beta=true", reqs[1].Query)
	assert.True(t, reqs[1].Stream)
	assert.Equal(t, "claude-opus-4-8", reqs[1].Model)
}

func TestCLIToolUse(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse("echo tool-ran-ok"), fakeapi.Text("done"))
	r := runCLI(t, srv, 0, "run it", "--allowedTools", "Bash")

	assert.Equal(t, 0, r.exit)
	res := r.result(t)
	assert.Equal(t, false, res["is_error"])
	assert.EqualValues(t, 2, res["num_turns"])
	assert.Equal(t, "done", res["result"])
	assert.InDelta(t, 2*0.00021, res["total_cost_usd"], 1e-9, "both requests are charged")
	users := r.byType("user")
	require.Len(t, users, 1)
	assert.Contains(t, r.raw[indexOf(r.lines, users[0])], `"type":"tool_result"`)
	assert.Contains(t, r.raw[indexOf(r.lines, users[0])], `"content":"tool-ran-ok"`)

	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.Empty(t, msgs[0].ToolResults())
	results := msgs[1].ToolResults()
	require.Len(t, results, 1)
	var tr struct {
		ToolUseID string `json:"tool_use_id"`
		Content   string `json:"content"`
		IsError   bool   `json:"is_error"`
	}
	require.NoError(t, json.Unmarshal(results[0], &tr))
	assert.Equal(t, "toolu_fake0001", tr.ToolUseID)
	assert.Equal(t, "tool-ran-ok", tr.Content)
	assert.False(t, tr.IsError)
}

func indexOf(lines []map[string]any, line map[string]any) int {
	for i, l := range lines {
		if l["uuid"] == line["uuid"] {
			return i
		}
	}
	return -1
}

func TestCLIBigTextArrivesWhole(t *testing.T) {
	t.Parallel()
	want := fakeapi.Filler(3 << 20)
	srv := fakeapi.New(t, fakeapi.Text(want))
	r := runCLI(t, srv, 0, "write a lot")

	assert.Equal(t, 0, r.exit)
	require.Len(t, r.byType("assistant"), 1)
	got := messageText(t, r.byType("assistant")[0])
	assert.Equal(t, len(want), len(got))
	assert.True(t, got == want, "3 MB text differs")
	assert.True(t, r.result(t)["result"] == want, "result text differs")
	for _, l := range r.raw {
		if len(l) > 1<<20 {
			t.Logf("stdout line of %d bytes", len(l))
		}
	}
}

func TestCLIBigPromptArrivesIntact(t *testing.T) {
	t.Parallel()
	prompt := fakeapi.Filler(300 << 10)
	srv := fakeapi.New(t)
	r := runCLI(t, srv, 0, prompt)

	assert.Equal(t, 0, r.exit)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.True(t, msgs[0].HasText(prompt), "the 300 KB prompt is not one text block of the request")
	assert.Greater(t, msgs[0].BodySize, 300<<10)
}

// TestCLIAPIErrors covers answers with an HTTP error status. The CLI retries
// 401, 429, 500, 529 and connection errors (CLAUDE_CODE_MAX_RETRIES times,
// one api_retry line each) but not 400; every failed run ends with a
// synthetic assistant message and a result whose subtype is still
// "success", with is_error true, total_cost_usd 0, and exit code 1.
func TestCLIAPIErrors(t *testing.T) {
	t.Parallel()
	overloaded := fakeapi.Error(529, "overloaded_error", "Overloaded")
	tests := []struct {
		name       string
		maxRetries int
		answers    []fakeapi.Answer
		def        fakeapi.Answer
		status     any // api_error_status: float64 or nil
		resultText string
		retries    []map[string]any // wanted fields of the api_retry lines
		requests   int
	}{
		{
			name: "400 is not retried", maxRetries: 3,
			answers: []fakeapi.Answer{fakeapi.Error(400, "invalid_request_error", "bad thing")},
			def:     fakeapi.Text("never asked"),
			status:  400.0, resultText: "API Error: 400 bad thing", requests: 1,
		},
		{
			name: "529 without retries", maxRetries: 0,
			answers: []fakeapi.Answer{overloaded},
			def:     fakeapi.Text("never asked"),
			status:  529.0, resultText: "API Error: 529 Overloaded", requests: 1,
		},
		{
			name: "529 retried once then given up", maxRetries: 1,
			def:    overloaded,
			status: 529.0, resultText: "API Error: 529 Overloaded", requests: 2,
			retries: []map[string]any{{"attempt": 1.0, "max_retries": 1.0, "error_status": 529.0, "error": "overloaded"}},
		},
		{
			name: "429 without retries", maxRetries: 0,
			answers: []fakeapi.Answer{fakeapi.Error(429, "rate_limit_error", "slow down").WithRetryAfter(30)},
			def:     fakeapi.Text("never asked"),
			status:  429.0, resultText: "API Error: Request rejected (429) · slow down", requests: 1,
		},
		{
			name: "401 is retried too", maxRetries: 1,
			def:    fakeapi.Error(401, "authentication_error", "invalid x-api-key"),
			status: 401.0, resultText: "Invalid API key · Fix external API key", requests: 2,
			retries: []map[string]any{{"attempt": 1.0, "max_retries": 1.0, "error_status": 401.0, "error": "authentication_failed"}},
		},
		{
			name: "500 retried once then given up", maxRetries: 1,
			def:    fakeapi.Error(500, "api_error", "Internal server error"),
			status: 500.0, resultText: "API Error: 500 Internal server error", requests: 2,
			retries: []map[string]any{{"attempt": 1.0, "max_retries": 1.0, "error_status": 500.0, "error": "server_error"}},
		},
		{
			name: "connection dropped", maxRetries: 0,
			answers: []fakeapi.Answer{fakeapi.Drop()},
			def:     fakeapi.Text("never asked"),
			status:  nil, resultText: "API Error: Unable to connect to API (ECONNRESET)", requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, tt.answers...)
			srv.SetDefault(tt.def)
			r := runCLI(t, srv, tt.maxRetries, "hi")

			assert.Equal(t, 1, r.exit)
			res := r.result(t)
			assert.Equal(t, "success", res["subtype"])
			assert.Equal(t, true, res["is_error"])
			assert.Equal(t, tt.status, res["api_error_status"])
			assert.True(t, strings.HasPrefix(res["result"].(string), tt.resultText), "result %q", res["result"])
			assert.EqualValues(t, 0, res["total_cost_usd"])
			require.Len(t, r.byType("assistant"), 1)
			synthetic := r.byType("assistant")[0]
			assert.Equal(t, "<synthetic>", synthetic["message"].(map[string]any)["model"])
			assert.NotEmpty(t, synthetic["error"])
			retries := r.byType("system", "api_retry")
			require.Len(t, retries, len(tt.retries))
			for i, want := range tt.retries {
				for k, v := range want {
					assert.Equal(t, v, retries[i][k], k)
				}
			}
			assert.Len(t, srv.Messages(), tt.requests)
		})
	}
}

// TestCLIRateLimitRetryAfter: the CLI honours retry-after (in seconds, for
// real) and reports it in the api_retry line, then succeeds on the retry.
func TestCLIRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t,
		fakeapi.Error(429, "rate_limit_error", "slow down").WithRetryAfter(1),
		fakeapi.Text("after the wait"))
	r := runCLI(t, srv, 1, "hi")

	assert.Equal(t, 0, r.exit)
	retries := r.byType("system", "api_retry")
	require.Len(t, retries, 1)
	assert.EqualValues(t, 429, retries[0]["error_status"])
	assert.Equal(t, "rate_limit", retries[0]["error"])
	assert.EqualValues(t, 1000, retries[0]["retry_delay_ms"])
	assert.EqualValues(t, 1, retries[0]["attempt"])
	assert.EqualValues(t, 1, retries[0]["max_retries"])
	res := r.result(t)
	assert.Equal(t, false, res["is_error"])
	assert.Equal(t, "after the wait", res["result"])
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.GreaterOrEqual(t, msgs[1].Time.Sub(msgs[0].Time), time.Second)
}

// TestCLICutMidStream: when the stream breaks after message_start, the CLI
// does not report an api_retry; it sends the same request again at once
// without "stream" (a non-streaming fallback) and, if that one succeeds, the
// run succeeds, charged for the fallback only. If the fallback fails too, the
// run fails as that answer says.
func TestCLICutMidStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fallback fakeapi.Answer
		isError  bool
		status   any
		result   string
		exit     int
	}{
		{"fallback succeeds", fakeapi.Text("from the fallback"), false, nil, "from the fallback", 0},
		{"fallback overloaded", fakeapi.Error(529, "overloaded_error", "Overloaded"), true, 529.0, "API Error: 529 Overloaded", 1},
		{"fallback dropped", fakeapi.Drop(), true, nil, "API Error: Unable to connect to API (ECONNRESET)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.Text("half of it").CutAfter(3), tt.fallback)
			r := runCLI(t, srv, 0, "hi")

			assert.Equal(t, tt.exit, r.exit)
			assert.Empty(t, r.byType("system", "api_retry"))
			res := r.result(t)
			assert.Equal(t, tt.isError, res["is_error"])
			assert.Equal(t, tt.status, res["api_error_status"])
			assert.True(t, strings.HasPrefix(res["result"].(string), tt.result), "result %q", res["result"])
			msgs := srv.Messages()
			require.Len(t, msgs, 2)
			assert.True(t, msgs[0].Stream)
			assert.False(t, msgs[1].Stream, "the fallback does not stream")
		})
	}
}

// TestCLICost: the CLI prices usage with its own table; the default model
// (claude-opus-4-8) costs 5 USD per million input and 25 USD per million
// output tokens.
func TestCLICost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in, out  int
		wantCost float64
	}{
		{"output", 0, 800_000, 20},
		{"input", 1_000_000, 0, 5},
		{"both", 2_000_000, 400_000, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, fakeapi.Usage(tt.in, tt.out))
			r := runCLI(t, srv, 0, "hi")

			assert.Equal(t, 0, r.exit)
			res := r.result(t)
			assert.Equal(t, false, res["is_error"])
			assert.InDelta(t, tt.wantCost, res["total_cost_usd"], 1e-6)
			assert.Greater(t, res["total_cost_usd"], 1.0)
		})
	}
}

// TestCLIMaxBudget: --max-budget-usd is checked after each API response
// against the run's cumulative cost, never before the first request. A
// single expensive answer therefore runs to the end and is charged in full
// (20 USD against a 0.5 USD budget); a tool it asked for is not run.
func TestCLIMaxBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   []fakeapi.Answer
		wantCost  float64
		wantTurns float64
		requests  int
	}{
		{"one huge answer", []fakeapi.Answer{fakeapi.Usage(0, 800_000)}, 20, 1, 1},
		{"huge tool use is not run", []fakeapi.Answer{fakeapi.ToolUse("echo never").WithUsage(0, 800_000)}, 20, 1, 1},
		{"crossed on the second turn", []fakeapi.Answer{
			fakeapi.ToolUse("echo one").WithUsage(0, 16_000), // 0.40 USD
			fakeapi.ToolUse("echo two").WithUsage(0, 16_000), // 0.80 USD in all
			fakeapi.Text("never asked"),
		}, 0.8, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, tt.answers...)
			r := runCLI(t, srv, 0, "hi", "--max-budget-usd", "0.5", "--allowedTools", "Bash")

			assert.Equal(t, 1, r.exit)
			res := r.result(t)
			assert.Equal(t, "error_max_budget_usd", res["subtype"])
			assert.Equal(t, true, res["is_error"])
			assert.InDelta(t, tt.wantCost, res["total_cost_usd"], 1e-6)
			assert.Equal(t, tt.wantTurns, res["num_turns"])
			assert.Equal(t, []any{"Reached maximum budget ($0.5)"}, res["errors"])
			assert.Len(t, srv.Messages(), tt.requests)
			assert.Len(t, r.byType("user"), tt.requests-1, "tool results")
		})
	}
}

// TestCLIConcurrentRunsHeldByGate: requests held by a gate count in flight
// until released, and the CLI waits for a slow stream.
func TestCLIConcurrentRunsHeldByGate(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	srv := fakeapi.New(t)
	srv.SetDefault(fakeapi.Text("released").WithGate(gate))

	path := fakeapi.CLIPath(t)
	const n = 3
	runs := make([]run, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { runs[i], errs[i] = tryCLI(t, path, srv, 0, "hi") })
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := srv.WaitInFlight(ctx, n)
	close(gate)
	wg.Wait()

	require.NoError(t, err)
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, n, srv.MaxInFlight())
	assert.Equal(t, 0, srv.InFlight())
	for _, r := range runs {
		assert.Equal(t, 0, r.exit)
		assert.Equal(t, "released", r.result(t)["result"])
	}
}

// TestCLIPipeLosesLargeOutput documents a hazard for any reader of the CLI:
// when its stdout is a pipe, the CLI exits (code 0) without writing what the
// pipe could not take yet. A 3 MB answer gives about 6.4 MB of stdout; a
// prompt reader gets the init line and some hundreds of KB of the assistant
// line, cut in the middle, and no result line. To a file it writes all.
func TestCLIPipeLosesLargeOutput(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text(fakeapi.Filler(3<<20)))
	var stdout bytes.Buffer // os/exec copies from a pipe into it
	r, err := execCLI(t, fakeapi.CLIPath(t), srv, 0, "hi", &stdout)
	require.NoError(t, err)
	t.Logf("exit %d in %v; %d bytes of stdout through a pipe", r.exit, r.wall.Round(time.Millisecond), stdout.Len())

	assert.Equal(t, 0, r.exit)
	assert.Less(t, stdout.Len(), 3<<20, "the pipe got the whole output")
	assert.NotContains(t, stdout.String(), `"type":"result"`)
	assert.False(t, bytes.HasSuffix(stdout.Bytes(), []byte("\n")), "output ends with a whole line")
	first, _, _ := bytes.Cut(stdout.Bytes(), []byte("\n"))
	assert.Contains(t, string(first), `"subtype":"init"`)
}
