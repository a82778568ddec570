package fakeapi_test

// Tests of the server alone, with a Go HTTP client; they need no CLI.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
)

// client returns an HTTP client whose connections are closed when t ends.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// post sends a Messages request for model, streaming or not.
func post(t *testing.T, c *http.Client, srv *fakeapi.Server, model string, stream bool) (*http.Response, error) {
	body, err := json.Marshal(map[string]any{"model": model, "stream": stream, "messages": []any{}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+fakeapi.MessagesPath+"?beta=true", strings.NewReader(string(body)))
	require.NoError(t, err)
	return c.Do(req)
}

type sse struct {
	name string
	data map[string]any
}

// readSSE reads events until the body ends; err is the read error, if any.
func readSSE(body io.Reader) ([]sse, error) {
	var evs []sse
	var cur sse
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data); err != nil {
				return evs, err
			}
		case line == "":
			evs = append(evs, cur)
			cur = sse{}
		}
	}
	return evs, sc.Err()
}

func names(evs []sse) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

// deltas concatenates the text or partial_json of content_block_delta events.
func deltas(evs []sse) (string, int) {
	var b strings.Builder
	n := 0
	for _, e := range evs {
		if e.name != "content_block_delta" {
			continue
		}
		n++
		d := e.data["delta"].(map[string]any)
		if s, ok := d["text"].(string); ok {
			b.WriteString(s)
		}
		if s, ok := d["partial_json"].(string); ok {
			b.WriteString(s)
		}
	}
	return b.String(), n
}

func TestTextStream(t *testing.T) {
	t.Parallel()
	big := fakeapi.Filler(100 << 10)
	tests := []struct {
		name       string
		answer     fakeapi.Answer
		text       string
		deltas     int
		in, out    float64
		wantEvents []string
	}{
		{"short", fakeapi.Text("hi"), "hi", 1, fakeapi.DefaultInputTokens, fakeapi.DefaultOutputTokens, nil},
		{"big in 16 KiB deltas", fakeapi.Text(big), big, 7, fakeapi.DefaultInputTokens, fakeapi.DefaultOutputTokens, nil},
		{"usage", fakeapi.Usage(1000, 800_000), "usage", 1, 1000, 800_000, nil},
		{"small chunks", fakeapi.Text("abcdefg").WithChunkBytes(3), "abcdefg", 3, fakeapi.DefaultInputTokens, fakeapi.DefaultOutputTokens, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New(t, tt.answer)
			resp, err := post(t, client(t), srv, "claude-test", true)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			evs, err := readSSE(resp.Body)
			require.NoError(t, err)

			require.GreaterOrEqual(t, len(evs), 5)
			want := []string{"message_start", "content_block_start"}
			for range tt.deltas {
				want = append(want, "content_block_delta")
			}
			want = append(want, "content_block_stop", "message_delta", "message_stop")
			assert.Equal(t, want, names(evs))
			for _, e := range evs {
				assert.Equal(t, e.name, e.data["type"], "data type matches the event name")
			}
			text, _ := deltas(evs)
			assert.True(t, text == tt.text, "text differs")
			msg := evs[0].data["message"].(map[string]any)
			assert.Equal(t, "claude-test", msg["model"], "echoes the model asked for")
			assert.Equal(t, tt.in, msg["usage"].(map[string]any)["input_tokens"])
			last := evs[len(evs)-2].data
			assert.Equal(t, "end_turn", last["delta"].(map[string]any)["stop_reason"])
			assert.Equal(t, tt.out, last["usage"].(map[string]any)["output_tokens"])
		})
	}
}

func TestToolUseStream(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolUse(`echo "a b" && ls`).WithChunkBytes(5))
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	evs, err := readSSE(resp.Body)
	require.NoError(t, err)

	block := evs[1].data["content_block"].(map[string]any)
	assert.Equal(t, "tool_use", block["type"])
	assert.Equal(t, "Bash", block["name"])
	assert.Equal(t, "toolu_fake0001", block["id"])
	input, n := deltas(evs)
	assert.Greater(t, n, 1, "input sent in several deltas")
	assert.JSONEq(t, `{"command":"echo \"a b\" && ls"}`, input)
	assert.Equal(t, "tool_use", evs[len(evs)-2].data["delta"].(map[string]any)["stop_reason"])
}

func TestToolCallStream(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.ToolCall("StructuredOutput", map[string]any{"name": "Ada"}))
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	evs, err := readSSE(resp.Body)
	require.NoError(t, err)

	block := evs[1].data["content_block"].(map[string]any)
	assert.Equal(t, "tool_use", block["type"])
	assert.Equal(t, "StructuredOutput", block["name"])
	input, _ := deltas(evs)
	assert.JSONEq(t, `{"name":"Ada"}`, input)
	assert.Equal(t, "tool_use", evs[len(evs)-2].data["delta"].(map[string]any)["stop_reason"])
	assert.Equal(t, `tool_use(StructuredOutput {"name":"Ada"})`, fakeapi.ToolCall("StructuredOutput", map[string]any{"name": "Ada"}).String())
}

func TestNonStreamingAnswer(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("whole").WithUsage(3, 4), fakeapi.ToolUse("ls"))
	c := client(t)
	for _, want := range []string{
		`{"id":"msg_fake_0001","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"whole"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4}}`,
		`{"id":"msg_fake_0002","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_fake0002","name":"Bash","input":{"command":"ls"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":6}}`,
	} {
		resp, err := post(t, c, srv, "m", false)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.JSONEq(t, want, string(body))
	}
}

func TestErrorAnswer(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Error(429, "rate_limit_error", "slow down").WithRetryAfter(7).WithHeader("x-extra", "1"))
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("retry-after"))
	assert.Equal(t, "1", resp.Header.Get("x-extra"))
	assert.JSONEq(t, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, string(body))
}

func TestQueueThenDefault(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("one"))
	srv.Enqueue(fakeapi.Text("two"))
	c := client(t)
	read := func() string {
		resp, err := post(t, c, srv, "m", false)
		require.NoError(t, err)
		defer resp.Body.Close()
		var msg struct {
			Content []struct{ Text string } `json:"content"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&msg))
		require.Len(t, msg.Content, 1)
		return msg.Content[0].Text
	}

	assert.Equal(t, 2, srv.Pending())
	assert.Equal(t, "one", read())
	assert.Equal(t, "two", read())
	assert.Equal(t, 0, srv.Pending())
	assert.Equal(t, fakeapi.DefaultText, read())
	srv.SetDefault(fakeapi.Text("new default"))
	assert.Equal(t, "new default", read())
	assert.Equal(t, "new default", read())
}

func TestCutAfter(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("abcdef").WithChunkBytes(1).CutAfter(4), fakeapi.Text("abcdef").CutAfter(1))
	c := client(t)

	resp, err := post(t, c, srv, "m", true)
	require.NoError(t, err)
	evs, err := readSSE(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the chunked body does not end properly")
	assert.Equal(t, []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta"}, names(evs))

	resp, err = post(t, c, srv, "m", false)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a non-streaming answer is cut in its body")
}

func TestDrop(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Drop())
	_, err := post(t, client(t), srv, "m", true)
	assert.Error(t, err)
	assert.Len(t, srv.Messages(), 1, "recorded all the same")
}

func TestGateStepsAndCountsInFlight(t *testing.T) {
	t.Parallel()
	gate1, gate2 := make(chan struct{}), make(chan struct{})
	srv := fakeapi.New(t,
		fakeapi.Text("ab").WithChunkBytes(1).WithGate(gate1),
		fakeapi.Text("ab").WithChunkBytes(1).WithGate(gate2))
	c := client(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	first, err := post(t, c, srv, "m", true)
	require.NoError(t, err)
	defer first.Body.Close()
	second, err := post(t, c, srv, "m", true)
	require.NoError(t, err)
	defer second.Body.Close()
	require.NoError(t, srv.WaitInFlight(ctx, 2))
	assert.Equal(t, 2, srv.InFlight())

	// Step each stream: one event per value sent on its gate.
	r1 := bufio.NewReader(first.Body)
	r2 := bufio.NewReader(second.Body)
	readEvent := func(r *bufio.Reader) string {
		name, err := r.ReadString('\n')
		require.NoError(t, err)
		_, err = r.ReadString('\n') // data
		require.NoError(t, err)
		_, err = r.ReadString('\n') // blank
		require.NoError(t, err)
		return strings.TrimSpace(strings.TrimPrefix(name, "event: "))
	}
	assert.Equal(t, "message_start", readEvent(r1))
	assert.Equal(t, "message_start", readEvent(r2))
	gate1 <- struct{}{}
	assert.Equal(t, "content_block_start", readEvent(r1))
	gate2 <- struct{}{}
	assert.Equal(t, "content_block_start", readEvent(r2))

	close(gate1)
	close(gate2)
	evs, err := readSSE(r1)
	require.NoError(t, err)
	assert.Equal(t, "message_stop", evs[len(evs)-1].name)
	_, err = io.Copy(io.Discard, r2)
	require.NoError(t, err)
	require.NoError(t, srv.WaitInFlight(ctx, 0))
	assert.Equal(t, 2, srv.MaxInFlight())
}

func TestWaitInFlightEnds(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, srv.WaitInFlight(ctx, 1), context.Canceled)
	srv.Close()
	assert.ErrorIs(t, srv.WaitInFlight(t.Context(), 1), fakeapi.ErrClosed)
}

func TestCloseEndsGatedStream(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("never").WithGate(make(chan struct{})))
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, srv.WaitInFlight(t.Context(), 1))

	srv.Close() // returns although the gate is never opened
	srv.Close() // idempotent
	evs, _ := readSSE(resp.Body)
	assert.Equal(t, []string{"message_start"}, names(evs))
	assert.Equal(t, 0, srv.InFlight())
}

func TestRecordsRequests(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	c := client(t)
	before := time.Now()
	head, err := c.Head(srv.URL() + "/")
	require.NoError(t, err)
	head.Body.Close()
	other, err := c.Post(srv.URL()+"/v1/messages/count_tokens", "application/json", strings.NewReader(`{"model":"x"}`))
	require.NoError(t, err)
	otherBody, _ := io.ReadAll(other.Body)
	other.Body.Close()
	msg, err := post(t, c, srv, "claude-x", true)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, msg.Body)
	msg.Body.Close()

	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Equal(t, http.StatusOK, other.StatusCode)
	assert.Equal(t, "{}", string(otherBody))
	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "HEAD", reqs[0].Method)
	assert.False(t, reqs[0].IsMessages())
	assert.Equal(t, "/v1/messages/count_tokens", reqs[1].Path)
	assert.Equal(t, "x", reqs[1].Model)
	assert.False(t, reqs[1].IsMessages())
	m := reqs[2]
	assert.True(t, m.IsMessages())
	assert.Equal(t, "beta=true", m.Query)
	assert.Equal(t, "claude-x", m.Model)
	assert.True(t, m.Stream)
	assert.Equal(t, len(m.Body), m.BodySize)
	assert.JSONEq(t, `{"model":"claude-x","stream":true,"messages":[]}`, string(m.Body))
	assert.Equal(t, "text(11 B)", m.Answer)
	assert.False(t, m.Time.Before(before))
	assert.Equal(t, []fakeapi.Request{m}, srv.Messages())
}

func TestToolResults(t *testing.T) {
	t.Parallel()
	r := fakeapi.Request{Body: []byte(`{"messages":[
		{"role":"user","content":"plain"},
		{"role":"assistant","content":[{"type":"tool_use","id":"t1"}]},
		{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"t1","content":"out"}]}]}`)}
	got := r.ToolResults()
	require.Len(t, got, 1)
	assert.JSONEq(t, `{"type":"tool_result","tool_use_id":"t1","content":"out"}`, string(got[0]))
	assert.Empty(t, fakeapi.Request{Body: []byte("not json")}.ToolResults())
}

func TestChunksKeepUTF8(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("héllo→wörld").WithChunkBytes(2), fakeapi.Text("→→").WithChunkBytes(1))
	c := client(t)
	for _, want := range []string{"héllo→wörld", "→→"} {
		resp, err := post(t, c, srv, "m", true)
		require.NoError(t, err)
		evs, err := readSSE(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		text, n := deltas(evs)
		assert.Equal(t, want, text)
		assert.Greater(t, n, 1)
	}
}

func TestFiller(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 57, 3 << 20} {
		f := fakeapi.Filler(n)
		assert.Len(t, f, n)
		if n > 0 {
			assert.True(t, strings.HasSuffix(f, "."))
		}
	}
	assert.Equal(t, fakeapi.Filler(1000), fakeapi.Filler(1000))
	assert.True(t, strings.HasPrefix(fakeapi.Filler(100), "line 0000000 "))
}

func TestAnswerString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "text(2 B)", fakeapi.Text("hi").String())
	assert.Equal(t, `tool_use("ls")`, fakeapi.ToolUse("ls").String())
	assert.Equal(t, "error(529)", fakeapi.Error(529, "overloaded_error", "x").String())
	assert.Equal(t, "drop", fakeapi.Drop().String())
	assert.Equal(t, "text(2 B) cut after 3 events", fakeapi.Text("hi").CutAfter(3).String())
}

func TestWithHeaderCopies(t *testing.T) {
	t.Parallel()
	base := fakeapi.Error(429, "rate_limit_error", "x").WithRetryAfter(1)
	_ = base.WithRetryAfter(9) // must not change base
	srv := fakeapi.New(t, base)
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "1", resp.Header.Get("retry-after"))
}

func TestEnv(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t)
	env := map[string]string{}
	for _, kv := range srv.Env(t, 2) {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok, kv)
		env[k] = v
	}
	assert.Equal(t, srv.URL(), env["ANTHROPIC_BASE_URL"])
	assert.NotEmpty(t, env["ANTHROPIC_API_KEY"])
	assert.Equal(t, "2", env["CLAUDE_CODE_MAX_RETRIES"])
	assert.Equal(t, "1", env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"])
	assert.Equal(t, "1", env["DISABLE_TELEMETRY"])
	assert.Equal(t, "1", env["DISABLE_AUTOUPDATER"])
	fi, err := os.Stat(env["HOME"])
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	entries, err := os.ReadDir(env["HOME"])
	require.NoError(t, err)
	assert.Empty(t, entries, "a fresh HOME")
	assert.Equal(t, filepath.Join(env["HOME"], ".claude"), env["CLAUDE_CONFIG_DIR"])
}

// fakeTB records Skip and Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any) { f.failed = fmt.Sprint(args...) }

func TestCLIPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "claude")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o644))

	t.Setenv("CI", "")
	t.Setenv(fakeapi.CLIPathEnv, exe)
	tb := &fakeTB{TB: t}
	assert.Equal(t, exe, fakeapi.CLIPath(tb))
	assert.Empty(t, tb.skipped+tb.failed)

	t.Setenv(fakeapi.CLIPathEnv, plain)
	tb = &fakeTB{TB: t}
	assert.Empty(t, fakeapi.CLIPath(tb))
	assert.Contains(t, tb.skipped, "not an executable file")
	assert.Empty(t, tb.failed)

	t.Setenv("CI", "true")
	tb = &fakeTB{TB: t}
	assert.Empty(t, fakeapi.CLIPath(tb))
	assert.Contains(t, tb.failed, "not an executable file")
	assert.Empty(t, tb.skipped)
}

func TestDelayBetweenEvents(t *testing.T) {
	t.Parallel()
	const d = 10 * time.Millisecond
	srv := fakeapi.New(t, fakeapi.Text("abc").WithChunkBytes(1).WithDelay(d))
	start := time.Now()
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	evs, err := readSSE(resp.Body)
	require.NoError(t, err)

	require.Len(t, evs, 8)
	assert.GreaterOrEqual(t, time.Since(start), time.Duration(len(evs)-1)*d, "a pause before each event after message_start")
}

func TestCloseEndsDelayedStream(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New(t, fakeapi.Text("x").WithDelay(time.Hour))
	resp, err := post(t, client(t), srv, "m", true)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, srv.WaitInFlight(t.Context(), 1))

	srv.Close()
	evs, _ := readSSE(resp.Body)
	assert.Equal(t, []string{"message_start"}, names(evs))
}

func TestCLIPathFindsRepoCopy(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644))
	bin := filepath.Join(root, ".tools", "claude", "node_modules", ".bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	exe := filepath.Join(bin, "claude")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	sub := filepath.Join(root, "internal", "pkg")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)
	t.Setenv(fakeapi.CLIPathEnv, "")
	t.Setenv("CI", "")

	tb := &fakeTB{TB: t}
	assert.Equal(t, exe, fakeapi.CLIPath(tb))
	assert.Empty(t, tb.skipped)

	require.NoError(t, os.Remove(exe))
	tb = &fakeTB{TB: t}
	assert.Empty(t, fakeapi.CLIPath(tb))
	assert.Contains(t, tb.skipped, "claude CLI not installed")
}
