package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/score"
)

// BenchmarkFeatures measures building a batch from 100k keys with a few
// writes each: the posterior mean costs 64 exponentials a key.
func BenchmarkFeatures(b *testing.B) {
	const keys = 100_000
	tr := NewTracker(Config{Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	rng := rand.New(rand.NewPCG(1, 1))
	for k := range keys {
		at := t0
		for v := uint64(1); v <= 4; v++ {
			at = at.Add(time.Duration(rng.ExpFloat64() * float64(10*time.Minute)))
			if err := tr.ObserveTransition(write(fmt.Sprint("k", k), v, at, "Org1MSP")); err != nil {
				b.Fatal(err)
			}
		}
	}
	batch := &score.Batch{}
	now := t0.Add(2 * time.Hour)
	for b.Loop() {
		tr.Features(now, batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/keys, "ns/key")
}
