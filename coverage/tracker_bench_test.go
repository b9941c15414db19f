package coverage

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

// BenchmarkReceipts measures receipts matched per second against a full
// default window of 100,000 transitions, 64 clients acknowledging each
// (one receipt in eight a duplicate).
func BenchmarkReceipts(b *testing.B) {
	clk := &fakeClock{now: t0}
	tk, err := New(WithClock(clk.Now))
	if err != nil {
		b.Fatal(err)
	}
	const n = DefaultMaxTransitions
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://shop.example/p/%d", i)
		tk.AddTransition(tr(fmt.Sprintf("tx-%d", i), keys[i], 1))
	}
	clients := make([]string, 64)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%02d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		c := clients[(i/n)%len(clients)]
		if i%8 == 7 {
			c = clients[0]
		}
		if _, err := tk.AddReceipt(record.Read{Kind: record.ReadEvict, Key: keys[i%n], Version: 1, Client: c, At: t0.Add(time.Duration(i%1000) * time.Millisecond)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}
