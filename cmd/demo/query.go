package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// Refusal reasons, as the events and the summary name them.
var (
	refusalOrder = []string{"circuit", "rate", "budget", "queue", "closed"}
	refusalNames = map[string]string{
		"circuit": "circuit open",
		"rate":    "rate limited",
		"budget":  "budget exhausted",
		"queue":   "queue full",
		"closed":  "client closed",
	}
)

// stage is one phase in progress: its name and its client.
type stage struct {
	d      *demo
	name   string
	client *agent.Client
	events *listener // the client's Config.Observer
	// verbose prints every finished query, not only failures and refusals.
	verbose bool
}

// say prints an event of this stage.
func (s *stage) say(kind, format string, args ...any) {
	s.d.out.event(event{T: s.d.since(time.Now()), Phase: s.name, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// query runs one query on the stage's client, counts its outcome and
// prints it when it is worth a line. It returns the outcome kind: done,
// failed, refused or interrupted.
func (s *stage) query(ctx context.Context, prompt string, opts ...agent.Option) string {
	e, _ := s.send(ctx, prompt, opts...)
	s.print(e)
	return e.Kind
}

// send runs one query on the stage's client and counts its outcome; the
// event describing it is the caller's to print (or to add to first).
func (s *stage) send(ctx context.Context, prompt string, opts ...agent.Option) (event, *agent.ResultMessage) {
	id := int(s.d.nextID.Add(1))
	s.d.tally.sentOne()
	result, err := s.client.Run(context.WithValue(ctx, queryNumber{}, id), prompt, opts...)
	var cost float64
	if result != nil {
		cost = result.TotalCostUSD
	}
	e := event{Phase: s.name, Query: id, CostUSD: cost}
	var rejected *agent.RejectedError
	switch {
	case err == nil:
		e.Kind = "done"
		spent := s.client.Stats().Limiter.SpentUSD
		e.Message = fmt.Sprintf("query %d done: cost $%.4f, spent $%.2f of $%.2f this hour%s", id, cost, spent, s.d.opts.budget, excerpt(result.Result))
	case errors.As(err, &rejected):
		e.Kind, e.Reason = "refused", refusalReason(err)
		e.RetryAfter = rejected.RetryAfter.Seconds()
		e.Message = fmt.Sprintf("query %d refused, no process started: %s", id, refusalNames[e.Reason])
		if rejected.RetryAfter > 0 {
			e.Message += ", retry after " + roundDuration(rejected.RetryAfter).String()
		}
		if e.Reason == "budget" {
			st := s.client.Stats().Limiter
			e.Message += fmt.Sprintf(" (spent $%.2f of $%.2f)", st.SpentUSD, st.BudgetUSD)
		}
	case ctx.Err() != nil:
		e.Kind = "interrupted"
	default:
		e.Kind = "failed"
		e.Message = fmt.Sprintf("query %d failed: %v", id, err)
		var apiErr *agent.APIError
		if errors.As(err, &apiErr) && apiErr.Status != 0 {
			e.Message = fmt.Sprintf("query %d failed: the API answered %d (%s)", id, apiErr.Status, apiErr.Message)
		}
		if agent.DefaultClassify(result, err) == agent.OutcomeFailure {
			e.Message += ", a failure for the breaker"
		}
	}
	s.d.tally.outcome(e.Kind, e.Reason, cost)
	return e, result
}

// print prints the event of a finished query when it is worth a line:
// failures and refusals always, completions when the stage is verbose.
func (s *stage) print(e event) {
	if e.Kind != "interrupted" && (e.Kind != "done" || s.verbose) {
		e.T = s.d.since(time.Now())
		s.d.out.event(e)
	}
}

// refusalReason names the guard that refused a query.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, agent.ErrCircuitOpen):
		return "circuit"
	case errors.Is(err, agent.ErrBudgetExhausted):
		return "budget"
	case errors.Is(err, agent.ErrRateLimited):
		return "rate"
	case errors.Is(err, agent.ErrQueueFull):
		return "queue"
	}
	return "closed"
}

// excerpt is the start of a result text, for the done lines.
func excerpt(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return ""
	}
	if r := []rune(text); len(r) > 60 {
		text = string(r[:57]) + "..."
	}
	return fmt.Sprintf(": %q", text)
}

// roundDuration keeps a duration readable: whole seconds from a minute up,
// tens of milliseconds below.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
