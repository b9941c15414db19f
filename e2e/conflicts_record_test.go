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

// TestRecordContentionStream records a contended load on the real network
// into testdata/analytics/contention_transitions.jsonl (the committed
// transitions) and contention_conflicts.jsonl (the refused transactions,
// as the relay writes them to cachet.conflicts), which `cachet analytics
// conflicts --replay` scores. Seven writers of two orgs (Org1's two
// publishers and its invalidator, Org2's four invalidators) write 30 keys
// chosen Zipf-like (s = 1.3), with exponential pauses (mean 300 ms); each
// write waits for its commit and the gateway retries MVCC losers, as
// clients do. Halfway through, key popularity is reshuffled. It builds only
// with the record tag (CACHET_RECORD_SECONDS sets the length, default 120).
func TestRecordContentionStream(t *testing.T) {
	secs := envInt(t, "CACHET_RECORD_SECONDS", 120)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()
	pub1, inv1, inv2, aud := client(t, "org1", "publisher"), client(t, "org1", "invalidator"), client(t, "org2", "invalidator"), client(t, "org1", "auditor")
	start := publishN(t, ctx, pub1, "https://shop.example/contention-start", 0, 1) + 1
	const keys = 30
	name := func(k uint64) string { return fmt.Sprintf("https://shop.example/hot/%d", k) }
	for k := range uint64(keys) {
		if _, _, err := pub1.Publish(ctx, gateway.PublishRequest{Key: name(k), MaxAge: 60}); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	half, until := began.Add(time.Duration(secs)*time.Second/2), began.Add(time.Duration(secs)*time.Second)
	shuffled := rand.New(rand.NewPCG(3, 3)).Perm(keys)
	writers := []struct {
		cl      *gateway.Client
		publish bool
	}{{pub1, true}, {pub1, true}, {inv1, false}, {inv2, false}, {inv2, false}, {inv2, false}, {inv2, false}}
	var wg sync.WaitGroup
	for w, wr := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 13))
			zipf := rand.NewZipf(rng, 1.3, 1, keys-1)
			for time.Now().Before(until) && ctx.Err() == nil {
				k := zipf.Uint64()
				if time.Now().After(half) {
					k = uint64(shuffled[k])
				}
				var err error
				if wr.publish {
					_, _, err = wr.cl.Publish(ctx, gateway.PublishRequest{Key: name(k), MaxAge: 60})
				} else {
					_, _, err = wr.cl.Invalidate(ctx, name(k), "load", 0)
				}
				if err != nil && ctx.Err() == nil {
					t.Logf("writer %d, %s: %v", w, name(k), err) // conflicts still after the retries
				}
				time.Sleep(time.Duration(rng.ExpFloat64() * float64(300*time.Millisecond)))
			}
		})
	}
	wg.Wait()
	end := publishN(t, ctx, pub1, "https://shop.example/contention-end", 0, 1)

	dir := filepath.Join(root, "testdata", "analytics")
	files := map[bool]*json.Encoder{} // by validity
	for valid, base := range map[bool]string{true: "contention_transitions.jsonl", false: "contention_conflicts.jsonl"} {
		f, err := os.Create(filepath.Join(dir, base))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[valid] = json.NewEncoder(f)
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	var transitions, conflicts int
	err := aud.Follow(fctx, gateway.FollowConfig{Checkpointer: &gateway.MemoryCheckpointer{}, StartBlock: start, IncludeInvalid: true},
		func(_ context.Context, tx gateway.Transaction) error {
			if tx.Position.Block > end {
				stop()
				return nil
			}
			switch {
			case !tx.Valid && tx.Refusal != nil:
				rec := relay.Conflict(tx)
				rec.Traceparent = ""
				if err := files[false].Encode(rec); err != nil {
					return err
				}
				conflicts++
			case tx.Valid && tx.Event != nil:
				ts, err := time.Parse(time.RFC3339Nano, tx.Event.Timestamp)
				if err != nil {
					return err
				}
				for _, tr := range tx.Event.Transitions {
					rec := relay.Transition(tx, ts, tr)
					rec.Traceparent = ""
					if err := files[true].Encode(rec); err != nil {
						return err
					}
					transitions++
				}
			}
			if tx.Position.Block == end {
				stop()
			}
			return nil
		})
	if err != nil && fctx.Err() == nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d transitions and %d conflicts (blocks %d..%d) to %s", transitions, conflicts, start, end, dir)
	if transitions < 100 || conflicts < 20 {
		t.Errorf("only %d transitions and %d conflicts recorded", transitions, conflicts)
	}
}
