package relay_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cachetsync/cachet/relay"
)

// BenchmarkMessages encodes one ledger transaction of 250 transitions (an
// InvalidateBatch) into records, tracing off.
func BenchmarkMessages(b *testing.B) {
	keys := make([]string, 250)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://shop.example/item/%d", i)
	}
	t := tx(42, 3, keys...)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := relay.Messages(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/record")
}
