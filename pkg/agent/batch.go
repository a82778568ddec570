package agent

import (
	"context"
	"sync"
)

// BatchResult is the outcome of one prompt of a batch: its result message
// (nil when none arrived) and the error Run returned for it.
type BatchResult struct {
	Result *ResultMessage
	Err    error
}

// RunBatch runs prompts concurrently under the client's own limits and
// returns one BatchResult per prompt, in input order. At most MaxConcurrent
// prompts (all of them when it is Unlimited) wait or run at a time, so a batch never fills the admission queue
// by itself. It returns when every prompt has finished or been refused;
// when ctx ends, the prompts not yet finished end with ctx's error.
func (c *Client) RunBatch(ctx context.Context, prompts []string, opts ...Option) []BatchResult {
	results := make([]BatchResult, len(prompts))
	next := make(chan int)
	var wg sync.WaitGroup
	workers := len(prompts)
	if c.maxConcurrent > 0 {
		workers = min(c.maxConcurrent, workers)
	}
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i].Result, results[i].Err = c.Run(ctx, prompts[i], opts...)
			}
		})
	}
	for i := range prompts {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
