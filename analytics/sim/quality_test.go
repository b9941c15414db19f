//go:build !race

// The race detector slows the full-size simulations about tenfold, so this
// file is left out of race builds; make test-analytics runs it without.

package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/analytics/workload"
)

// TestAdviceBeatsAdaptiveTTL is the quality goal on both generated
// workloads at the 300 s budget: fewer stale reads than adaptive TTL at no
// more origin fetches.
func TestAdviceBeatsAdaptiveTTL(t *testing.T) {
	for _, c := range []workload.Config{workload.Default(), workload.Second()} {
		w := workload.Generate(c)
		rows, err := Compare(context.Background(), w, []float64{300})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		Print(&out, w, rows)
		PrintRatios(&out, rows)
		t.Log("\n" + out.String())
		ad, adv := rows[1], rows[2]
		if adv.Policy != PolicyAdvice || adv.Result.Fetches > ad.Result.Fetches || adv.Result.Stale >= ad.Result.Stale {
			t.Errorf("seed %d: advice %+v vs adaptive %+v: want fewer stale reads at no more fetches", c.Seed, adv.Result, ad.Result)
		}
	}
}
