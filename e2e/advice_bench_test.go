//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachetsync/cachet/advice"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/relay"
)

// adviceKeys and adviceWriters shape the contended load: Zipf-chosen keys
// (s = 1.3) written by seven invalidators of two orgs, each waiting for its
// commit and pausing (exponential, mean 300 ms) between writes, as the
// recorded contention stream does.
const (
	adviceKeys     = 30
	adviceWriters  = 7
	advicePhaseDur = 45 * time.Second
)

// BenchmarkConflictAdvice measures, on the real network with the whole
// pipeline running (cachet dev: relay → cachet.conflicts and
// cachet.transitions → analytics → cachet.advice), whether writers that
// follow the advice cause fewer MVCC conflicts than writers that don't,
// on the same load. Three phases of advicePhaseDur: without advice, with
// it (an advice.Router per writer: keys advised "batch" go through one
// shared coalescer), and without again, so that drift shows. Conflicts are
// counted in the blocks of each phase (every transaction refused for MVCC,
// the gateway's resubmissions included); committed invalidations are the
// writers' calls that returned a commit. Run with -benchtime=1x.
func BenchmarkConflictAdvice(b *testing.B) {
	ctx := context.Background()
	pub, aud := client(b, "org1", "publisher"), client(b, "org1", "auditor")
	inv1, inv2 := client(b, "org1", "invalidator"), client(b, "org2", "invalidator")
	for i := range b.N {
		run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
		name := func(k uint64) string { return fmt.Sprintf("https://shop.example/advice-%s/%d", run, k) }
		for k := range uint64(adviceKeys) {
			if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: name(k), MaxAge: 60}); err != nil {
				b.Fatal(err)
			}
		}
		height, err := pub.Height(ctx)
		if err != nil {
			b.Fatal(err)
		}
		stack := startDevStack(b, height, "")
		table := advice.NewTable()
		fctx, stopFollow := context.WithCancel(ctx)
		defer stopFollow()
		go table.Follow(fctx, kafka.Config{Brokers: stack.brokers, ClientID: "advice-bench"})
		co := gateway.NewCoalescer(inv1.SubmitBatch, gateway.CoalescerConfig{})
		defer co.Close()
		writers := []*gateway.Client{inv1, inv1, inv1, inv2, inv2, inv2, inv2}

		b.ResetTimer()
		type phase struct {
			name      string
			follow    bool
			committed int64
			from, to  uint64
			conflicts int
			batched   int64
		}
		phases := []*phase{{name: "without advice"}, {name: "with advice", follow: true}, {name: "without advice, again"}}
		for _, ph := range phases {
			if ph.follow {
				// Analytics learned the hot keys from the first phase's
				// conflicts; wait until its advice for them arrived.
				for deadline := time.Now().Add(time.Minute); batchedKeys(table, name) == 0; time.Sleep(100 * time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatalf("no key advised to batch a minute after %d conflicts:\n%s", phases[0].conflicts, tail(stack.log, 3000))
					}
				}
			}
			if ph.from, err = pub.Height(ctx); err != nil {
				b.Fatal(err)
			}
			until := time.Now().Add(advicePhaseDur)
			var wg sync.WaitGroup
			for w, cl := range writers[:adviceWriters] {
				r := &advice.Router{Advice: table, Client: cl, Coalescer: co}
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 17))
					zipf := rand.NewZipf(rng, 1.3, 1, adviceKeys-1)
					for time.Now().Before(until) {
						key := name(zipf.Uint64())
						var err error
						if ph.follow {
							if r.Batched(key) {
								atomic.AddInt64(&ph.batched, 1)
							}
							_, err = r.Invalidate(ctx, key, "load")
						} else {
							_, _, err = cl.Invalidate(ctx, key, "load", 0)
						}
						if err == nil {
							atomic.AddInt64(&ph.committed, 1)
						}
						time.Sleep(time.Duration(rng.ExpFloat64() * float64(300*time.Millisecond)))
					}
				})
			}
			wg.Wait()
			if ph.to, err = pub.Height(ctx); err != nil {
				b.Fatal(err)
			}
			ph.conflicts = mvccConflicts(b, aud, ph.from, ph.to-1)
			b.Logf("%s: %d committed, %d MVCC conflicts in blocks %d..%d, %d writes advised to batch",
				ph.name, ph.committed, ph.conflicts, ph.from, ph.to-1, ph.batched)
		}
		b.StopTimer()

		without := float64(phases[0].conflicts+phases[2].conflicts) / 2
		withoutRate := float64(phases[0].committed+phases[2].committed) / 2
		with := phases[1]
		fmt.Printf("mvcc_conflicts_with_advice_vs_without: %.2f (%d with advice; %d and %d without, in %s phases)\n",
			float64(with.conflicts)/max(without, 1), with.conflicts, phases[0].conflicts, phases[2].conflicts, advicePhaseDur)
		fmt.Printf("committed_invalidations_per_second_with_vs_without: %.2f (%.1f/s with advice, %.1f/s without)\n",
			float64(with.committed)/max(withoutRate, 1), float64(with.committed)/advicePhaseDur.Seconds(), withoutRate/advicePhaseDur.Seconds())
		fmt.Printf("advice_batched_keys: %d (of %d keys; %.0f%% of the writes with advice went through the coalescer)\n",
			batchedKeys(table, name), adviceKeys, 100*float64(with.batched)/max(float64(with.committed), 1))
	}
}

// batchedKeys counts the keys name(0..adviceKeys-1) whose advice is to batch.
func batchedKeys(t *advice.Table, name func(uint64) string) int {
	n := 0
	for k := range uint64(adviceKeys) {
		if a, ok := t.Get(name(k)); ok && a.Action == record.ActionBatch {
			n++
		}
	}
	return n
}

// mvccConflicts counts the transactions refused for a conflict (MVCC read
// conflict, phantom read) in blocks from..to.
func mvccConflicts(t testing.TB, aud *gateway.Client, from, to uint64) int {
	t.Helper()
	n := 0
	for _, tx := range refusedBetween(t, context.Background(), aud, from, to) {
		if tx.Refusal != nil && relay.Conflict(tx).Contention() {
			n++
		}
	}
	return n
}
