//go:build e2e && record

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/relay"
)

// TestRecordAnalyticsStream records the transitions of a short load on the
// real network into testdata/analytics/recorded_transitions.jsonl, which
// `cachet analytics simulate --replay` scores: four writers (Org1's
// publisher, Org1's and Org2's invalidators) write keys chosen Zipf-like
// (s = 1.2 over 80 keys), with exponential pauses; halfway through, key
// popularity is reshuffled (a traffic shift). A writer publishes a key
// it believes invalidated and invalidates one it believes valid (Org1's
// publisher always publishes). It builds only with the record tag
// (CACHET_RECORD_SECONDS sets the length, default 360).
func TestRecordAnalyticsStream(t *testing.T) {
	secs := envInt(t, "CACHET_RECORD_SECONDS", 360)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()
	pub1, inv1, inv2, aud := client(t, "org1", "publisher"), client(t, "org1", "invalidator"), client(t, "org2", "invalidator"), client(t, "org1", "auditor")
	start := publishN(t, ctx, pub1, "https://shop.example/rec-start", 0, 1) + 1
	const keys = 80
	name := func(k uint64) string { return fmt.Sprintf("https://shop.example/item/%d", k) }
	// Every key exists before the load, so invalidations have something to hit.
	for k := range uint64(keys) {
		if _, _, err := pub1.Publish(ctx, gateway.PublishRequest{Key: name(k), MaxAge: 300}); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	half, until := began.Add(time.Duration(secs)*time.Second/2), began.Add(time.Duration(secs)*time.Second)
	shuffled := rand.New(rand.NewPCG(5, 5)).Perm(keys)
	var mu sync.Mutex
	valid := make([]bool, keys) // as far as the writers know; a refusal corrects it
	for k := range valid {
		valid[k] = true
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			zipf := rand.NewZipf(rng, 1.2, 1, keys-1)
			inv := []*gateway.Client{inv1, inv2}[w%2]
			for time.Now().Before(until) && ctx.Err() == nil {
				k := zipf.Uint64()
				if time.Now().After(half) {
					k = uint64(shuffled[k])
				}
				mu.Lock()
				publish := !valid[k] || w == 0
				valid[k] = publish
				mu.Unlock()
				var err error
				if publish {
					_, _, err = pub1.Publish(ctx, gateway.PublishRequest{Key: name(k), MaxAge: 300})
				} else {
					_, _, err = inv.Invalidate(ctx, name(k), "load", 0)
				}
				if err != nil && ctx.Err() == nil {
					// MVCC conflicts under load, and invalidations of a key
					// another writer invalidated first, are expected. A
					// refused invalidation means the key is not valid; a
					// publish is legal in any state, so it is tried next.
					t.Logf("writer %d, %s: %v", w, name(k), err)
					if !publish {
						mu.Lock()
						valid[k] = false
						mu.Unlock()
					}
				}
				time.Sleep(time.Duration(rng.ExpFloat64() * float64(500*time.Millisecond)))
			}
		}()
	}
	wg.Wait()
	end := publishN(t, ctx, pub1, "https://shop.example/rec-end", 0, 1)

	path := filepath.Join(root, "testdata", "analytics", "recorded_transitions.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	n := 0
	err = aud.Follow(fctx, gateway.FollowConfig{Checkpointer: &gateway.MemoryCheckpointer{}, StartBlock: start},
		func(_ context.Context, tx gateway.Transaction) error {
			if tx.Position.Block > end {
				stop()
				return nil
			}
			if tx.Event == nil || !tx.Valid {
				return nil
			}
			ts, err := time.Parse(time.RFC3339Nano, tx.Event.Timestamp)
			if err != nil {
				return err
			}
			for _, tr := range tx.Event.Transitions {
				rec := relay.Transition(tx, ts, tr)
				rec.Traceparent = ""
				if err := enc.Encode(rec); err != nil {
					return err
				}
				n++
			}
			if tx.Position.Block == end {
				stop()
			}
			return nil
		})
	if err != nil && fctx.Err() == nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d transitions (blocks %d..%d) to %s", n, start, end, path)
	if n < 100 {
		t.Errorf("only %d transitions recorded", n)
	}
}
