//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
)

// BenchmarkInvalidationPaths measures, in one run on the same network,
// invalidations submitted one per transaction (sequentially and by 32
// concurrent callers), through the coalescer, and as InvalidateBatch
// transactions of 1,000 keys, and reports each path's keys/s and the
// ratios. Run with -benchtime=1x: each iteration publishes its own keys.
func BenchmarkInvalidationPaths(b *testing.B) {
	ctx := context.Background()
	pub, inv := client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	for i := range b.N {
		prefix := fmt.Sprintf("img:bench-%d-%d", time.Now().UnixNano(), i)
		publish := func(name string, n int) []string {
			keys := make([]string, n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 64)
			for j := range keys {
				keys[j] = fmt.Sprintf("%s-%s-%d", prefix, name, j)
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: keys[j]}); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			return keys
		}
		seq, conc, coal, batch := publish("seq", 50), publish("conc", 300), publish("coal", 2000), publish("batch", 3000)
		if b.Failed() {
			b.FailNow()
		}
		b.ResetTimer()
		rate := func(n int, f func()) float64 {
			start := time.Now()
			f()
			return float64(n) / time.Since(start).Seconds()
		}
		seqRate := rate(len(seq), func() {
			for _, k := range seq {
				if _, _, err := inv.Invalidate(ctx, k, "", 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		concRate := rate(len(conc), func() {
			parallel(b, conc, 32, func(k string) error { _, _, err := inv.Invalidate(ctx, k, "", 0); return err })
		})
		co := gateway.NewCoalescer(inv.SubmitBatch, gateway.CoalescerConfig{Window: 10 * time.Millisecond})
		coalRate := rate(len(coal), func() {
			parallel(b, coal, len(coal), func(k string) error { _, err := co.Invalidate(ctx, k, ""); return err })
		})
		co.Close()
		batchRate := rate(len(batch), func() {
			for j := 0; j < len(batch); j += 1000 {
				if _, _, err := inv.InvalidateBatch(ctx, batch[j:j+1000], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(seqRate, "single-keys/s")
		b.ReportMetric(concRate, "single32-keys/s")
		b.ReportMetric(coalRate, "coalesced-keys/s")
		b.ReportMetric(batchRate, "batch1000-keys/s")
		b.ReportMetric(batchRate/concRate, "batch/single32")
		b.ReportMetric(coalRate/concRate, "coalesced/single32")
		b.Logf("keys/s: single sequential %.0f, single ×32 %.0f, coalesced %.0f (%d txs), InvalidateBatch(1000) %.0f; batch/single32 = %.1f×",
			seqRate, concRate, coalRate, co.Batches(), batchRate, batchRate/concRate)
	}
}

func parallel(b *testing.B, keys []string, workers int, f func(string) error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(k); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}
