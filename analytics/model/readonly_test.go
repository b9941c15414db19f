package model

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// Reads can arrive before the writes of their key (separate topics): they
// are tracked and scored, and count once the writes arrive.
func TestEarlyReadsAreTrackedAndScored(t *testing.T) {
	tr := testTracker()
	for s := range 10 {
		if err := tr.ObserveRead(read("early", t0.Add(time.Duration(s)*time.Second))); err != nil {
			t.Fatalf("early read %d: %v", s, err)
		}
	}
	if st := tr.Stats(); st.Keys != 1 || st.ReadOnly != 1 || st.Reads != 10 || len(st.Skipped) != 0 {
		t.Fatalf("stats %+v, want one read-only key, 10 reads, nothing skipped", st)
	}
	b := features(t, tr, t0.Add(10*time.Second))
	if !(b.ReadRate[0] > 0) || b.WriteRate[0] != tr.grid.priorMean() || b.MaxAge[0] != 300 {
		t.Errorf("read-only key features λ=%v ρ=%v T=%v; want the prior's rate, a read rate and the default max-age", b.WriteRate[0], b.ReadRate[0], b.MaxAge[0])
	}
	readRate := b.ReadRate[0]
	// The writes arrive: the same key, its reads kept.
	for v := uint64(1); v <= 3; v++ {
		if err := tr.ObserveTransition(write("early", v, t0.Add(time.Duration(v)*time.Second), "Org1MSP")); err != nil {
			t.Fatal(err)
		}
	}
	if st := tr.Stats(); st.Keys != 1 || st.ReadOnly != 0 || st.Writes != 3 {
		t.Fatalf("stats %+v, want the key written and no read-only keys", st)
	}
	b = features(t, tr, t0.Add(10*time.Second))
	if b.ReadRate[0] != readRate {
		t.Errorf("read rate %v after the writes arrived, want %v (the early reads)", b.ReadRate[0], readRate)
	}
	if i, ok := tr.Index("early"); !ok || i != 0 {
		t.Errorf("Index(early) = %d, %v", i, ok)
	}
}

func TestReadOnlyKeysEvictLeastRecentlySeen(t *testing.T) {
	tr := NewTracker(Config{MaxKeys: 3, Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.ObserveTransition(write("written", 1, t0, "Org1MSP")))
	must(tr.ObserveRead(read("a", t0)))
	must(tr.ObserveRead(read("b", t0.Add(time.Second))))
	must(tr.ObserveRead(read("a", t0.Add(2*time.Second)))) // a is now more recent than b
	must(tr.ObserveRead(read("c", t0.Add(3*time.Second)))) // full: b goes
	if _, ok := tr.Index("b"); ok {
		t.Error("b, the least recently seen read-only key, was kept")
	}
	for _, k := range []string{"written", "a", "c"} {
		if _, ok := tr.Index(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if st := tr.Stats(); st.Keys != 3 || st.ReadOnly != 2 || st.Evicted != 1 {
		t.Errorf("stats %+v, want 3 keys, 2 read-only, 1 evicted", st)
	}
	// A write to a new key also takes a read-only key's place (a, now the
	// least recently seen); written keys are never evicted.
	must(tr.ObserveTransition(write("w2", 1, t0, "Org1MSP")))
	must(tr.ObserveTransition(write("c", 1, t0, "Org1MSP")))
	if _, ok := tr.Index("a"); ok {
		t.Error("a kept")
	}
	err := tr.ObserveRead(read("d", t0))
	var se *SkipError
	if !errors.As(err, &se) || se.Reason != ReasonTableFull {
		t.Fatalf("read of a new key into a table of written keys: %v, want table full", err)
	}
	for i := range tr.Len() {
		if j, ok := tr.Index(tr.Key(i)); !ok || j != i {
			t.Errorf("index of %q: %d, %v; want %d", tr.Key(i), j, ok, i)
		}
	}
	features(t, tr, t0.Add(time.Hour))
}

// Eviction churn keeps the list and the index consistent.
func TestReadOnlyChurn(t *testing.T) {
	tr := NewTracker(Config{MaxKeys: 50, Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	for n := range 5000 {
		k := fmt.Sprint("k", (n*7919)%400)
		if n%3 == 0 {
			_ = tr.ObserveTransition(write(k, uint64(n+1), t0.Add(time.Duration(n)*time.Millisecond), "Org1MSP"))
		} else {
			_ = tr.ObserveRead(read(k, t0.Add(time.Duration(n)*time.Millisecond)))
		}
	}
	st := tr.Stats()
	ro := 0
	for i := range tr.Len() {
		if tr.st[i].writes == 0 {
			ro++
		}
		if j, ok := tr.Index(tr.Key(i)); !ok || j != i {
			t.Fatalf("index of %q: %d, %v; want %d", tr.Key(i), j, ok, i)
		}
	}
	if st.Keys != 50 || st.ReadOnly != ro || len(tr.index) != 50 {
		t.Errorf("stats %+v, %d read-only by state, %d in the index", st, ro, len(tr.index))
	}
	b := features(t, tr, t0.Add(time.Hour))
	for i := range b.Len() {
		if math.IsNaN(b.WriteRate[i]) {
			t.Fatal("NaN rate")
		}
	}
}
