//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// dcDistances are the one-way delays between data centers measured: the
// same building, a region, a continent apart.
var dcDistances = []time.Duration{0, 30 * time.Millisecond, 80 * time.Millisecond}

// dcRounds is the number of sequential invalidations measured per distance.
const dcRounds = 60

// BenchmarkMultiDC measures, on a network in emulated data centers
// (network.sh's data-center mode), an invalidation's submit→commit through
// Org1's gateway in DC1 and its submit→arrival on Kafka (the relay in this
// process, following org1-peer0, writing to an embedded broker; this
// process's consumer reading cachet.transitions read_committed: what an
// eviction waits for before the push server and the browser), one
// invalidation at a time, at each one-way delay of dcDistances between
// the data centers. It prints p50 and p99 per distance and their ratios to
// the 0 ms run.
func BenchmarkMultiDC(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dcNetwork(b, 0)
	logsOnFailure(b, append(allNodes, "dcproxy")...)
	broker := startBroker(b)
	pub, inv := client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	start := publishN(b, ctx, pub, "img:mdc-start", 0, 1)
	startRelay(b, ctx, broker, start)
	arrivals := consumeArrivals(b, ctx, broker.Config("mdc-bench"))

	type figures struct{ commit, kafka [2]float64 } // p50, p99 in ms
	results := map[time.Duration]figures{}
	for i := range b.N {
		for _, d := range dcDistances {
			dcLinks(b, "delay", d.String())
			prefix := fmt.Sprintf("img:mdc-%d-%d-%d", time.Now().UnixNano(), i, d.Milliseconds())
			keys := faultKeys(prefix, dcRounds+5)
			newLoad().run(b, ctx, pub, keys, 8, publishOp, nil)
			if b.Failed() {
				b.FailNow()
			}
			var commits, kafkas []time.Duration
			for j, k := range keys {
				submit := time.Now()
				if _, _, err := inv.Invalidate(ctx, k, "multidc bench", 1); err != nil {
					b.Fatalf("invalidate %s at %v: %v", k, d, err)
				}
				committed := time.Since(submit)
				at, err := arrivals.wait(ctx, k+"@2")
				if err != nil {
					b.Fatalf("%s@2 on Kafka at %v: %v", k, d, err)
				}
				if j < 5 { // warm-up: connections made again after the delay changed
					continue
				}
				commits, kafkas = append(commits, committed), append(kafkas, at.Sub(submit))
			}
			results[d] = figures{commit: [2]float64{pct(commits, 0.5), pct(commits, 0.99)}, kafka: [2]float64{pct(kafkas, 0.5), pct(kafkas, 0.99)}}
		}
	}
	base := results[0]
	for _, d := range dcDistances {
		r, ms := results[d], d.Milliseconds()
		fmt.Printf("multidc_%dms_commit_p50_ms: %.1f\n", ms, r.commit[0])
		fmt.Printf("multidc_%dms_commit_p99_ms: %.1f\n", ms, r.commit[1])
		fmt.Printf("multidc_%dms_kafka_p50_ms: %.1f (submit → the relay's record on Kafka)\n", ms, r.kafka[0])
		fmt.Printf("multidc_%dms_kafka_p99_ms: %.1f\n", ms, r.kafka[1])
		if d != 0 {
			fmt.Printf("multidc_%dms_vs_0ms_commit_p50_ratio: %.2f\n", ms, r.commit[0]/base.commit[0])
			fmt.Printf("multidc_%dms_vs_0ms_commit_p99_ratio: %.2f\n", ms, r.commit[1]/base.commit[1])
			fmt.Printf("multidc_%dms_vs_0ms_kafka_p50_ratio: %.2f\n", ms, r.kafka[0]/base.kafka[0])
		}
	}
	fmt.Printf("multidc_rounds_per_distance: %d (one invalidation at a time through org1-peer0's gateway; raft leader %s)\n", dcRounds, waitLeader(b, orderers...))
}

// arrivals records when each transition (key@version) arrived on Kafka.
type arrivals struct {
	mu   sync.Mutex
	at   map[string]time.Time
	more chan struct{} // closed and replaced on each arrival
}

// consumeArrivals reads cachet.transitions from the beginning until the
// test ends.
func consumeArrivals(tb testing.TB, ctx context.Context, cfg kafka.Config) *arrivals {
	tb.Helper()
	c, err := kafka.NewConsumer(cfg, fmt.Sprint("mdc-bench-", time.Now().UnixNano()), "earliest")
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Subscribe([]string{record.TopicTransitions}, nil); err != nil {
		tb.Fatal(err)
	}
	a := &arrivals{at: map[string]time.Time{}, more: make(chan struct{})}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cctx.Err() == nil {
			m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
			if !ok {
				continue
			}
			now := time.Now()
			tr, err := record.DecodeTransition(m.Value)
			if err != nil {
				continue
			}
			a.mu.Lock()
			a.at[fmt.Sprintf("%s@%d", tr.Key, tr.Version)] = now
			close(a.more)
			a.more = make(chan struct{})
			a.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { stop(); <-done; c.Close() })
	return a
}

// wait returns when id arrived, waiting for it up to a minute.
func (a *arrivals) wait(ctx context.Context, id string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		a.mu.Lock()
		at, ok := a.at[id]
		more := a.more
		a.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-more:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("never arrived: %w", ctx.Err())
		}
	}
}
