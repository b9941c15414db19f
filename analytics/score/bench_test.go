package score

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// benchKeys is the batch size of the throughput benchmarks: 2M keys, 122 MB
// of arrays, far beyond any cache.
const benchKeys = 2 << 20

func benchBatch() *Batch {
	b := &Batch{}
	b.Resize(benchKeys)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range benchKeys {
		lam := rng.ExpFloat64() * 0.01
		b.WriteRate[i] = lam
		b.TopWriterRate[i] = lam
		if i%16 == 0 {
			b.TopWriterRate[i] = lam * 0.7 // some keys written by two orgs
		}
		b.ReadRate[i] = rng.ExpFloat64()
		b.MaxAge[i] = float64(60 + rng.IntN(3600))
	}
	return b
}

// memcpyBatch copies every array of src into dst (the same bytes scoring
// reads and writes), split across the same number of goroutines.
func memcpyBatch(dst, src *Batch, workers int) {
	var wg sync.WaitGroup
	n := src.Len()
	per := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(dst.WriteRate[lo:hi], src.WriteRate[lo:hi])
			copy(dst.ReadRate[lo:hi], src.ReadRate[lo:hi])
			copy(dst.MaxAge[lo:hi], src.MaxAge[lo:hi])
			copy(dst.TopWriterRate[lo:hi], src.TopWriterRate[lo:hi])
			copy(dst.PStale[lo:hi], src.PStale[lo:hi])
			copy(dst.ExpectedStale[lo:hi], src.ExpectedStale[lo:hi])
			copy(dst.Conflict[lo:hi], src.Conflict[lo:hi])
			copy(dst.RecMaxAge[lo:hi], src.RecMaxAge[lo:hi])
			copy(dst.Action[lo:hi], src.Action[lo:hi])
		}()
	}
	wg.Wait()
}

func BenchmarkScoreCPU(b *testing.B) {
	batch := benchBatch()
	s, p, ctx := NewCPU(), DefaultParams(), context.Background()
	b.SetBytes(benchKeys * BytesPerKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Score(ctx, p, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
}

func BenchmarkMemcpy(b *testing.B) {
	src, dst := benchBatch(), &Batch{}
	dst.Resize(benchKeys)
	b.SetBytes(benchKeys * BytesPerKey)
	for b.Loop() {
		memcpyBatch(dst, src, runtime.GOMAXPROCS(0))
	}
}

// BenchmarkScoreVsMemcpy alternates one scoring pass and one memcpy of the
// same arrays in each iteration, so both see the same machine load, and
// reports their throughputs and ratio (bytes scored/s ÷ bytes copied/s,
// both counting 61 bytes per key once), also printed as
// cpu_score_vs_memcpy_ratio.
func BenchmarkScoreVsMemcpy(b *testing.B) { benchScoreVsMemcpy(b, "cpu_score_vs_memcpy_ratio") }

func benchScoreVsMemcpy(b *testing.B, name string) {
	batch, dst := benchBatch(), &Batch{}
	dst.Resize(benchKeys)
	s, p, ctx := NewCPU(), DefaultParams(), context.Background()
	workers := runtime.GOMAXPROCS(0)
	memcpyBatch(dst, batch, workers) // fault every page in before timing
	var scoreT, copyT time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := s.Score(ctx, p, batch); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		memcpyBatch(dst, batch, workers)
		scoreT += t1.Sub(t0)
		copyT += time.Since(t1)
	}
	bytes := float64(b.N) * benchKeys * BytesPerKey
	ratio := copyT.Seconds() / scoreT.Seconds()
	b.ReportMetric(bytes/scoreT.Seconds()/1e9, "score-GB/s")
	b.ReportMetric(bytes/copyT.Seconds()/1e9, "memcpy-GB/s")
	b.ReportMetric(ratio, "score/memcpy")
	b.ReportMetric(float64(b.N)*benchKeys/scoreT.Seconds()/1e6, "Mkeys/s")
	b.ReportMetric(float64(scoreT.Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
	fmt.Printf("%s: %.4f\n", name, ratio)
}
