package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cachetsync/cachet/gateway"
)

func TestInvalidateMany(t *testing.T) {
	var keys, known []string
	for i := range 2500 {
		k := fmt.Sprintf("https://shop.example/items/%d", i)
		keys = append(keys, k)
		if i%5 != 0 {
			known = append(known, k)
		}
	}
	l := newFakeLedger(known...)
	broken := errors.New("peer gone")
	submit := func(ctx context.Context, ks []string, reason string) (gateway.BatchResult, error) {
		for _, k := range ks {
			if k == keys[7] {
				return gateway.BatchResult{}, broken
			}
		}
		return l.submit(ctx, ks, reason)
	}
	var calls, last int
	res := gateway.InvalidateMany(context.Background(), submit, keys, "bulk", gateway.BulkConfig{
		Coalescer:   gateway.CoalescerConfig{MaxBatch: 100},
		Concurrency: 300,
		Progress:    func(done, total int) { calls++; last = done; _ = total },
	})
	if calls != len(keys) || last != len(keys) {
		t.Errorf("progress called %d times, last %d; want %d", calls, last, len(keys))
	}
	// The batch holding keys[7] failed as a whole: its keys are failures,
	// every other key has an outcome.
	failed := map[string]bool{}
	for _, f := range res.Failed {
		if !errors.Is(f.Err, broken) {
			t.Errorf("%s: %v, want the submit's error", f.Key, f.Err)
		}
		failed[f.Key] = true
	}
	if !failed[keys[7]] {
		t.Fatalf("%s not reported failed: %v", keys[7], res.Failed)
	}
	got := res.Counts[gateway.KeyInvalidated] + res.Counts[gateway.KeyMissing]
	if got+len(res.Failed) != len(keys) {
		t.Fatalf("%d outcomes + %d failures, want %d keys", got, len(res.Failed), len(keys))
	}
	if res.Transactions == 0 || l.maxKeys > 100 {
		t.Errorf("%d transactions, largest %d keys; want some, at most 100", res.Transactions, l.maxKeys)
	}
	for i := 1; i < len(res.Failed); i++ {
		if indexOf(keys, res.Failed[i-1].Key) > indexOf(keys, res.Failed[i].Key) {
			t.Fatalf("failures not in the order of keys: %v", res.Failed)
		}
	}
}

func TestInvalidateManyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := gateway.InvalidateMany(ctx, newFakeLedger().submit, []string{"ns:a", "ns:b"}, "", gateway.BulkConfig{})
	if len(res.Failed) != 2 {
		t.Fatalf("failed %v, want both keys", res.Failed)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
