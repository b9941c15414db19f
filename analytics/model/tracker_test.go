package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/record"
)

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func testTracker() *Tracker {
	return NewTracker(Config{Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
}

func write(key string, v uint64, at time.Time, org string) record.Transition {
	return record.Transition{V: 1, TxID: fmt.Sprintf("tx-%s-%d", key, v), Key: key, Version: v, State: record.StateValid,
		Timestamp: at, Owner: "Org1MSP", Actor: org, MaxAge: 300}
}

func read(key string, at time.Time) record.Read {
	return record.Read{V: 1, Kind: record.ReadHit, Key: key, Client: "c1", At: at}
}

func features(t *testing.T, tr *Tracker, now time.Time) *score.Batch {
	t.Helper()
	b := &score.Batch{}
	tr.Features(now, b)
	for i := range b.Len() {
		for _, x := range []float64{b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i]} {
			if !(x >= 0) || math.IsInf(x, 0) {
				t.Fatalf("key %q: feature %v not finite and non-negative", tr.Key(i), x)
			}
		}
		if b.TopWriterRate[i] > b.WriteRate[i] {
			t.Fatalf("key %q: top writer rate %v above write rate %v", tr.Key(i), b.TopWriterRate[i], b.WriteRate[i])
		}
	}
	return b
}

func TestRatesFromRegularStreams(t *testing.T) {
	tr := testTracker()
	var v uint64
	for s := 0; s <= 3600; s += 10 { // one write every 10 s, alternating orgs
		v++
		org := []string{"Org1MSP", "Org2MSP"}[v%2]
		if err := tr.ObserveTransition(write("k", v, t0.Add(time.Duration(s)*time.Second), org)); err != nil {
			t.Fatal(err)
		}
	}
	for ms := 0; ms <= 3600_000; ms += 500 { // two reads per second
		if err := tr.ObserveRead(read("k", t0.Add(time.Duration(ms)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	b := features(t, tr, t0.Add(3600*time.Second))
	// 360 gaps of 10 s: the key's own posterior sits at 0.1; right after a
	// write the scale-free component (weight 1 − β, β learned from these
	// gaps alone, ≈ 0.96) adds the chance of a quick write.
	if got := b.WriteRate[0]; !(got >= 0.1 && got < 0.15) {
		t.Errorf("write rate %v, want 0.1 to 0.15", got)
	}
	// Decayed counter after N = 7201 reads Δ = 0.5 s apart, τ = 600 s:
	// ρ = (1−e^(−NΔ/τ)) / (τ(1−e^(−Δ/τ))), about 2 + 1/(2τ) − 0.25% warm-up.
	if got, want := b.ReadRate[0], (1-math.Exp(-7201*0.5/600))/(600*(1-math.Exp(-0.5/600))); math.Abs(got-want) > 1e-9*want {
		t.Errorf("read rate %v, want %v", got, want)
	}
	if got := b.TopWriterRate[0] / b.WriteRate[0]; math.Abs(got-0.5) > 0.01 {
		t.Errorf("top writer share %v, want about 1/2 for two alternating orgs", got)
	}
	if b.MaxAge[0] != 300 {
		t.Errorf("max-age %v, want 300 from the transitions", b.MaxAge[0])
	}
	// A key that goes quiet: 100 of its old gaps without a write is
	// evidence that its rate changed; the estimate falls below one write
	// per the silence so far.
	b = features(t, tr, t0.Add(3600*time.Second+1000*time.Second))
	if got := b.WriteRate[0]; !(got > 0 && got < 1.0/1000) {
		t.Errorf("write rate after 1000 s of silence %v, want under 0.001", got)
	}
	// A short silence (two old gaps) is weak evidence: the rate stays
	// within a factor of about 2 (the log rate drifts between writes).
	b = features(t, tr, t0.Add(3620*time.Second))
	if got := b.WriteRate[0]; !(got > 0.04 && got <= 0.1) {
		t.Errorf("write rate after 20 s %v, want 0.04 to 0.1", got)
	}
}

func TestBadInputIsCountedAndSkipped(t *testing.T) {
	good := func() []byte {
		b, _ := write("k", 1, t0, "Org1MSP").Marshal()
		return b
	}
	tests := []struct {
		name   string
		apply  func(tr *Tracker) error
		reason Reason
	}{
		{"malformed JSON", func(tr *Tracker) error { return tr.IngestTransition([]byte(`{"v":1,"key":`)) }, ReasonMalformed},
		{"not an object", func(tr *Tracker) error { return tr.IngestRead([]byte(`[1,2]`)) }, ReasonMalformed},
		{"schema version 9", func(tr *Tracker) error {
			return tr.IngestTransition([]byte(`{"v":9,"key":"k","version":1,"state":"VALID","txId":"x"}`))
		}, ReasonVersion},
		{"empty key", func(tr *Tracker) error { return tr.ObserveTransition(write("", 1, t0, "Org1MSP")) }, ReasonMalformed},
		{"timestamp 1970", func(tr *Tracker) error { return tr.ObserveTransition(write("k", 1, time.Unix(0, 0), "Org1MSP")) }, ReasonAbsurdTime},
		{"negative timestamp", func(tr *Tracker) error { return tr.ObserveTransition(write("k", 1, time.Unix(-5e9, 0), "Org1MSP")) }, ReasonAbsurdTime},
		{"year 3000", func(tr *Tracker) error {
			return tr.ObserveTransition(write("k", 1, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "Org1MSP"))
		}, ReasonFuture},
		{"replayed version", func(tr *Tracker) error {
			_ = tr.IngestTransition(good())
			return tr.IngestTransition(good())
		}, ReasonStaleVersion},
		{"skew beyond bound", func(tr *Tracker) error {
			_ = tr.ObserveTransition(write("k", 1, t0, "Org1MSP"))
			return tr.ObserveTransition(write("k", 2, t0.Add(-time.Minute), "Org2MSP"))
		}, ReasonClockSkew},
		{"read from 1999", func(tr *Tracker) error {
			_ = tr.IngestTransition(good())
			return tr.ObserveRead(read("k", time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)))
		}, ReasonAbsurdTime},
		{"read far behind the clock", func(tr *Tracker) error {
			_ = tr.IngestTransition(good())
			return tr.ObserveRead(read("k", t0.Add(-time.Hour)))
		}, ReasonTooOld},
		{"eviction receipt", func(tr *Tracker) error {
			r := read("k", t0)
			r.Kind = record.ReadEvict
			return tr.ObserveRead(r)
		}, ReasonEvictReceipt},
		{"table full", func(tr *Tracker) error {
			tr.cfg.MaxKeys = 1
			_ = tr.IngestTransition(good())
			return tr.ObserveTransition(write("other", 1, t0, "Org1MSP"))
		}, ReasonTableFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTracker()
			err := tc.apply(tr)
			var se *SkipError
			if !errors.As(err, &se) || se.Reason != tc.reason {
				t.Fatalf("got %v, want a *SkipError with reason %q", err, tc.reason)
			}
			if n := tr.Stats().Skipped[tc.reason]; n != 1 {
				t.Errorf("skipped[%q] = %d, want 1", tc.reason, n)
			}
			features(t, tr, t0.Add(time.Hour))
		})
	}
}

func TestSkewWithinBoundCountsAsSimultaneous(t *testing.T) {
	tr := testTracker()
	if err := tr.ObserveTransition(write("k", 1, t0, "Org1MSP")); err != nil {
		t.Fatal(err)
	}
	if err := tr.ObserveTransition(write("k", 2, t0.Add(-2*time.Second), "Org2MSP")); err != nil {
		t.Fatalf("write 2 s behind (within the 5 s bound): %v", err)
	}
	b := features(t, tr, t0)
	// Gap clamped to MinInterval (1 ms): one such gap raises the rate
	// above the prior's mean (but is one observation, not a rate of 1000/s),
	// and both orgs count as writers.
	if prior := tr.grid.priorMean(); !(b.WriteRate[0] > prior) || b.TopWriterRate[0] >= b.WriteRate[0] {
		t.Errorf("write rate %v (prior mean %v), top %v; want above the prior and a second writer", b.WriteRate[0], prior, b.TopWriterRate[0])
	}
}

func TestLateReadStillCounts(t *testing.T) {
	tr := testTracker()
	_ = tr.ObserveTransition(write("k", 1, t0, "Org1MSP"))
	_ = tr.ObserveRead(read("k", t0.Add(10*time.Second)))
	if err := tr.ObserveRead(read("k", t0.Add(5*time.Second))); err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.Reads != 2 {
		t.Fatalf("reads %d, want 2", s.Reads)
	}
	b := features(t, tr, t0.Add(10*time.Second))
	if want := (1 + math.Exp(-5.0/600)) / 600; math.Abs(b.ReadRate[0]-want) > 1e-12 {
		t.Errorf("read rate %v, want %v", b.ReadRate[0], want)
	}
}

// FuzzIngest drives arbitrary bytes through the record-to-features path: it
// must never panic, and features must stay finite and non-negative.
func FuzzIngest(f *testing.F) {
	tb, _ := write("https://shop.example/cart", 3, t0, "Org1MSP").Marshal()
	rb, _ := read("https://shop.example/cart", t0.Add(time.Second)).Marshal()
	f.Add(tb, false)
	f.Add(rb, true)
	f.Add([]byte(`{"v":1,"key":"k","version":18446744073709551615,"state":"PURGED","txId":"t","ts":"0001-01-01T00:00:00Z"}`), false)
	f.Add([]byte(`{"v":1,"kind":"stale","key":"k","at":"9999-12-31T23:59:59Z"}`), true)
	f.Add([]byte(`{"v":1,"key":"k","version":2,"state":"VALID","txId":"t","ts":"2026-11-25T05:59:58Z","maxAge":4294967295,"actor":""}`), false)
	f.Fuzz(func(t *testing.T, b []byte, isRead bool) {
		tr := testTracker()
		_ = tr.IngestTransition(tb)
		var err error
		if isRead {
			err = tr.IngestRead(b)
		} else {
			err = tr.IngestTransition(b)
		}
		var se *SkipError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %v is not a *SkipError", err)
		}
		_ = tr.IngestRead(rb)
		for _, now := range []time.Time{t0, t0.Add(-time.Hour), t0.Add(1000 * time.Hour)} {
			features(t, tr, now)
		}
	})
}

// Features splits the keys over goroutines; every key's inputs must be
// what FeaturesOf computes for it alone, bit for bit, whatever the split.
func TestFeaturesParallelMatchesOneByOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	tr := testTracker()
	rng := rand.New(rand.NewPCG(3, 4))
	const keys = 3*featureChunk + 17
	for k := range keys {
		key := fmt.Sprint("https://shop.example/p/", k)
		at := t0
		for v := range uint64(rng.IntN(5)) {
			at = at.Add(time.Duration(rng.ExpFloat64() * float64(20*time.Minute)))
			if err := tr.ObserveTransition(write(key, v+1, at, []string{"Org1MSP", "Org2MSP"}[rng.IntN(2)])); err != nil {
				t.Fatal(err)
			}
		}
		for range rng.IntN(3) {
			if err := tr.ObserveRead(read(key, t0.Add(time.Duration(rng.IntN(3600))*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := t0.Add(3 * time.Hour)
	b := features(t, tr, now)
	if b.Len() != tr.Stats().Keys || b.Len() < 2*featureChunk {
		t.Fatalf("batch of %d keys, tracker has %d: too few to split", b.Len(), tr.Stats().Keys)
	}
	for i := range b.Len() {
		lam, rho, age, top := tr.FeaturesOf(i, now)
		got := [4]float64{b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i]}
		for j, want := range [4]float64{lam, rho, age, top} {
			if math.Float64bits(got[j]) != math.Float64bits(want) {
				t.Fatalf("key %d input %d: Features %v, FeaturesOf %v", i, j, got[j], want)
			}
		}
	}
	if n := tr.Stats().Skipped[ReasonNonFiniteRate]; n != 0 {
		t.Fatalf("%d non-finite inputs counted from finite ones", n)
	}
}
