package orchestrator

import (
	"strings"
	"sync"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

// price is what a model charges, in USD per token.
type price struct {
	input, output, cacheWrite, cacheRead float64
}

// listPrice returns the price of a model charging in and out USD per
// million input and output tokens, with Anthropic's usual ratios for the
// cache: writes at 1.25x the input price, reads at 0.1x.
func listPrice(in, out float64) price {
	return price{input: in / 1e6, output: out / 1e6, cacheWrite: 1.25 * in / 1e6, cacheRead: 0.1 * in / 1e6}
}

// outputRatio is how many times the input price every current model
// charges per output token: what turns one learned cost into a price.
const outputRatio = 5

// listPrices is the fallback table, by model name prefix, first match
// wins: Anthropic's list prices of the current models (claude-opus-4-8
// was seen charged 5 and 25 USD per million tokens by the CLI).
var listPrices = []struct {
	prefix string
	price  price
}{
	{"claude-opus-4-0", listPrice(15, 75)},
	{"claude-opus-4-1", listPrice(15, 75)},
	{"claude-opus-4-2025", listPrice(15, 75)}, // claude-opus-4-20250514
	{"claude-opus-4-", listPrice(5, 25)},      // 4.5 and later
	{"claude-sonnet-", listPrice(3, 15)},
	{"claude-3-7-sonnet", listPrice(3, 15)},
	{"claude-3-5-sonnet", listPrice(3, 15)},
	{"claude-haiku-4", listPrice(1, 5)},
	{"claude-3-5-haiku", listPrice(0.8, 4)},
	{"claude-3-haiku", listPrice(0.25, 1.25)},
}

// webSearchUSD is the list price of one web search request.
const webSearchUSD = 0.01

// unknownPrice is charged for a model neither learned nor in the table:
// the highest list price, so that an estimate errs high.
var unknownPrice = listPrice(15, 75)

// prices knows what each model costs: learned from the results the client
// has seen, else from the list. It is safe for concurrent use; the zero
// value is ready.
type prices struct {
	mu      sync.Mutex
	learned map[string]price
}

// modelKey is a model's name without the CLI's context-window suffix
// ("claude-opus-4-8[1m]" is "claude-opus-4-8").
func modelKey(model string) string {
	if i := strings.IndexByte(model, '['); i > 0 {
		model = model[:i]
	}
	return model
}

// of returns the price of model.
func (p *prices) of(model string) price {
	model = modelKey(model)
	p.mu.Lock()
	pr, ok := p.learned[model]
	p.mu.Unlock()
	if ok {
		return pr
	}
	for _, lp := range listPrices {
		if strings.HasPrefix(model, lp.prefix) {
			return lp.price
		}
	}
	return unknownPrice
}

// learn takes each model's price from a result's per-model usage and
// cost: with the list's ratios between token kinds, one cost gives the
// input price.
func (p *prices) learn(usage map[string]protocol.ModelUsage) {
	for model, u := range usage {
		units := float64(u.InputTokens) + outputRatio*float64(u.OutputTokens) +
			1.25*float64(u.CacheCreationInputTokens) + 0.1*float64(u.CacheReadInputTokens)
		cost := u.CostUSD - webSearchUSD*float64(u.WebSearchRequests)
		if !(units > 0) || !(cost > 0) || cost > 1e6 {
			continue // nothing to tell a price from, or nonsense
		}
		in := cost / units
		pr := price{input: in, output: outputRatio * in, cacheWrite: 1.25 * in, cacheRead: 0.1 * in}
		p.mu.Lock()
		if p.learned == nil {
			p.learned = make(map[string]price)
		}
		p.learned[modelKey(model)] = pr
		p.mu.Unlock()
	}
}
