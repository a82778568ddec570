package fakeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ErrClosed is returned by WaitInFlight once the Server is closed.
var ErrClosed = errors.New("fakeapi: server closed")

// MessagesPath is the path the CLI posts its requests to (with ?beta=true).
const MessagesPath = "/v1/messages"

// Request is the record of one HTTP request the Server received.
type Request struct {
	Time     time.Time // when it arrived
	Method   string
	Path     string // URL path, without the query
	Query    string // raw query, such as "beta=true"
	Model    string // "model" of a JSON body, "" otherwise
	Stream   bool   // "stream" of a JSON body
	BodySize int
	Body     []byte
	Answer   string // what the server answered, such as "text(11 B)", "error(429)", "head"
	// Events is how many SSE events of the answer have been written (it
	// grows while the answer streams), and Complete whether all of them
	// were (false while it streams, and when the client went away or a
	// cut closed the stream early).
	Events   int
	Complete bool
}

// IsMessages reports whether r is a POST to MessagesPath, the requests that
// consume scripted answers.
func (r Request) IsMessages() bool {
	return r.Method == http.MethodPost && r.Path == MessagesPath
}

// ToolResults returns the tool_result blocks found in the messages of r's
// JSON body, in order, each as its raw JSON.
func (r Request) ToolResults() []json.RawMessage {
	var out []json.RawMessage
	for _, c := range r.contents() {
		var blocks []json.RawMessage
		if json.Unmarshal(c, &blocks) != nil {
			continue // a plain string content
		}
		for _, b := range blocks {
			var head struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(b, &head) == nil && head.Type == "tool_result" {
				out = append(out, b)
			}
		}
	}
	return out
}

// HasText reports whether s is, whole, the content of one of the messages
// of r's JSON body or the text of one of their text blocks.
func (r Request) HasText(s string) bool {
	for _, c := range r.contents() {
		var text string
		if json.Unmarshal(c, &text) == nil {
			if text == s {
				return true
			}
			continue
		}
		var blocks []struct{ Type, Text string }
		json.Unmarshal(c, &blocks) //nolint:errcheck // not a list: no blocks
		for _, b := range blocks {
			if b.Type == "text" && b.Text == s {
				return true
			}
		}
	}
	return false
}

// contents returns the content of each message of r's JSON body, raw.
func (r Request) contents() []json.RawMessage {
	var body struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(r.Body, &body) != nil {
		return nil
	}
	out := make([]json.RawMessage, len(body.Messages))
	for i, m := range body.Messages {
		out[i] = m.Content
	}
	return out
}

// Server is a fake Anthropic Messages API on 127.0.0.1, good enough for the
// real claude CLI. It answers POST /v1/messages with the scripted answers of
// its queue, in order, one per request, and with SetDefault's answer (at
// first Text(DefaultText)) once the queue is empty. HEAD and GET of any
// path, and anything else the CLI may call, get a harmless 200 "{}".
//
// Build it with New; the zero Server is not usable. All methods are safe for
// concurrent use. New registers Close with t.Cleanup, so tests need not call it.
type Server struct {
	srv  *httptest.Server
	done chan struct{} // closed by Close; ends gate waits and delays
	once sync.Once

	mu          sync.Mutex
	queue       []Answer
	def         Answer
	requests    []Request
	inFlight    int
	maxInFlight int
	changed     chan struct{} // closed and replaced whenever inFlight changes
	toolIDs     int
}

// New starts a Server on 127.0.0.1 with answers queued, and closes it when
// the test ends.
func New(t testing.TB, answers ...Answer) *Server {
	t.Helper()
	s := &Server{
		done:    make(chan struct{}),
		queue:   append([]Answer(nil), answers...),
		def:     Text(DefaultText),
		changed: make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

// URL is the server's base URL, such as "http://127.0.0.1:41234", for
// ANTHROPIC_BASE_URL.
func (s *Server) URL() string { return s.srv.URL }

// Close ends any stream waiting on a gate or a delay, then shuts the server
// down and waits for its handlers to return. It is idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// Enqueue appends answers to the queue.
func (s *Server) Enqueue(answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, answers...)
}

// SetDefault sets the answer given to every request once the queue is empty,
// for example Error(529, "overloaded_error", "Overloaded") for an API that
// stays down.
func (s *Server) SetDefault(a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = a
}

// Pending returns how many queued answers have not been used yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Requests returns a copy of the records of every request so far, in order
// of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the records of the POST /v1/messages requests so far, in
// order of arrival.
func (s *Server) Messages() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.IsMessages() {
			out = append(out, r)
		}
	}
	return out
}

// InFlight returns how many POST /v1/messages requests are being answered now.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// MaxInFlight returns the largest number of POST /v1/messages requests that
// were being answered at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{
		Time:     time.Now(),
		Method:   r.Method,
		Path:     r.URL.Path,
		Query:    r.URL.RawQuery,
		BodySize: len(body),
		Body:     body,
	}
	var head struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if json.Unmarshal(body, &head) == nil {
		rec.Model, rec.Stream = head.Model, head.Stream
	}
	if !rec.IsMessages() {
		rec.Answer = strings.ToLower(r.Method)
		s.record(rec)
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodHead {
			io.WriteString(w, "{}")
		}
		return
	}

	a, toolID := s.next()
	rec.Answer = a.String()
	i := s.record(rec)
	defer s.leave()
	st := stream{w: w, r: r, a: a, done: s.done, model: rec.Model, toolID: toolID, sse: rec.Stream}
	st.onEvent = func(sent int) {
		s.mu.Lock()
		s.requests[i].Events = sent
		s.mu.Unlock()
	}
	complete := st.serve()
	s.mu.Lock()
	s.requests[i].Complete = complete
	s.mu.Unlock()
}

// next takes the next answer and counts the request in flight.
func (s *Server) next() (Answer, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.def
	if len(s.queue) > 0 {
		a = s.queue[0]
		s.queue = s.queue[1:]
	}
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.notifyLocked()
	s.toolIDs++
	return a, fmt.Sprintf("toolu_fake%04d", s.toolIDs)
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitInFlight blocks until exactly n POST /v1/messages requests are being
// answered (typically held by WithGate), or ctx ends, or the server closes.
// It returns ctx.Err(), or ErrClosed.
func (s *Server) WaitInFlight(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		cur, changed := s.inFlight, s.changed
		s.mu.Unlock()
		if cur == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

// record appends r and returns its index.
func (s *Server) record(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	return len(s.requests) - 1
}

// errorBody is the JSON body of an error answer.
func errorBody(errType, message string) []byte {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(map[string]any{
		"type":  "error",
		"error": map[string]string{"type": errType, "message": message},
	})
	return b.Bytes()
}
