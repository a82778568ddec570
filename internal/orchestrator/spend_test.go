package orchestrator

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func TestListPrices(t *testing.T) {
	var p prices
	for model, want := range map[string][2]float64{
		"claude-opus-4-8[1m]":        {5, 25},
		"claude-opus-4-5-20251101":   {5, 25},
		"claude-opus-4-1-20250805":   {15, 75},
		"claude-opus-4-20250514":     {15, 75},
		"claude-sonnet-4-5":          {3, 15},
		"claude-3-7-sonnet-20250219": {3, 15},
		"claude-haiku-4-5":           {1, 5},
		"claude-3-5-haiku-20241022":  {0.8, 4},
		"some-future-model":          {15, 75}, // unknown: the highest
		"":                           {15, 75},
	} {
		got := p.of(model)
		assert.InDelta(t, want[0]/1e6, got.input, 1e-15, model)
		assert.InDelta(t, want[1]/1e6, got.output, 1e-15, model)
		assert.InDelta(t, 0.1*want[0]/1e6, got.cacheRead, 1e-15, model)
		assert.InDelta(t, 1.25*want[0]/1e6, got.cacheWrite, 1e-15, model)
	}
}

func TestLearnedPricesWin(t *testing.T) {
	var p prices
	p.learn(map[string]protocol.ModelUsage{
		"claude-sonnet-4-5[1m]": {InputTokens: 1000, OutputTokens: 1000, CostUSD: 0.06},
		"nonsense":              {InputTokens: 1000, CostUSD: -1},
		"empty":                 {CostUSD: 0.5},
	})
	got := p.of("claude-sonnet-4-5")
	assert.InDelta(t, 10e-6, got.input, 1e-15, "0.06 over 1000 + 5 x 1000 units")
	assert.InDelta(t, 50e-6, got.output, 1e-15)
	assert.Equal(t, unknownPrice, p.of("nonsense"), "a negative cost teaches nothing")
	assert.Equal(t, unknownPrice, p.of("empty"), "no tokens teach nothing")
}

func TestMeterFollowsOneAnswer(t *testing.T) {
	const model = "claude-haiku-4-5" // 1 and 5 USD per million tokens
	m := newMeter(&prices{})
	m.observe(decoded(t, fakecli.InitLine()))
	assert.True(t, m.sawInit)
	assert.False(t, m.sawAPI)
	assert.Zero(t, m.spent())

	m.observe(decoded(t, fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_1", model, 2000))))
	assert.InDelta(t, 2000e-6+1*5e-6, m.spent(), 1e-12, "input tokens, and the 1 output token of message_start")
	for range 3 {
		m.observe(decoded(t, fakecli.StreamEventLine(fakecli.TextDeltaEvent("0123456789"))))
	}
	assert.InDelta(t, 2000e-6+30*5e-6, m.spent(), 1e-12, "a byte of delta counts as an output token")
	m.observe(decoded(t, fakecli.UsageLine("msg_1", model, 2000, 8)))
	assert.InDelta(t, 2000e-6+30*5e-6, m.spent(), 1e-12, "an assistant line's count does not lower the byte count")
	m.observe(decoded(t, fakecli.StreamEventLine(fakecli.MessageDeltaEvent(7))))
	assert.InDelta(t, 2000e-6+7*5e-6, m.spent(), 1e-12, "message_delta's final count replaces the estimate")
	m.observe(decoded(t, fakecli.UsageLine("msg_1", model, 2000, 9)))
	assert.InDelta(t, 2000e-6+7*5e-6, m.spent(), 1e-12, "final is final")

	// A second request of the run adds up; a line that is not JSON the
	// meter can read counts as output whole.
	m.observe(decoded(t, fakecli.StreamEventLine(fakecli.MessageStartEvent("msg_2", model, 1000))))
	before := m.spent()
	const unreadable = `{"type":"content_block_delta","delta":{"text":12}}`
	m.observe(decoded(t, fakecli.StreamEventLine(unreadable)))
	assert.InDelta(t, before+float64(len(unreadable)-1)*5e-6, m.spent(), 1e-12, "its bytes as output tokens, beyond message_start's one")
}

func TestMeterAssistantLinesAlone(t *testing.T) {
	m := newMeter(&prices{})
	m.observe(decoded(t, fakecli.UsageLine("msg_1", "claude-sonnet-4-5", 10000, 2000)))
	m.observe(decoded(t, fakecli.UsageLine("msg_1", "claude-sonnet-4-5", 10000, 2500))) // the same message, later
	m.observe(decoded(t, fakecli.UsageLine("msg_2", "claude-sonnet-4-5", 12000, 100)))
	assert.True(t, m.sawAPI)
	assert.InDelta(t, (10000+12000)*3e-6+(2500+100)*15e-6, m.spent(), 1e-12)
}

func TestCharge(t *testing.T) {
	o := &Orchestrator{}
	used := func() *meter {
		m := newMeter(&o.prices)
		m.observe(decoded(t, fakecli.InitLine()))
		m.observe(decoded(t, fakecli.UsageLine("msg_1", "claude-sonnet-4-5", 10000, 0)))
		return m
	}
	const est = 10000 * 3e-6
	initOnly := newMeter(&o.prices)
	initOnly.observe(decoded(t, fakecli.InitLine()))
	for name, tc := range map[string]struct {
		result *protocol.ResultMessage
		m      *meter
		want   float64
	}{
		"result":                         {&protocol.ResultMessage{Subtype: "success", TotalCostUSD: 0.5, CostKnown: true}, used(), 0.5},
		"result, nothing streamed":       {&protocol.ResultMessage{Subtype: "success", TotalCostUSD: 0.5, CostKnown: true}, newMeter(&o.prices), 0.5},
		"interrupted, total left it out": {&protocol.ResultMessage{Subtype: subtypeInterrupted, TotalCostUSD: 0, CostKnown: true}, used(), est},
		"interrupted, total is higher":   {&protocol.ResultMessage{Subtype: subtypeInterrupted, TotalCostUSD: 1, CostKnown: true}, used(), 1},
		"unknown cost":                   {&protocol.ResultMessage{Subtype: "success"}, used(), est},
		"no result, usage seen":          {nil, used(), est},
		"no result, nothing before init": {nil, newMeter(&o.prices), 0},
		"no result, no usage after init": {nil, initOnly, 2},
		"unknown cost, no usage at all":  {&protocol.ResultMessage{Subtype: "success"}, initOnly, 2},
	} {
		assert.InDelta(t, tc.want, o.charge(tc.result, tc.m, 2, nil), 1e-12, name)
	}
	fault := fmt.Errorf("%w: no key", ErrAuthentication)
	assert.Zero(t, o.charge(nil, initOnly, 2, fault), "stopped at the caller's fault: the API billed nothing")
	assert.InDelta(t, est, o.charge(nil, used(), 2, fault), 1e-12, "a fault after usage showed: the usage is charged")
}
