package push

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cachetsync/cachet/record"
)

// TestDeliveryLatency: a record queued to a subscriber is observed once,
// from its transaction's timestamp to the hub's clock; a record no one
// subscribes to, one without a timestamp, and a timestamp ahead of the
// clock (skew: observed as 0) behave as documented.
func TestDeliveryLatency(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := newMetrics()
	h := newHub(Epoch("test", 1), []int64{0}, 1, 16, m)
	h.now = func() time.Time { return now }
	for i, ch := range []string{"origin:https://shop.example", "origin:https://shop.example"} {
		s := newSession(fmt.Sprint(i), "ws", []string{ch}, 100, time.Minute)
		s.kick = func() {}
		h.registerLocked(s)
	}
	records := []record.Transition{
		{Key: "https://shop.example/a", Timestamp: now.Add(-250 * time.Millisecond)}, // two subscribers: one observation
		{Key: "https://news.example/b", Timestamp: now.Add(-time.Second)},            // nobody listens
		{Key: "https://shop.example/c"},                                              // no timestamp
		{Key: "https://shop.example/d", Timestamp: now.Add(time.Second)},             // ahead of the clock
	}
	for off, tr := range records {
		tr.TxID, tr.Version, tr.State, tr.Owner, tr.Actor = fmt.Sprint("tx", off), 1, record.StateInvalidated, "Org1MSP", "Org1MSP"
		v, err := tr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		h.process(0, int64(off), v, "")
	}
	want := `
# HELP cachet_push_delivery_latency_seconds From a transition's transaction timestamp to its frames queued to subscribers (records queued to none are not observed).
# TYPE cachet_push_delivery_latency_seconds histogram
`
	var buckets strings.Builder
	for _, le := range []float64{0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384} {
		n := 1 // the skewed record, observed as 0
		if le >= 0.25 {
			n = 2
		}
		fmt.Fprintf(&buckets, "cachet_push_delivery_latency_seconds_bucket{le=\"%g\"} %d\n", le, n)
	}
	want += buckets.String() + `cachet_push_delivery_latency_seconds_bucket{le="+Inf"} 2
cachet_push_delivery_latency_seconds_sum 0.25
cachet_push_delivery_latency_seconds_count 2
`
	if err := testutil.CollectAndCompare(m.latency, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
