//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	fgclient "github.com/hyperledger/fabric-gateway/pkg/client"
)

// Batch size and concurrency of the concurrent InvalidateBatch path. Every
// key a batch writes carries its owner's key-level endorsement policy, so
// each peer verifies the endorsement signature, over the whole proposal
// response, once per key: the hashing grows with the square of the batch
// size, the rest linearly. 200 keys is near the best per-key cost on the
// local network (see chaincode/README.md); eight in flight keep the
// ordering and commit pipeline full, as the 32 single callers do.
const (
	batchKeys     = 200
	batchInFlight = 8
)

// BenchmarkInvalidationPaths measures, in one run on the same network,
// invalidations submitted one per transaction (sequentially and by 32
// concurrent callers), through the coalescer, as InvalidateBatch
// transactions of 1,000 keys one after another and of batchKeys keys
// batchInFlight at a time, and the trivial put contract (network.sh
// deploy-baseline) against the contract's Invalidate with the same client
// and concurrency; it reports each path's keys/s and the ratios. Run with
// -benchtime=1x: each iteration publishes its own keys.
func BenchmarkInvalidationPaths(b *testing.B) {
	ctx := context.Background()
	deployBaseline(b)
	pub, inv := client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	rawInv, rawPut := rawContract(b, "org1", "invalidator", "cachet"), rawContract(b, "org1", "invalidator", "baseline")
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
		versus, cbatch := publish("versus", 1200), publish("cbatch", 32*batchKeys)
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
		cbatchRate := rate(len(cbatch), func() {
			var chunks [][]string
			for j := 0; j < len(cbatch); j += batchKeys {
				chunks = append(chunks, cbatch[j:j+batchKeys])
			}
			parallel(b, chunks, batchInFlight, func(keys []string) error {
				r, _, err := inv.InvalidateBatch(ctx, keys, "")
				if err == nil && len(r.Invalidated) != len(keys) {
					err = fmt.Errorf("batch invalidated %d of %d keys", len(r.Invalidated), len(keys))
				}
				return err
			})
		})
		putRate, invRate := versusTrivial(b, rawPut, rawInv, versus)
		b.StopTimer()
		b.ReportMetric(seqRate, "single-keys/s")
		b.ReportMetric(concRate, "single32-keys/s")
		b.ReportMetric(coalRate, "coalesced-keys/s")
		b.ReportMetric(batchRate, "batch1000-keys/s")
		b.ReportMetric(batchRate/concRate, "batch/single32")
		b.ReportMetric(coalRate/concRate, "coalesced/single32")
		b.ReportMetric(cbatchRate, fmt.Sprintf("batch%dx%d-keys/s", batchKeys, batchInFlight))
		b.ReportMetric(putRate, "trivial-put32-tx/s")
		b.ReportMetric(invRate, "invalidate32-tx/s")
		b.Logf("keys/s: single sequential %.0f, single ×32 %.0f, coalesced %.0f (%d txs), InvalidateBatch(1000) sequential %.0f, InvalidateBatch(%d) ×%d %.0f; batch/single32 = %.1f× (sequential 1000s: %.1f×)",
			seqRate, concRate, coalRate, co.Batches(), batchRate, batchKeys, batchInFlight, cbatchRate, cbatchRate/concRate, batchRate/concRate)
		b.Logf("same client (fabric-gateway), 32 callers, one key per transaction: trivial put %.1f tx/s, Invalidate %.1f tx/s", putRate, invRate)
		fmt.Printf("invalidate_vs_trivial_put_ratio: %.3f\n", invRate/putRate)
		fmt.Printf("batch_vs_single_keys_ratio: %.1f (InvalidateBatch of %d keys, %d in flight, vs Invalidate by 32 callers)\n", cbatchRate/concRate, batchKeys, batchInFlight)
	}
}

// versusTrivial measures the trivial put contract and the contract's
// Invalidate with the same client and 32 callers, one key per transaction,
// in alternating rounds (put, invalidate, invalidate, put, …) so that a
// change in the machine's load falls on both; each rate is its keys over
// its rounds' total time.
func versusTrivial(b *testing.B, put, inv *fgclient.Contract, keys []string) (putRate, invRate float64) {
	const rounds = 4
	per := len(keys) / rounds
	var putTime, invTime time.Duration
	for r := range rounds {
		part := keys[r*per : (r+1)*per]
		puts := func() {
			start := time.Now()
			parallel(b, part, 32, func(k string) error { _, err := put.Submit("Put", fgclient.WithArguments(k)); return err })
			putTime += time.Since(start)
		}
		invs := func() {
			start := time.Now()
			parallel(b, part, 32, func(k string) error {
				_, err := inv.Submit("Invalidate", fgclient.WithArguments(k, "", "0"))
				return err
			})
			invTime += time.Since(start)
		}
		if r%2 == 0 {
			puts()
			invs()
		} else {
			invs()
			puts()
		}
	}
	n := float64(rounds * per)
	return n / putTime.Seconds(), n / invTime.Seconds()
}

func parallel[T any](b *testing.B, items []T, workers int, f func(T) error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(it); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}
