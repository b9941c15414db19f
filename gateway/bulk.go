package gateway

import (
	"context"
	"sync"
	"time"
)

// BulkConfig tunes InvalidateMany. Zero values take the defaults.
type BulkConfig struct {
	// Coalescer batches the keys into InvalidateBatch transactions.
	Coalescer CoalescerConfig
	// Concurrency caps keys waiting for their batch at once (default
	// 2000: two full batches per in-flight transaction, so the coalescer
	// always has a batch filling while others commit).
	Concurrency int
	// Progress, if set, is called after each key's outcome with the keys
	// done so far; calls are serialized.
	Progress func(done, total int)
}

// DefaultBulkConcurrency is BulkConfig.Concurrency's default.
const DefaultBulkConcurrency = 2000

// KeyFailure is one key InvalidateMany could not invalidate.
type KeyFailure struct {
	Key string
	Err error
}

// BulkResult is what InvalidateMany did.
type BulkResult struct {
	Counts       map[KeyStatus]int // outcomes of the keys that committed
	Failed       []KeyFailure      // in the order of keys
	Transactions uint64            // batch transactions committed
	Elapsed      time.Duration
}

// InvalidateMany invalidates every key through a Coalescer, at most
// cfg.Concurrency keys at a time, and reports each key's outcome: a key
// that fails does not stop the others. Keys should be canonical and
// distinct; ctx ending fails the keys not yet committed.
func InvalidateMany(ctx context.Context, submit SubmitBatchFunc, keys []string, reason string, cfg BulkConfig) BulkResult {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultBulkConcurrency
	}
	co := NewCoalescer(submit, cfg.Coalescer)
	defer co.Close()
	var (
		mu     sync.Mutex
		done   int
		errs   = make([]error, len(keys))
		counts = map[KeyStatus]int{}
		wg     sync.WaitGroup
		sem    = make(chan struct{}, cfg.Concurrency)
	)
	start := time.Now()
	for i, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := co.Invalidate(ctx, k, reason)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = err
			} else {
				counts[r.Status]++
			}
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, len(keys))
			}
		})
	}
	wg.Wait()
	res := BulkResult{Counts: counts, Transactions: co.Batches(), Elapsed: time.Since(start)}
	for i, err := range errs {
		if err != nil {
			res.Failed = append(res.Failed, KeyFailure{Key: keys[i], Err: err})
		}
	}
	return res
}
