// Package fakeapi is a fake Anthropic Messages API for running the real
// claude CLI in tests, with no network and no API key.
//
// New starts a Server on 127.0.0.1 with a queue of scripted answers (Text,
// ToolUse, Error, Drop, Usage, refined by WithUsage, WithRetryAfter,
// WithGate, WithDelay, CutAfter); each POST /v1/messages takes the next one,
// and an empty queue gives the default answer (SetDefault). The server
// records every request (Requests, Messages) and counts those in flight
// (InFlight, MaxInFlight, WaitInFlight). Server.Env gives the environment
// that points a CLI at it; CLIPath finds the CLI or skips the test.
//
//	srv := fakeapi.New(t, fakeapi.ToolUse("echo hi"), fakeapi.Text("done"))
//	cmd := exec.Command(fakeapi.CLIPath(t), "-p", "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash")
//	cmd.Env = append(os.Environ(), srv.Env(t, 0)...)
//
// # What the CLI does, as verified by this package's tests
//
// Claude Code 2.1.197 (make cli), on 2 cores. Each fact has a test in
// cli_test.go that fails if it stops being true.
//
// Requests. A run sends HEAD / (any 200 will do), then POST
// /v1/messages?beta=true with "stream": true and "model": "claude-opus-4-8"
// (the init line says "claude-opus-4-8[1m]"); about 76 KB of JSON for a
// one-word prompt. One more POST per tool turn, whose messages carry the
// tool_result. Nothing else reaches the server with the switches of Env (no
// count_tokens, no telemetry); without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC
// the body grows to about 85 KB and the run takes about 0.15 s longer, still
// with no other request. The prompt on stdin arrives byte for byte (300 KB
// tested) as one text block.
//
// Wall time. About 0.6 s per run alone (0.2 s before the POST); 1 to 3.5 s
// each when seven run at once on 2 cores. A retry adds its delay.
//
// Environment (Env). HOME must be fresh and writable (the CLI writes
// ~/.claude); ANTHROPIC_BASE_URL and any ANTHROPIC_API_KEY; CLAUDECODE must
// not be inherited. CLAUDE_CODE_MAX_RETRIES=N sets the retries per request.
// DISABLE_TELEMETRY, DISABLE_ERROR_REPORTING, DISABLE_AUTOUPDATER and
// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC (see above) are set for quiet,
// offline runs.
//
// Errors and retries. The CLI retries 401, 429, 500, 529 and dropped
// connections, printing one {"type":"system","subtype":"api_retry"} line per
// retry with attempt, max_retries, retry_delay_ms, error_status (null for a
// dropped connection) and error ("rate_limit", "overloaded", "server_error",
// "authentication_failed", "unknown"). It does not retry 400. With
// retry-after: N the delay is N*1000 ms, waited for real; without it the
// first delay is about 500 to 560 ms (backoff with jitter); retry-after-ms
// is ignored. When it gives up, it prints a synthetic assistant message
// (model "<synthetic>", a top-level "error") and a result with subtype
// "success" (sic), is_error true, api_error_status the last status (null for
// a connection error), total_cost_usd 0, and exits with code 1. Result texts:
// "API Error: 400 <message>", "API Error: Request rejected (429) · <message>",
// "API Error: 500 Internal server error. ...", "API Error: 529 Overloaded.
// ...", "Invalid API key · Fix external API key" (401), "API Error: Unable to
// connect to API (ECONNRESET)".
//
// Broken stream. When an SSE stream is cut after message_start, the CLI
// prints no api_retry line and at once (about 20 ms) sends the same request
// without "stream" (a non-streaming fallback, answered here with one JSON
// message); the run's outcome is that answer's: success (exit 0, charged for
// the fallback only), or an error result as above. The fallback is made even
// with CLAUDE_CODE_MAX_RETRIES=0, so one query may cost two requests.
//
// Costs. total_cost_usd comes from the CLI's own price table, from the usage
// the API reports: claude-opus-4-8 costs 5 USD per million input tokens and
// 25 USD per million output tokens (12 in + 6 out = 0.00021 USD; 800,000
// output tokens = 20 USD exactly; 1,000,000 input tokens = 5 USD). Failed
// requests cost 0.
//
// Budget. --max-budget-usd X is checked after each API response against the
// run's cumulative cost, never before the first request: one answer of 20
// USD against X = 0.5 is received, charged in full, and the run stops with
// result subtype "error_max_budget_usd", is_error true, total_cost_usd 20,
// errors ["Reached maximum budget ($0.5)"], exit code 1, and no
// api_error_status field. A tool the answer asked for is not run. With 0.40
// USD per turn, the first turn passes and the second ends the run at 0.80
// USD: a run overshoots its budget by up to one response.
//
// Output through a pipe. When the CLI's stdout is a pipe it exits (code 0)
// without writing what the pipe has not taken yet: with a 3 MB answer (6.4
// MB of stdout in two lines of 3.2 MB) a reader gets some hundreds of KB,
// cut mid-line, and no result line. Written to a file, the output is whole.
// Small outputs that fit the pipe buffer are not affected.
package fakeapi
